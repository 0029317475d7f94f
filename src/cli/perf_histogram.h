// A latency histogram in the manner of HdrHistogram: values (microseconds) are counted in
// logarithmic buckets, each power of two split into 64 linear sub-buckets, so every value is
// known within 1/64 (1.6%) of itself, from 1 us to hours, in a fixed 30 KB. Values below 128
// are exact. Count, sum, min and max are kept exactly. Histograms of several threads merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kfk::cli {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(uint64_t value);
  void merge(const LatencyHistogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The smallest value v such that at least `quantile` (0..1) of the values are <= v, as the
  // highest value of its bucket (never above max()); 0 when empty.
  uint64_t percentile(double quantile) const;

  // Bucket arithmetic, exposed for the tests.
  static size_t bucket_of(uint64_t value);
  static uint64_t bucket_high(size_t bucket);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace kfk::cli

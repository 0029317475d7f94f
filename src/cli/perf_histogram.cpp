#include "cli/perf_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kfk::cli {
namespace {

constexpr unsigned kSubBits = 6;                            // 64 sub-buckets per power of two
constexpr uint64_t kExact = uint64_t{1} << (kSubBits + 1);  // values below are their own bucket
constexpr size_t kBuckets = kExact + (64 - kSubBits - 1) * (uint64_t{1} << kSubBits);

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

size_t LatencyHistogram::bucket_of(uint64_t value) {
  if (value < kExact) return static_cast<size_t>(value);
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));  // >= kSubBits + 1
  const unsigned shift = msb - kSubBits;
  const uint64_t sub = (value >> shift) - (uint64_t{1} << kSubBits);  // 0..63
  return static_cast<size_t>(kExact + (msb - kSubBits - 1) * (uint64_t{1} << kSubBits) + sub);
}

uint64_t LatencyHistogram::bucket_high(size_t bucket) {
  if (bucket < kExact) return bucket;
  const size_t rel = bucket - kExact;
  const unsigned msb = static_cast<unsigned>(rel >> kSubBits) + kSubBits + 1;
  const unsigned shift = msb - kSubBits;
  const uint64_t sub = (rel & ((uint64_t{1} << kSubBits) - 1)) + (uint64_t{1} << kSubBits);
  const uint64_t low = sub << shift;
  return low + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(uint64_t value) {
  ++counts_[bucket_of(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t LatencyHistogram::percentile(double quantile) const {
  if (count_ == 0) return 0;
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(std::clamp(quantile, 0.0, 1.0) * count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_high(i), max_);
  }
  return max_;
}

}  // namespace kfk::cli

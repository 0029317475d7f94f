// One pass over every record of a v2 batch, checking each as Kafka's broker does before it
// appends a producer's batch (the header rules of BatchView::validate, then per record: the
// length varint against the bytes there are, every varint well-formed, the offset delta in
// order (0..n-1 from a producer) and within lastOffsetDelta, key, value and header lengths,
// header counts, no byte left over in a record, as many records as the header says and
// nothing after the last one), and handing each record to a visitor (the produce path's
// timestamp and key checks and recompression use the same pass).
//
// Uncompressed batches are walked in place. Compressed ones are decompressed a chunk at a
// time into the scanner's window, and records are parsed out of the window as they arrive,
// so memory is bounded by the window (ScanLimits::chunk_bytes, grown only to hold one
// record, never above max_record_bytes) plus the codec's working memory
// (stream_decompressor.h), whatever the batch claims or expands to: a zstd "bomb" costs
// time proportional to what is read before the first bad record, not memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/record/record_batch.h"
#include "core/record/stream_decompressor.h"

namespace kfk::record {

struct ScanLimits {
  // The decompression step and the window's usual size.
  size_t chunk_bytes = size_t{64} << 10;
  // The largest record (its length field) accepted in a compressed batch; a larger one is
  // refused (too_large) before the window grows. Records of uncompressed batches are bounded
  // by the batch itself.
  size_t max_record_bytes = size_t{8} << 20;
  // The largest snappy block decoded at once (see stream_decompressor.h).
  size_t max_snappy_block_bytes = size_t{64} << 20;
};

struct ScanOptions {
  ValidateOptions header;        // the header checks run first (CRC, client rules)
  bool collect_headers = false;  // fill RecordView::headers (recompression needs them)
};

// Receives each record in order. `record`'s views (and its headers) are valid only during
// the call. Returning false stops the scan, which then reports no error.
class RecordVisitor {
 public:
  virtual bool on_record(int32_t index, const RecordView& record) = 0;

 protected:
  ~RecordVisitor() = default;
};

// Reusable: the window, the record view and the codec contexts are kept between scans (a
// window grown for a large record is released at the next scan).
class RecordScanner {
 public:
  explicit RecordScanner(const ScanLimits& limits = {});

  // Checks `batch` and each of its records; the first failure is returned (with the record's
  // index when a record is at fault). CORRUPT_MESSAGE kinds for bytes that do not decompress,
  // INVALID_RECORD kinds for records that do not parse (kafka_error_code()).
  BatchError scan(const BatchView& batch, const ScanOptions& options,
                  RecordVisitor* visitor = nullptr);

  // Bytes held by the window now, and the most it held since construction: what the scanner
  // itself allocates, apart from the codec's working memory.
  size_t window_bytes() const { return window_.capacity(); }
  size_t peak_window_bytes() const { return peak_window_; }
  // The codec contexts' memory (zstd's window, a snappy block).
  size_t codec_memory_bytes() const { return decompressor_.working_memory_bytes(); }
  const ScanLimits& limits() const { return limits_; }
  void set_limits(const ScanLimits& limits) { limits_ = limits; }

 private:
  class Source;
  BatchError walk(const BatchView& batch, Source& source, const ScanOptions& options,
                  RecordVisitor* visitor);

  ScanLimits limits_;
  StreamDecompressor decompressor_;
  Bytes window_;
  size_t peak_window_ = 0;
  RecordView record_;
};

}  // namespace kfk::record

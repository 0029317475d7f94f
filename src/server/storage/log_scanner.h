// Sequential reading of the batches of a .log file through one buffer: used by recovery (whole
// batches, CRC-checked by the caller), by the tail scan of trusted segments and by the
// producer state rebuild (headers only).
//
// CheckedLogScanner adds what recovery and `kfk debug verify-log` need: every batch
// CRC-checked, and damaged regions stepped over. Where the bytes at a batch boundary are not a
// valid batch (framing, magic, CRC, or offsets going backwards), it looks for the next
// position holding one: a header that makes sense (magic 2, a length inside the file, offsets
// past the last valid batch) and whose CRC checks, trying first where the damaged batch's own
// length points, then every byte after it. What lies between is a DamagedRange.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/record/record_batch.h"
#include "server/storage/file_io.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {

// Where a batch is in its segment and what its header says.
struct BatchInfo {
  uint64_t position = 0;  // byte position in the .log (or in an append buffer)
  uint32_t size = 0;      // 12 + batchLength
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = record::kNoTimestamp;
  int32_t records_count = 0;

  uint64_t end() const { return position + size; }
  int64_t next_offset() const { return last_offset + 1; }
};

// Bytes of a segment that hold no valid batch, between two valid ones (or an end of the file).
struct DamagedRange {
  int64_t segment_base = 0;
  uint64_t start_position = 0;  // the first byte that is not a valid batch
  uint64_t end_position = 0;    // the next valid batch; the end of the file when none follows
  // The offsets the range stands for: from the one after the last valid batch before it (-1
  // when unknown) to before the base offset of the next valid batch (-1 when no valid batch
  // follows in the segment: the next segment's base then).
  int64_t first_offset = -1;
  int64_t next_offset = -1;
  std::string reason;  // what the first damaged bytes failed

  uint64_t size() const { return end_position - start_position; }
  bool reaches_end() const { return next_offset < 0; }
  // Whether `offset` falls in the range (with no end offset: every offset from its start).
  bool holds(int64_t offset) const {
    return offset >= first_offset && (next_offset < 0 || offset < next_offset);
  }
};

// "bytes 100..163 (64 bytes) hold no valid batch (reason): offsets 40..59 cannot be read".
std::string describe_damage(const DamagedRange& range);

struct ScannedBatch {
  BatchInfo info;
  // The whole batch when the scan reads whole batches, else its 61-byte header. Valid until
  // the next call to next().
  record::BatchView view;
};

class LogScanner {
 public:
  // Scans [start, end) of the file. Whole batches are read when whole_batches is set.
  LogScanner(const FileHandle& file, uint64_t start, uint64_t end, bool whole_batches,
             size_t buffer_bytes = size_t{256} << 10);

  // The next batch; nullopt at the end of the range or at the first framing problem (a torn
  // or impossible length, a magic other than 2), which stop_reason() then describes.
  // Only a failed read is an error.
  Result<std::optional<ScannedBatch>> next();

  // Where the next batch would start: after a stop, the first byte not accepted.
  uint64_t position() const { return pos_; }
  // Known damaged ranges (sorted by position) to step over instead of stopping at them.
  void skip(std::span<const DamagedRange> ranges) { skip_ = ranges; }
  bool stopped() const { return !stop_reason_.empty(); }
  const std::string& stop_reason() const { return stop_reason_; }

 private:
  // Makes [pos, pos + len) available in the buffer; false at end of file.
  Result<bool> fill(uint64_t pos, size_t len);

  const FileHandle& file_;
  uint64_t pos_;
  uint64_t end_;
  bool whole_batches_;
  size_t buffer_bytes_;
  std::vector<uint8_t> buf_;
  uint64_t buf_start_ = 0;  // file position of buf_[0]
  size_t buf_len_ = 0;      // valid bytes in buf_
  std::string stop_reason_;
  std::span<const DamagedRange> skip_;
};

// The next valid batch at or after `from` (see CheckedLogScanner), trying `framed_next`
// first when it is after `from`; nullopt when none starts before `end`.
Result<std::optional<BatchInfo>> find_next_valid_batch(const FileHandle& file, uint64_t from,
                                                       uint64_t end, int64_t min_offset,
                                                       uint64_t framed_next = 0);

// Every batch of [start, end) of a segment, CRC-checked, with the damaged ranges between.
class CheckedLogScanner {
 public:
  // min_offset: the lowest base offset a valid batch may have (the segment's base, or the
  // offset after the batch before `start`).
  CheckedLogScanner(const FileHandle& file, int64_t segment_base, uint64_t start, uint64_t end,
                    int64_t min_offset);
  ~CheckedLogScanner();

  // Either a valid batch (whole) or a damaged range; nullopt at the end.
  struct Item {
    std::optional<ScannedBatch> batch;
    std::optional<DamagedRange> damage;
  };
  Result<std::optional<Item>> next();

  // The offset after the last valid batch (min_offset before any).
  int64_t next_offset() const { return min_offset_; }

 private:
  const FileHandle& file_;
  int64_t segment_base_;
  uint64_t end_;
  int64_t min_offset_;
  std::unique_ptr<LogScanner> scanner_;
};

}  // namespace kfk::storage

// Sequential reading of the batches of a .log file through one buffer: used by recovery (whole
// batches, CRC-checked by the caller), by the tail scan of trusted segments and by the
// producer state rebuild (headers only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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
};

}  // namespace kfk::storage

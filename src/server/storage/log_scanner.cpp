#include "server/storage/log_scanner.h"

#include <fmt/format.h>

#include <algorithm>
#include <new>

namespace kfk::storage {

using record::kBatchHeaderSize;
using record::kLogOverhead;

LogScanner::LogScanner(const FileHandle& file, uint64_t start, uint64_t end, bool whole_batches,
                       size_t buffer_bytes)
    : file_(file),
      pos_(start),
      end_(end),
      whole_batches_(whole_batches),
      buffer_bytes_(std::max(buffer_bytes, kBatchHeaderSize)) {}

Result<bool> LogScanner::fill(uint64_t pos, size_t len) {
  if (pos >= buf_start_ && pos + len <= buf_start_ + buf_len_) return true;
  if (pos + len > end_) return false;
  // Refill from pos; whole batches in header mode would waste the read, so read only what is
  // asked then, up to the buffer size.
  size_t want = std::max(len, buffer_bytes_);
  want = static_cast<size_t>(std::min<uint64_t>(want, end_ - pos));
  if (buf_.size() < want) {
    // A damaged length can ask for up to the rest of the file; fail the scan, not the process.
    try {
      buf_.resize(want);
    } catch (const std::bad_alloc&) {
      return StorageError::make(StorageErrorKind::io_error,
                                fmt::format("{}: cannot buffer {} bytes at position {}",
                                            file_.path().string(), want, pos));
    }
  }
  auto got = pread_some(file_.fd(), std::span(buf_.data(), want), pos, file_.path());
  if (!got) return got.error();
  buf_start_ = pos;
  buf_len_ = *got;
  return *got >= len;
}

Result<std::optional<ScannedBatch>> LogScanner::next() {
  if (stopped() || pos_ >= end_) return std::optional<ScannedBatch>{};
  uint64_t left = end_ - pos_;
  auto stop = [&](std::string reason) -> Result<std::optional<ScannedBatch>> {
    stop_reason_ = std::move(reason);
    return std::optional<ScannedBatch>{};
  };
  if (left < kBatchHeaderSize)
    return stop(fmt::format("{} bytes at position {}, less than a batch header", left, pos_));
  auto have = fill(pos_, kBatchHeaderSize);
  if (!have) return have.error();
  if (!*have) return stop(fmt::format("the file ends inside the header at position {}", pos_));
  record::BatchView head(std::span(buf_.data() + (pos_ - buf_start_), kBatchHeaderSize));
  int32_t length = head.batch_length();
  if (length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead))
    return stop(fmt::format("impossible batch length {} at position {}", length, pos_));
  uint64_t size = kLogOverhead + static_cast<uint64_t>(length);
  if (size > left)
    return stop(
        fmt::format("a {}-byte batch at position {} but only {} bytes follow", size, pos_, left));
  if (head.magic() != record::kMagicV2)
    return stop(fmt::format("magic {} at position {}", head.magic(), pos_));

  ScannedBatch out;
  out.info.position = pos_;
  out.info.size = static_cast<uint32_t>(size);
  out.info.base_offset = head.base_offset();
  out.info.last_offset = head.last_offset();
  out.info.max_timestamp = head.max_timestamp();
  out.info.records_count = head.records_count();
  if (whole_batches_) {
    auto whole = fill(pos_, size);
    if (!whole) return whole.error();
    if (!*whole) return stop(fmt::format("the file ends inside the batch at position {}", pos_));
    out.view = record::BatchView(std::span(buf_.data() + (pos_ - buf_start_), size));
  } else {
    out.view = head;
  }
  pos_ += size;
  return std::optional<ScannedBatch>(out);
}

}  // namespace kfk::storage

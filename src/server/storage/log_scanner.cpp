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
  for (const DamagedRange& r : skip_)
    if (r.start_position <= pos_ && pos_ < r.end_position) pos_ = r.end_position;
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

std::string describe_damage(const DamagedRange& range) {
  std::string offsets;
  if (range.first_offset >= 0 && range.next_offset >= 0) {
    offsets = range.next_offset > range.first_offset
                  ? fmt::format("offsets {}..{} cannot be read", range.first_offset,
                                range.next_offset - 1)
                  : std::string("no offset is lost");
  } else if (range.next_offset >= 0) {
    offsets = fmt::format("offsets before {} cannot be read", range.next_offset);
  } else if (range.first_offset >= 0) {
    offsets =
        fmt::format("offsets from {} to the end of the segment cannot be read", range.first_offset);
  } else {
    offsets = "the offsets it held cannot be read";
  }
  return fmt::format("bytes {}..{} ({} bytes) hold no valid batch ({}): {}", range.start_position,
                     range.end_position - 1, range.size(), range.reason, offsets);
}

namespace {

// A header that could start a valid batch at `pos`: magic 2, a length that fits before `end`,
// offsets at or past min_offset.
bool plausible_header(const uint8_t* header, uint64_t pos, uint64_t end, int64_t min_offset) {
  record::BatchView head(std::span(header, kBatchHeaderSize));
  if (head.magic() != record::kMagicV2) return false;
  const int32_t length = head.batch_length();
  if (length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead)) return false;
  if (pos + kLogOverhead + static_cast<uint64_t>(length) > end) return false;
  return head.base_offset() >= min_offset && head.last_offset_delta() >= 0;
}

BatchInfo info_of(const record::BatchView& view, uint64_t position) {
  BatchInfo info;
  info.position = position;
  info.size = static_cast<uint32_t>(view.size());
  info.base_offset = view.base_offset();
  info.last_offset = view.last_offset();
  info.max_timestamp = view.max_timestamp();
  info.records_count = view.records_count();
  return info;
}

}  // namespace

Result<std::optional<BatchInfo>> find_next_valid_batch(const FileHandle& file, uint64_t from,
                                                       uint64_t end, int64_t min_offset,
                                                       uint64_t framed_next) {
  std::vector<uint8_t> batch;
  // The candidate at pos, read whole and checked.
  auto check = [&](uint64_t pos, const uint8_t* header) -> Result<std::optional<BatchInfo>> {
    if (!plausible_header(header, pos, end, min_offset)) return std::optional<BatchInfo>{};
    const size_t size =
        kLogOverhead +
        static_cast<size_t>(record::BatchView(std::span(header, kBatchHeaderSize)).batch_length());
    try {
      batch.resize(size);
    } catch (const std::bad_alloc&) {
      return std::optional<BatchInfo>{};
    }
    if (auto e = pread_exact(file.fd(), batch, pos, file.path()); !e.ok()) return e;
    record::BatchView view(batch);
    if (!view.validate().ok()) return std::optional<BatchInfo>{};
    return std::optional<BatchInfo>(info_of(view, pos));
  };
  uint8_t header[kBatchHeaderSize];
  if (framed_next > from && framed_next + kBatchHeaderSize <= end) {
    if (auto e = pread_exact(file.fd(), header, framed_next, file.path()); !e.ok()) return e;
    auto found = check(framed_next, header);
    if (!found || *found) return found;
  }
  // Then every byte: the magic byte filters almost every position before a CRC is computed.
  constexpr size_t kWindow = size_t{256} << 10;
  std::vector<uint8_t> buf;
  for (uint64_t start = from + 1; start + kBatchHeaderSize <= end; start += kWindow) {
    const auto len =
        static_cast<size_t>(std::min<uint64_t>(kWindow + kBatchHeaderSize - 1, end - start));
    buf.resize(len);
    if (auto e = pread_exact(file.fd(), buf, start, file.path()); !e.ok()) return e;
    for (size_t i = 0; i < kWindow && i + kBatchHeaderSize <= len; ++i) {
      if (static_cast<int8_t>(buf[i + record::batch_pos::magic]) != record::kMagicV2) continue;
      auto found = check(start + i, buf.data() + i);
      if (!found || *found) return found;
    }
  }
  return std::optional<BatchInfo>{};
}

CheckedLogScanner::CheckedLogScanner(const FileHandle& file, int64_t segment_base, uint64_t start,
                                     uint64_t end, int64_t min_offset)
    : file_(file),
      segment_base_(segment_base),
      end_(end),
      min_offset_(min_offset),
      scanner_(std::make_unique<LogScanner>(file, start, end, true)) {}

CheckedLogScanner::~CheckedLogScanner() = default;

Result<std::optional<CheckedLogScanner::Item>> CheckedLogScanner::next() {
  auto batch = scanner_->next();
  if (!batch) return batch.error();
  DamagedRange damage;
  damage.segment_base = segment_base_;
  uint64_t framed_next = 0;
  if (*batch) {
    const ScannedBatch& b = **batch;
    record::BatchError err = b.view.validate();
    if (err.ok() && b.info.base_offset >= min_offset_ && b.info.last_offset >= b.info.base_offset &&
        b.info.last_offset - segment_base_ <= INT32_MAX) {
      min_offset_ = b.info.next_offset();
      Item item;
      item.batch = b;
      return std::optional<Item>(std::move(item));
    }
    damage.start_position = b.info.position;
    damage.reason =
        !err.ok()
            ? fmt::format("batch at position {}: {}", b.info.position, err.message())
            : fmt::format("batch at position {} has offsets {}..{} after offset {}",
                          b.info.position, b.info.base_offset, b.info.last_offset, min_offset_ - 1);
    framed_next = b.info.end();
  } else if (scanner_->stopped()) {
    damage.start_position = scanner_->position();
    damage.reason = scanner_->stop_reason();
  } else {
    return std::optional<Item>{};
  }
  damage.first_offset = min_offset_;
  auto found = find_next_valid_batch(file_, damage.start_position, end_, min_offset_, framed_next);
  if (!found) return found.error();
  if (*found) {
    damage.end_position = (*found)->position;
    damage.next_offset = (*found)->base_offset;
  } else {
    damage.end_position = end_;
  }
  scanner_ = std::make_unique<LogScanner>(file_, damage.end_position, end_, true);
  Item item;
  item.damage = std::move(damage);
  return std::optional<Item>(std::move(item));
}

}  // namespace kfk::storage

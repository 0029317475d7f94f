// Segment: finding batches by offset and by timestamp, and cutting reads at whole batches.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <new>

#include "server/storage/segment.h"

namespace kfk::storage {

using record::kBatchHeaderSize;
using record::kLogOverhead;

StorageError FileSlice::read_into(std::vector<uint8_t>& out) const {
  if (length == 0) return {};
  size_t old = out.size();
  out.resize(old + length);
  auto e = pread_exact(file->fd(), std::span(out.data() + old, length), position, file->path());
  if (!e.ok()) out.resize(old);
  return e;
}

Result<BatchInfo> Segment::read_header(uint64_t position, uint64_t limit) const {
  auto corrupt = [&](std::string what) {
    return StorageError::make(
        StorageErrorKind::corrupt_batch,
        fmt::format("{} at position {}: {}", log_->path().string(), position, what));
  };
  if (position + kBatchHeaderSize > limit) return corrupt("less than a batch header left");
  uint8_t buf[kBatchHeaderSize];
  if (auto e = pread_exact(log_->fd(), std::span(buf, kBatchHeaderSize), position, log_->path());
      !e.ok())
    return e;
  record::BatchView head(std::span<const uint8_t>(buf, kBatchHeaderSize));
  int32_t length = head.batch_length();
  if (length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead))
    return corrupt(fmt::format("impossible batch length {}", length));
  uint64_t size = kLogOverhead + static_cast<uint64_t>(length);
  if (position + size > limit)
    return corrupt(fmt::format("a {}-byte batch runs past the end", size));
  if (head.magic() != record::kMagicV2) return corrupt(fmt::format("magic {}", head.magic()));
  BatchInfo info;
  info.position = position;
  info.size = static_cast<uint32_t>(size);
  info.base_offset = head.base_offset();
  info.last_offset = head.last_offset();
  info.max_timestamp = head.max_timestamp();
  info.records_count = head.records_count();
  return info;
}

const BatchInfo* Segment::recent_batch_for_offset(int64_t offset) const {
  if (recent_.empty() || offset < recent_.front().base_offset ||
      offset > recent_.back().last_offset)
    return nullptr;
  // Batches before the first recent one end before its base offset, so the first recent
  // batch reaching `offset` is the segment's first.
  auto it = std::lower_bound(recent_.begin(), recent_.end(), offset,
                             [](const BatchInfo& b, int64_t o) { return b.last_offset < o; });
  return it == recent_.end() ? nullptr : &*it;
}

const BatchInfo* Segment::recent_batch_at(uint64_t position) const {
  if (recent_.empty() || position < recent_.front().position) return nullptr;
  auto it = std::lower_bound(recent_.begin(), recent_.end(), position,
                             [](const BatchInfo& b, uint64_t p) { return b.position < p; });
  return it != recent_.end() && it->position == position ? &*it : nullptr;
}

const DamagedRange* Segment::damage_at(uint64_t position) const {
  for (const DamagedRange& d : damaged_)
    if (d.start_position <= position && position < d.end_position) return &d;
  return nullptr;
}

Result<DamagedRange> Segment::note_damage(uint64_t position, std::string reason,
                                          uint64_t framed_next) const {
  if (const DamagedRange* known = damage_at(position)) return *known;
  DamagedRange d;
  d.segment_base = base_offset_;
  d.start_position = position;
  d.reason = std::move(reason);
  // The offset after the batch before: read the headers from the index entry before it.
  if (position == 0) {
    d.first_offset = base_offset_;
  } else {
    auto entry = offset_index_.floor_by_position(position - 1);
    LogScanner scanner(*log_, entry ? entry->position : 0, position, false);
    scanner.skip(damaged_);
    int64_t next = -1;
    while (true) {
      auto batch = scanner.next();
      if (!batch) return batch.error();
      if (!*batch) break;
      next = (*batch)->info.next_offset();
    }
    if (!scanner.stopped() && scanner.position() == position) d.first_offset = next;
  }
  auto found = find_next_valid_batch(*log_, position, size_, std::max(d.first_offset, base_offset_),
                                     framed_next);
  if (!found) return found.error();
  d.end_position = *found ? (*found)->position : size_;
  d.next_offset = *found ? (*found)->base_offset : -1;
  spdlog::error("{}: {}", log_->path().string(), describe_damage(d));
  auto at = std::find_if(damaged_.begin(), damaged_.end(),
                         [&](const DamagedRange& r) { return r.start_position > position; });
  damaged_.insert(at, d);
  save_damage();
  return d;
}

StorageError Segment::damage_error(const DamagedRange& range) const {
  return StorageError::make(StorageErrorKind::corrupt_batch,
                            fmt::format("{}: {}", log_->path().string(), describe_damage(range)));
}

Result<std::optional<BatchInfo>> Segment::find_batch(int64_t offset, uint64_t max_position) const {
  max_position = std::min(max_position, size_);
  if (const BatchInfo* recent = recent_batch_for_offset(offset)) {
    if (recent->position >= max_position) return std::optional<BatchInfo>{};
    return std::optional<BatchInfo>(*recent);
  }
  uint64_t pos = offset_index_.lookup(offset).position;
  while (pos < max_position) {
    if (const DamagedRange* d = damage_at(pos)) {
      if (d->next_offset < 0 || offset < d->next_offset) return damage_error(*d);
      pos = d->end_position;
      continue;
    }
    auto head = read_header(pos, size_);
    if (!head) {
      if (head.error().kind != StorageErrorKind::corrupt_batch) return head.error();
      // Bytes that are not a batch where one should start: found now, stepped over from now.
      auto d = note_damage(pos, head.error().detail, 0);
      if (!d) return d.error();
      continue;
    }
    if (head->last_offset >= offset) return std::optional<BatchInfo>(*head);
    pos = head->end();
  }
  return std::optional<BatchInfo>{};
}

Result<uint64_t> Segment::position_of(int64_t offset) const {
  if (offset >= next_offset_) return size_;
  auto batch = find_batch(offset, size_);
  if (!batch) return batch.error();
  return *batch ? (*batch)->position : size_;
}

Result<std::optional<FileSlice>> Segment::read(int64_t offset, size_t max_bytes, bool min_one_batch,
                                               uint64_t max_position) const {
  max_position = std::min(max_position, size_);
  const bool from_recent = recent_batch_for_offset(offset) != nullptr;
  auto first = find_batch(offset, max_position);
  if (!first) return first.error();
  if (!*first) return std::optional<FileSlice>{};
  const BatchInfo& head = **first;
  if (!verified_ && !from_recent) {
    // A segment trusted at start was never CRC-checked: check the batch a read starts at, so
    // that a consumer stopped at a damaged batch gets CORRUPT_MESSAGE, not the same bad bytes
    // again. One batch per read keeps sendfile's zero copy for the rest.
    auto bytes = read_batch(head);
    if (!bytes) return bytes.error();
    if (record::BatchError err = record::BatchView(*bytes).validate(); !err.ok()) {
      auto d = note_damage(head.position,
                           fmt::format("batch at position {}: {}", head.position, err.message()),
                           head.end());
      if (!d) return d.error();
      return damage_error(*d);
    }
  }
  FileSlice slice;
  slice.file = log_;
  slice.position = head.position;
  // The first batch must end inside the visible range; max_position is always a batch end.
  if (head.end() > max_position || (head.size > max_bytes && !min_one_batch))
    return std::optional<FileSlice>(slice);

  uint64_t end = head.end();
  int64_t last_offset = head.last_offset;
  uint64_t limit =
      std::min<uint64_t>(max_position, head.position + std::max<uint64_t>(max_bytes, head.size));
  // A read ends before damage: the next read, starting there, reports it.
  for (const DamagedRange& d : damaged_) {
    if (d.start_position > head.position) {
      limit = std::min<uint64_t>(limit, d.start_position);
      break;
    }
  }
  // Skip ahead with the index: an entry is a batch start, and the batch before an entry ends
  // where the entry's batch begins, so the entry before the last one under the limit is a
  // batch known to fit. From there only a few headers are read.
  if (auto e = offset_index_.floor_by_position(limit); e && e->position > end) {
    if (auto prev = offset_index_.floor_by_position(e->position - 1);
        prev && prev->position >= end) {
      auto h = read_header(prev->position, size_);
      if (!h) return h.error();
      end = h->end();
      last_offset = h->last_offset;
    }
  }
  while (end < limit) {
    if (const BatchInfo* recent = recent_batch_at(end)) {
      if (recent->end() > limit) break;
      end = recent->end();
      last_offset = recent->last_offset;
      continue;
    }
    auto h = read_header(end, size_);
    // A damaged batch further on ends this read; a read starting there reports it.
    if (!h || h->end() > limit) break;
    end = h->end();
    last_offset = h->last_offset;
  }
  slice.length = end - head.position;
  slice.first_offset = head.base_offset;
  slice.last_offset = last_offset;
  return std::optional<FileSlice>(slice);
}

Result<std::vector<uint8_t>> Segment::read_batch(const BatchInfo& info) const {
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(info.size);
  } catch (const std::bad_alloc&) {
    return StorageError::make(
        StorageErrorKind::io_error,
        fmt::format("{}: cannot buffer a {}-byte batch", log_->path().string(), info.size));
  }
  if (auto e = pread_exact(log_->fd(), bytes, info.position, log_->path()); !e.ok()) return e;
  return bytes;
}

Result<std::optional<TimestampOffset>> Segment::find_offset_by_timestamp(
    int64_t timestamp, int64_t starting_offset) const {
  if (size_ == 0 || max_timestamp_ < timestamp) return std::optional<TimestampOffset>{};
  TimestampOffset floor = time_index_.lookup(timestamp);
  uint64_t pos = offset_index_.lookup(std::max(floor.offset, starting_offset)).position;
  while (pos < size_) {
    if (const DamagedRange* d = damage_at(pos)) {
      pos = d->end_position;
      continue;
    }
    auto head = read_header(pos, size_);
    if (!head) {
      if (head.error().kind != StorageErrorKind::corrupt_batch) return head.error();
      auto d = note_damage(pos, head.error().detail, 0);
      if (!d) return d.error();
      continue;
    }
    pos = head->end();
    if (head->max_timestamp < timestamp || head->last_offset < starting_offset) continue;
    auto bytes = read_batch(*head);
    if (!bytes) return bytes.error();
    record::DecodedRecords records;
    record::BatchError err = record::BatchView(*bytes).validate();
    if (err.ok()) err = record::decode_records(record::BatchView(*bytes), records);
    if (!err.ok()) {
      // A damaged batch holds no timestamp to trust: step over it.
      auto d = note_damage(head->position,
                           fmt::format("batch at position {}: {}", head->position, err.message()),
                           head->end());
      if (!d) return d.error();
      pos = d->end_position;
      continue;
    }
    for (const record::RecordView& r : records.records) {
      if (r.timestamp >= timestamp && r.offset >= starting_offset)
        return std::optional<TimestampOffset>(TimestampOffset{r.timestamp, r.offset});
    }
  }
  return std::optional<TimestampOffset>{};
}

}  // namespace kfk::storage

#include "server/storage/time_index.h"

#include <fmt/format.h>

#include "core/util/big_endian.h"

namespace kfk::storage {

TimeIndex::TimeIndex(std::filesystem::path path, int64_t base_offset)
    : base_offset_(base_offset),
      file_(std::move(path), kEntrySize, StorageErrorKind::corrupt_time_index) {}

TimestampOffset TimeIndex::entry(size_t i) const {
  const uint8_t* p = file_.entry(i);
  return {load_be<int64_t>(p), base_offset_ + load_be<int32_t>(p + 8)};
}

std::optional<TimestampOffset> TimeIndex::last_entry() const {
  if (entries() == 0) return std::nullopt;
  return entry(entries() - 1);
}

TimestampOffset TimeIndex::lookup(int64_t timestamp) const {
  const size_t lo =
      count_leading(entries(), [&](size_t i) { return entry(i).timestamp <= timestamp; });
  if (lo == 0) return {-1, base_offset_};
  return entry(lo - 1);
}

StorageError TimeIndex::maybe_append(int64_t timestamp, int64_t offset, bool final_entry) {
  auto last = last_entry();
  if (last) {
    if (offset < last->offset)
      return StorageError::make(StorageErrorKind::invalid_index_entry,
                                fmt::format("{}: offset {} is before the last entry's {}",
                                            file_.path().string(), offset, last->offset));
    if (timestamp < last->timestamp)
      return StorageError::make(StorageErrorKind::invalid_index_entry,
                                fmt::format("{}: timestamp {} is before the last entry's {}",
                                            file_.path().string(), timestamp, last->timestamp));
    if (timestamp == last->timestamp) return {};
  }
  if (final_entry ? file_.entries() >= file_.max_entries() : full())
    return StorageError::make(StorageErrorKind::index_full,
                              fmt::format("{}: {} entries", file_.path().string(), entries()));
  int64_t relative = offset - base_offset_;
  if (relative < 0 || relative > INT32_MAX)
    return StorageError::make(StorageErrorKind::invalid_index_entry,
                              fmt::format("{}: offset {} is not within int32 of the base offset {}",
                                          file_.path().string(), offset, base_offset_));
  uint8_t e[kEntrySize];
  store_be<int64_t>(e, timestamp);
  store_be<uint32_t>(e + 8, static_cast<uint32_t>(relative));
  return file_.push(e);
}

StorageError TimeIndex::truncate_to(int64_t offset) {
  const size_t lo = count_leading(entries(), [&](size_t i) { return entry(i).offset < offset; });
  return file_.truncate_entries(lo);
}

StorageError TimeIndex::sanity_check() const {
  if (entries() == 0) return {};
  TimestampOffset first = entry(0);
  TimestampOffset last = entry(entries() - 1);
  auto corrupt = [&](std::string what) {
    return StorageError::make(StorageErrorKind::corrupt_time_index,
                              fmt::format("{}: {}", file_.path().string(), what));
  };
  if (first.offset < base_offset_ || last.offset < base_offset_)
    return corrupt(fmt::format("entry offset below the base offset {}", base_offset_));
  if (entries() > 1 && (last.timestamp <= first.timestamp || last.offset < first.offset))
    return corrupt(fmt::format("last entry ({}, {}) does not follow the first ({}, {})",
                               last.timestamp, last.offset, first.timestamp, first.offset));
  return {};
}

}  // namespace kfk::storage

#include "server/storage/offset_index.h"

#include <fmt/format.h>

#include "core/util/big_endian.h"

namespace kfk::storage {

OffsetIndex::OffsetIndex(std::filesystem::path path, int64_t base_offset)
    : base_offset_(base_offset),
      file_(std::move(path), kEntrySize, StorageErrorKind::corrupt_index) {}

OffsetPosition OffsetIndex::entry(size_t i) const {
  const uint8_t* p = file_.entry(i);
  return {base_offset_ + load_be<int32_t>(p), load_be<uint32_t>(p + 4)};
}

std::optional<OffsetPosition> OffsetIndex::last_entry() const {
  if (entries() == 0) return std::nullopt;
  return entry(entries() - 1);
}

OffsetPosition OffsetIndex::lookup(int64_t target) const {
  // Binary search for the last entry with offset <= target.
  const size_t lo = count_leading(entries(), [&](size_t i) { return entry(i).offset <= target; });
  if (lo == 0) return {base_offset_, 0};
  return entry(lo - 1);
}

std::optional<OffsetPosition> OffsetIndex::floor_by_position(uint64_t position) const {
  const size_t lo =
      count_leading(entries(), [&](size_t i) { return entry(i).position <= position; });
  if (lo == 0) return std::nullopt;
  return entry(lo - 1);
}

StorageError OffsetIndex::append(int64_t offset, uint32_t position) {
  if (full())
    return StorageError::make(StorageErrorKind::index_full,
                              fmt::format("{}: {} entries", file_.path().string(), entries()));
  int64_t relative = offset - base_offset_;
  if (relative < 0 || relative > INT32_MAX)
    return StorageError::make(StorageErrorKind::invalid_index_entry,
                              fmt::format("{}: offset {} is not within int32 of the base offset {}",
                                          file_.path().string(), offset, base_offset_));
  if (auto last = last_entry(); last && (offset <= last->offset || position <= last->position))
    return StorageError::make(
        StorageErrorKind::invalid_index_entry,
        fmt::format("{}: entry ({}, {}) does not follow the last entry ({}, {})",
                    file_.path().string(), offset, position, last->offset, last->position));
  uint8_t e[kEntrySize];
  store_be<uint32_t>(e, static_cast<uint32_t>(relative));
  store_be<uint32_t>(e + 4, position);
  return file_.push(e);
}

StorageError OffsetIndex::truncate_to(int64_t offset) {
  // Keep the entries with offset < target: the count of entries at or below offset - 1.
  const size_t lo = count_leading(entries(), [&](size_t i) { return entry(i).offset < offset; });
  return file_.truncate_entries(lo);
}

StorageError OffsetIndex::sanity_check(uint64_t log_size) const {
  if (entries() == 0) return {};
  OffsetPosition first = entry(0);
  OffsetPosition last = entry(entries() - 1);
  auto corrupt = [&](std::string what) {
    return StorageError::make(StorageErrorKind::corrupt_index,
                              fmt::format("{}: {}", file_.path().string(), what));
  };
  if (first.offset < base_offset_ || last.offset < base_offset_)
    return corrupt(fmt::format("entry offset below the base offset {}", base_offset_));
  if (entries() > 1 && (last.offset <= first.offset || last.position <= first.position))
    return corrupt(fmt::format("last entry ({}, {}) does not follow the first ({}, {})",
                               last.offset, last.position, first.offset, first.position));
  if (last.position >= log_size)
    return corrupt(
        fmt::format("last entry points at byte {} of a {}-byte log", last.position, log_size));
  return {};
}

}  // namespace kfk::storage

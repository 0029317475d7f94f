#include "server/storage/segment_index.h"

#include <fmt/format.h>

#include <cstdint>

#include "server/storage/offset_index.h"
#include "server/storage/time_index.h"

namespace kfk::storage {

template <class Entry>
SegmentIndex<Entry>::SegmentIndex(std::filesystem::path path, int64_t base_offset)
    : base_offset_(base_offset), file_(std::move(path), Entry::kSize, Entry::kCorruptKind) {}

template <class Entry>
typename SegmentIndex<Entry>::Value SegmentIndex<Entry>::lookup(int64_t key) const {
  // Binary search for the last entry with key <= target.
  const size_t lo = count_leading(entries(), [&](size_t i) { return Entry::key(entry(i)) <= key; });
  if (lo == 0) return Entry::before_first(base_offset_);
  return entry(lo - 1);
}

template <class Entry>
std::optional<typename SegmentIndex<Entry>::Value> SegmentIndex<Entry>::last_entry() const {
  if (entries() == 0) return std::nullopt;
  return entry(entries() - 1);
}

template <class Entry>
StorageError SegmentIndex<Entry>::truncate_to(int64_t offset) {
  // Keep the entries with an offset below the target.
  const size_t lo =
      count_leading(entries(), [&](size_t i) { return Entry::offset(entry(i)) < offset; });
  return file_.truncate_entries(lo);
}

template <class Entry>
StorageError SegmentIndex<Entry>::sanity_check_entries() const {
  if (entries() == 0) return {};
  const Value first = entry(0);
  const Value last = entry(entries() - 1);
  if (Entry::offset(first) < base_offset_ || Entry::offset(last) < base_offset_)
    return error(Entry::kCorruptKind,
                 fmt::format("entry offset below the base offset {}", base_offset_));
  if (entries() > 1 && !Entry::follows(first, last))
    return error(Entry::kCorruptKind, fmt::format("last entry {} does not follow the first {}",
                                                  Entry::text(last), Entry::text(first)));
  return {};
}

template <class Entry>
StorageError SegmentIndex<Entry>::check_relative_offset(int64_t offset) const {
  const int64_t relative = offset - base_offset_;
  if (relative < 0 || relative > INT32_MAX)
    return error(
        StorageErrorKind::invalid_index_entry,
        fmt::format("offset {} is not within int32 of the base offset {}", offset, base_offset_));
  return {};
}

template <class Entry>
StorageError SegmentIndex<Entry>::full_error() const {
  return error(StorageErrorKind::index_full, fmt::format("{} entries", entries()));
}

template <class Entry>
StorageError SegmentIndex<Entry>::push(const Value& value) {
  uint8_t bytes[Entry::kSize];
  Entry::encode(value, base_offset_, bytes);
  return file_.push(bytes);
}

template <class Entry>
StorageError SegmentIndex<Entry>::error(StorageErrorKind kind, std::string what) const {
  return StorageError::make(kind, fmt::format("{}: {}", file_.path().string(), what));
}

// Every index format, one line each.
template class SegmentIndex<OffsetIndexEntry>;
template class SegmentIndex<TimeIndexEntry>;

}  // namespace kfk::storage

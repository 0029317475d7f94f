#include "server/storage/offset_index.h"

#include <fmt/format.h>

namespace kfk::storage {

std::string OffsetIndexEntry::disorder(const Value& prev, const Value& next) {
  if (next.offset <= prev.offset)
    return fmt::format("offset {} after {}", next.offset, prev.offset);
  if (next.position <= prev.position)
    return fmt::format("position {} after {}", next.position, prev.position);
  return {};
}

std::string OffsetIndexEntry::text(const Value& e) {
  return fmt::format("({}, {})", e.offset, e.position);
}

std::optional<OffsetPosition> OffsetIndex::floor_by_position(uint64_t position) const {
  const size_t lo =
      count_leading(entries(), [&](size_t i) { return entry(i).position <= position; });
  if (lo == 0) return std::nullopt;
  return entry(lo - 1);
}

StorageError OffsetIndex::append(int64_t offset, uint32_t position) {
  if (full()) return full_error();
  if (auto e = check_relative_offset(offset); !e.ok()) return e;
  const OffsetPosition next{offset, position};
  if (auto last = last_entry(); last && !OffsetIndexEntry::follows(*last, next))
    return error(StorageErrorKind::invalid_index_entry,
                 fmt::format("entry {} does not follow the last entry {}",
                             OffsetIndexEntry::text(next), OffsetIndexEntry::text(*last)));
  return push(next);
}

StorageError OffsetIndex::sanity_check(uint64_t log_size) const {
  if (auto e = sanity_check_entries(); !e.ok()) return e;
  if (auto last = last_entry(); last && last->position >= log_size)
    return error(
        StorageErrorKind::corrupt_index,
        fmt::format("last entry points at byte {} of a {}-byte log", last->position, log_size));
  return {};
}

}  // namespace kfk::storage

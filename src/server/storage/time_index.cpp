#include "server/storage/time_index.h"

#include <fmt/format.h>

namespace kfk::storage {

std::string TimeIndexEntry::disorder(const Value& prev, const Value& next) {
  if (next.offset < prev.offset) return fmt::format("offset {} after {}", next.offset, prev.offset);
  if (next.timestamp <= prev.timestamp)
    return fmt::format("timestamp {} after {}", next.timestamp, prev.timestamp);
  return {};
}

std::string TimeIndexEntry::text(const Value& e) {
  return fmt::format("({}, {})", e.timestamp, e.offset);
}

StorageError TimeIndex::maybe_append(int64_t timestamp, int64_t offset, bool final_entry) {
  if (auto last = last_entry()) {
    if (offset < last->offset)
      return error(StorageErrorKind::invalid_index_entry,
                   fmt::format("offset {} is before the last entry's {}", offset, last->offset));
    if (timestamp < last->timestamp)
      return error(
          StorageErrorKind::invalid_index_entry,
          fmt::format("timestamp {} is before the last entry's {}", timestamp, last->timestamp));
    if (timestamp == last->timestamp) return {};
  }
  if (final_entry ? file_.entries() >= file_.max_entries() : full()) return full_error();
  if (auto e = check_relative_offset(offset); !e.ok()) return e;
  return push({timestamp, offset});
}

}  // namespace kfk::storage

// The offset index of a segment: <base offset>.index, Kafka's layout.
//
// The file is a sequence of 8-byte entries with no header (big-endian):
//    0  relativeOffset  int32  an offset minus the segment's base offset: the last offset of
//                              the batch this entry points at
//    4  position        int32  byte position in the .log file where that batch starts
//
// The index is sparse: an entry is added when more than index.interval.bytes of batches were
// appended since the previous one. Entries increase strictly in both fields, so both can be
// binary-searched. To find an offset: take the last entry whose offset is <= the target, then
// scan batches in the log from its position.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "server/storage/index_file.h"

namespace kfk::storage {

struct OffsetPosition {
  int64_t offset = 0;
  uint32_t position = 0;
  bool operator==(const OffsetPosition&) const = default;
};

class OffsetIndex {
 public:
  static constexpr size_t kEntrySize = 8;

  OffsetIndex(std::filesystem::path path, int64_t base_offset);

  StorageError open(size_t max_bytes, bool writable) { return file_.open(max_bytes, writable); }

  // The last entry whose offset is <= target; {base_offset, 0} when there is none.
  OffsetPosition lookup(int64_t target) const;
  // The last entry whose position is <= position; nullopt when there is none.
  std::optional<OffsetPosition> floor_by_position(uint64_t position) const;

  // Adds an entry. Fails with index_full when there is no room and invalid_index_entry when
  // the offset or position does not increase, or the offset does not fit the relative int32.
  StorageError append(int64_t offset, uint32_t position);
  // Removes the entries whose offset is >= offset.
  StorageError truncate_to(int64_t offset);
  StorageError truncate_all() { return file_.truncate_entries(0); }

  // Cheap checks for an index that is about to be trusted: whole entries, the last entry
  // after the first and inside the log.
  StorageError sanity_check(uint64_t log_size) const;

  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return file_.entries(); }
  bool full() const { return file_.entries() >= file_.max_entries(); }
  OffsetPosition entry(size_t i) const;
  std::optional<OffsetPosition> last_entry() const;

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }

 private:
  int64_t base_offset_;
  IndexFile file_;
};

}  // namespace kfk::storage

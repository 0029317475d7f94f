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
#include <string>

#include "core/util/big_endian.h"
#include "server/storage/segment_index.h"

namespace kfk::storage {

struct OffsetPosition {
  int64_t offset = 0;
  uint32_t position = 0;
  bool operator==(const OffsetPosition&) const = default;
};

// The codec of an .index entry (see segment_index.h for what each member is for).
struct OffsetIndexEntry {
  using Value = OffsetPosition;
  static constexpr size_t kSize = 8;
  static constexpr StorageErrorKind kCorruptKind = StorageErrorKind::corrupt_index;

  static Value decode(const uint8_t* p, int64_t base_offset) {
    return {base_offset + load_be<int32_t>(p), load_be<uint32_t>(p + 4)};
  }
  static void encode(const Value& e, int64_t base_offset, uint8_t* p) {
    store_be<uint32_t>(p, static_cast<uint32_t>(e.offset - base_offset));
    store_be<uint32_t>(p + 4, e.position);
  }
  static int64_t key(const Value& e) { return e.offset; }
  static int64_t offset(const Value& e) { return e.offset; }
  // No entry at or below the target: scan from the segment's start.
  static Value before_first(int64_t base_offset) { return {base_offset, 0}; }
  // Both fields increase strictly.
  static bool follows(const Value& prev, const Value& next) {
    return next.offset > prev.offset && next.position > prev.position;
  }
  static std::string disorder(const Value& prev, const Value& next);
  static std::string text(const Value& e);
};

extern template class SegmentIndex<OffsetIndexEntry>;

class OffsetIndex : public SegmentIndex<OffsetIndexEntry> {
 public:
  using SegmentIndex::SegmentIndex;

  // lookup(target) (inherited): the last entry whose offset is <= target; {base_offset, 0}
  // when there is none.

  // The last entry whose position is <= position; nullopt when there is none.
  std::optional<OffsetPosition> floor_by_position(uint64_t position) const;

  // Adds an entry. Fails with index_full when there is no room and invalid_index_entry when
  // the offset or position does not increase, or the offset does not fit the relative int32.
  StorageError append(int64_t offset, uint32_t position);

  // Cheap checks for an index that is about to be trusted: whole entries, the last entry
  // after the first and inside the log.
  StorageError sanity_check(uint64_t log_size) const;

  bool full() const { return file_.entries() >= file_.max_entries(); }
};

}  // namespace kfk::storage

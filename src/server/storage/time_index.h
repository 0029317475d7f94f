// The time index of a segment: <base offset>.timeindex, Kafka's layout.
//
// The file is a sequence of 12-byte entries with no header (big-endian):
//    0  timestamp       int64  the largest batch maxTimestamp in the segment up to this entry
//    8  relativeOffset  int32  the last offset of the batch that first reached that
//                              timestamp, minus the segment's base offset
//
// An entry is considered at each offset-index entry and added only when the largest
// timestamp grew past the last entry's, so timestamps increase strictly and offsets never
// decrease. When a segment stops being active one final entry records its largest timestamp,
// which is how a trusted segment knows it after a restart without reading its log; the last
// slot is kept free for that entry.
//
// To find the first batch with maxTimestamp >= T: take the last entry whose timestamp is
// <= T (every batch before its offset has a smaller maximum), look its offset up in the
// offset index, and scan batches from there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/util/big_endian.h"
#include "server/storage/segment_index.h"

namespace kfk::storage {

struct TimestampOffset {
  int64_t timestamp = -1;
  int64_t offset = -1;
  bool operator==(const TimestampOffset&) const = default;
};

// The codec of a .timeindex entry (see segment_index.h for what each member is for).
struct TimeIndexEntry {
  using Value = TimestampOffset;
  static constexpr size_t kSize = 12;
  static constexpr StorageErrorKind kCorruptKind = StorageErrorKind::corrupt_time_index;

  static Value decode(const uint8_t* p, int64_t base_offset) {
    return {load_be<int64_t>(p), base_offset + load_be<int32_t>(p + 8)};
  }
  static void encode(const Value& e, int64_t base_offset, uint8_t* p) {
    store_be<int64_t>(p, e.timestamp);
    store_be<uint32_t>(p + 8, static_cast<uint32_t>(e.offset - base_offset));
  }
  static int64_t key(const Value& e) { return e.timestamp; }
  static int64_t offset(const Value& e) { return e.offset; }
  // No entry at or below the timestamp: no timestamp known, scan from the segment's start.
  static Value before_first(int64_t base_offset) { return {-1, base_offset}; }
  // Timestamps increase strictly, offsets never decrease.
  static bool follows(const Value& prev, const Value& next) {
    return next.offset >= prev.offset && next.timestamp > prev.timestamp;
  }
  static std::string disorder(const Value& prev, const Value& next);
  static std::string text(const Value& e);
};

extern template class SegmentIndex<TimeIndexEntry>;

class TimeIndex : public SegmentIndex<TimeIndexEntry> {
 public:
  using SegmentIndex::SegmentIndex;

  // lookup(timestamp) (inherited): the last entry whose timestamp is <= timestamp;
  // {-1, base_offset} when there is none.

  // Adds (timestamp, offset) when the timestamp is larger than the last entry's. Fails with
  // invalid_index_entry when the offset goes backwards or the timestamp does, and with
  // index_full when only the reserved last slot is left (unless this is that final entry).
  StorageError maybe_append(int64_t timestamp, int64_t offset, bool final_entry = false);

  StorageError sanity_check() const { return sanity_check_entries(); }

  // Full when only the slot kept for the final entry is left.
  bool full() const { return file_.entries() + 1 >= file_.max_entries(); }
};

}  // namespace kfk::storage

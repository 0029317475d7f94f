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

#include "server/storage/index_file.h"

namespace kfk::storage {

struct TimestampOffset {
  int64_t timestamp = -1;
  int64_t offset = -1;
  bool operator==(const TimestampOffset&) const = default;
};

class TimeIndex {
 public:
  static constexpr size_t kEntrySize = 12;

  TimeIndex(std::filesystem::path path, int64_t base_offset);

  StorageError open(size_t max_bytes, bool writable) { return file_.open(max_bytes, writable); }

  // The last entry whose timestamp is <= timestamp; {-1, base_offset} when there is none.
  TimestampOffset lookup(int64_t timestamp) const;

  // Adds (timestamp, offset) when the timestamp is larger than the last entry's. Fails with
  // invalid_index_entry when the offset goes backwards or the timestamp does, and with
  // index_full when only the reserved last slot is left (unless this is that final entry).
  StorageError maybe_append(int64_t timestamp, int64_t offset, bool final_entry = false);
  // Removes the entries whose offset is >= offset.
  StorageError truncate_to(int64_t offset);
  StorageError truncate_all() { return file_.truncate_entries(0); }

  StorageError sanity_check() const;

  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return file_.entries(); }
  // Full when only the slot kept for the final entry is left.
  bool full() const { return file_.entries() + 1 >= file_.max_entries(); }
  TimestampOffset entry(size_t i) const;
  std::optional<TimestampOffset> last_entry() const;

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }

 private:
  int64_t base_offset_;
  IndexFile file_;
};

}  // namespace kfk::storage

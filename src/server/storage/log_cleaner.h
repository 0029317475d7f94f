// Log compaction (cleanup.policy=compact): keeps, for every key, the latest record.
//
// A compacted log is split by the cleaner's checkpoint (cleaner-offset-checkpoint) into a
// clean section, already compacted, and a dirty section after it. One cleaning:
//   1. maps key -> latest offset over the dirty section, segment by segment, as far as the
//      key map (log.cleaner.dedupe.buffer.size) holds; where it stops is the new checkpoint;
//   2. recopies every segment from the log start up to there, in groups of consecutive
//      segments that fit one segment (segment.bytes), keeping a record when no later record
//      of its key is in the map. Offsets, timestamps, headers, batch boundaries, producer ids
//      and codecs are kept: a batch whose records all stay is copied byte for byte; one that
//      lost some is rewritten with the same header fields (lastOffsetDelta included, so
//      offsets keep their gaps) and recompressed with its codec; one that lost all of them
//      goes, unless it is the last batch of an idempotent producer, kept empty so that the
//      producer's sequence survives a restart. Control batches stay.
//   3. swaps each group's output in (PartitionLog::swap_in_cleaned), group by group.
// Tombstones (null values) are kept like other records, and dropped only once the segment
// holding them is older (by its largest timestamp) than delete.retention.ms; the cleaner
// comes back for them then, even when nothing else is dirty. Records without a
// key cannot be compacted and are dropped; producers cannot write them (INVALID_RECORD).
// Segments holding records newer than min.compaction.lag.ms, the active segment and offsets
// at or past the high watermark are never cleaned.
//
// Readers are never blocked: the old segments are read through their file descriptors
// without the log's lock, which is held only for the swap.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "server/storage/partition_log.h"

namespace kfk::storage {

// Caps the cleaner threads' combined I/O rate (log.cleaner.io.max.bytes.per.second).
class IoThrottler {
 public:
  explicit IoThrottler(double bytes_per_second) : rate_(bytes_per_second) {}
  // Counts `bytes` and sleeps while the rate over the current window is above the cap.
  void acquire(uint64_t bytes);

 private:
  double rate_;
  std::mutex mu_;
  int64_t window_start_ns_ = -1;
  uint64_t window_bytes_ = 0;
};

struct CleanerOptions {
  size_t dedupe_buffer_bytes = size_t{128} << 20;  // this thread's share
  double dedupe_load_factor = 0.9;
  size_t io_buffer_bytes = size_t{512} << 10;  // read buffer and write batching
  IoThrottler* throttler = nullptr;
  const std::atomic<bool>* stop = nullptr;  // checked between batches
  // Recopy the clean section even when nothing is dirty: tombstones kept by an earlier
  // cleaning have passed delete.retention.ms.
  bool expire_tombstones = false;
};

// The part of a log a cleaning may work on now, and how dirty the log is.
struct CleanableRange {
  int64_t first_dirty_offset = 0;        // the checkpoint, at least the log start
  int64_t first_uncleanable_offset = 0;  // active segment, high watermark, min.compaction.lag.ms
  uint64_t clean_bytes = 0;              // segments wholly before first_dirty_offset
  uint64_t dirty_bytes = 0;              // segments overlapping the cleanable dirty section
  bool max_lag_passed = false;           // the oldest dirty record is over max.compaction.lag.ms

  // dirty / (clean + dirty); 0 for an empty log.
  double dirty_ratio() const;
  // Worth a cleaning: dirty bytes to clean and a ratio above min.cleanable.dirty.ratio, or a
  // record waiting longer than max.compaction.lag.ms.
  bool should_clean(double min_cleanable_dirty_ratio) const;
};

CleanableRange cleanable_range(const CleanerView& view, int64_t checkpoint, int64_t now_ms);

struct CleaningResult {
  int64_t first_dirty_offset = 0;
  int64_t end_offset = 0;  // the new checkpoint: the dirty section is clean up to here
  size_t segments_read = 0;
  size_t segments_written = 0;
  uint64_t bytes_read = 0;  // both passes: the key map and the copy
  uint64_t bytes_written = 0;
  uint64_t records_read = 0;  // by the copy
  uint64_t records_kept = 0;
  uint64_t tombstones_removed = 0;
  size_t keys = 0;  // entries of the key map
  int64_t duration_ms = 0;
  // When the earliest tombstone this cleaning kept may go (-1: none kept): a later cleaning
  // is due then even if nothing new was written.
  int64_t tombstones_expire_at_ms = -1;
  bool aborted = false;  // stopped by CleanerOptions::stop; nothing after the last swap done
};

// Cleans the log once. `view` and `range` come from log.cleaner_view() and cleanable_range().
// Returns a result with end_offset == first_dirty_offset when there was nothing to clean.
Result<CleaningResult> clean_log(PartitionLog& log, const CleanerView& view,
                                 const CleanableRange& range, const CleanerOptions& options,
                                 int64_t now_ms);

}  // namespace kfk::storage

// The log of one partition: the directory <log.dir>/<topic>-<partition> holding its segments
// (<base offset>.log/.index/.timeindex) and producer state snapshots (<offset>.snapshot).
//
// Offsets: log start offset (the first offset readable, moved by retention and DeleteRecords)
// <= high watermark (what consumers may read; the owner moves it, or it follows the log end
// when `high_watermark_follows_log_end`) <= log end offset (the next offset to assign).
// The recovery point is the offset below which everything is known to be on disk (fsynced):
// segments wholly below it are trusted when the log is opened again.
//
// Damage: recovery cuts only a torn tail (damage at the end of the active segment after the
// recovery point, with no valid batch after it). Damage anywhere else stays on disk as a
// damaged range: reads of its offsets fail with CORRUPT_MESSAGE, reads around it work, and
// DeleteRecords past it is the way on.
//
// Thread-safety: every public method takes the log's mutex, so a log may be used from
// several threads; reads hand out file slices that stay valid (the descriptor is shared)
// after the lock is released, even if retention deletes the segment meanwhile. A truncation
// (follower or recovery) can shorten a file under a slice; a sender must cope with a short
// sendfile(2).
//
// Files written: segments, indexes, snapshots. Not written here: the checkpoint files of the
// log dir (recovery points, log start offsets), which the owner (LogManager) keeps.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/protocol/errors.h"
#include "server/storage/file_io.h"
#include "server/storage/log_config.h"
#include "server/storage/producer_state.h"
#include "server/storage/segment.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {

struct PartitionLogOptions {
  fs::path dir;  // <log.dir>/<topic>-<partition>; created when missing
  LogConfig config;
  // From the log dir's checkpoint files; 0 when the partition is not in them.
  int64_t recovery_point = 0;
  int64_t log_start_offset = 0;
  // The log dir was shut down cleanly: every segment is trusted, nothing is scanned.
  bool clean_shutdown = false;
  bool high_watermark_follows_log_end = true;
  bool strict_new_producers = false;  // see producer_state.h
  int64_t now_ms = -1;                // -1: the system clock
};

struct AppendOptions {
  AppendOrigin origin = AppendOrigin::client;
  int32_t leader_epoch = record::kNoPartitionLeaderEpoch;  // written into each batch
  int64_t now_ms = -1;  // -1: the system clock (LogAppendTime, segment.ms)
  // The caller has already checked the CRC and every record of the batches (the Produce
  // handler does, in its one pass over the records): the CRC is not computed again.
  bool records_validated = false;
};

struct AppendResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string error_message;
  int32_t batch_index = -1;  // the batch at fault, when one is
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;  // set when the topic uses LogAppendTime
  int64_t log_start_offset = -1;
  bool duplicate = false;     // a producer retry: the offsets are the original batch's
  bool flush_needed = false;  // flush.messages reached: the owner should call flush()
  bool rolled = false;        // a new segment was started for this append

  bool ok() const { return error == protocol::ErrorCode::none; }
};

// How far a read may go.
enum class ReadLimit : uint8_t {
  high_watermark,  // consumers
  log_end,         // followers and internal readers
};

struct ReadResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string error_message;
  // Whole batches in offset order, from the batch holding the requested offset. A read may
  // span segments; each slice is within one.
  std::vector<FileSlice> slices;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;

  bool ok() const { return error == protocol::ErrorCode::none; }
  uint64_t size_bytes() const;
};

struct ReadBytesResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string error_message;
  std::vector<uint8_t> bytes;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;
  bool ok() const { return error == protocol::ErrorCode::none; }
};

struct OffsetAndTimestamp {
  int64_t offset = -1;
  int64_t timestamp = -1;
  bool operator==(const OffsetAndTimestamp&) const = default;
};

// ListOffsets' special timestamps.
inline constexpr int64_t kLatestTimestamp = -1;
inline constexpr int64_t kEarliestTimestamp = -2;
inline constexpr int64_t kMaxTimestamp = -3;
inline constexpr int64_t kEarliestLocalTimestamp = -4;

// An inactive segment as the log cleaner sees it: read through `file` outside the log's lock.
struct CleanerSegment {
  int64_t base_offset = 0;
  int64_t next_offset = 0;  // after its last batch; the base offset when empty
  uint64_t size = 0;
  int64_t largest_timestamp = -1;      // Segment::largest_timestamp()
  int64_t first_batch_timestamp = -1;  // -1 when empty
  std::shared_ptr<FileHandle> file;
};

// What the log cleaner needs of a log, taken under the log's lock in one go.
struct CleanerView {
  LogConfig config;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  int64_t active_base_offset = 0;
  uint64_t active_size = 0;
  int64_t active_first_batch_timestamp = -1;
  std::vector<CleanerSegment> segments;  // every segment but the active one, oldest first
  // The last offset of each producer's last batch: that batch is kept (empty if need be) so
  // that the producer's sequence survives a rebuild of the producer state from the log.
  std::unordered_map<int64_t, int64_t> producer_last_offsets;
};

struct RetentionResult {
  size_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
  int64_t log_start_offset = -1;
};

// What opening the log found and fixed, for logs and tests.
struct LoadSummary {
  size_t segments = 0;
  size_t segments_trusted = 0;    // loaded from their indexes without a scan
  size_t segments_recovered = 0;  // scanned batch by batch
  size_t indexes_rebuilt = 0;     // trusted segments whose indexes were missing or damaged
  uint64_t bytes_truncated = 0;   // torn tail of the active segment dropped
  size_t damaged_ranges = 0;      // damage in the middle of the log, kept and stepped over
  uint64_t bytes_damaged = 0;
  size_t batches_replayed = 0;  // for the producer state
  size_t leftover_files_removed = 0;
  size_t swap_files_applied = 0;
};

class PartitionLog {
 public:
  static Result<std::unique_ptr<PartitionLog>> open(const PartitionLogOptions& options);

  // Closes (flushing) when still open.
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // --- append ---------------------------------------------------------------------------

  // Appends the batches of a produce request (client origin: exactly one v2 batch, as Kafka
  // requires) or of the broker itself (coordinator: one or more). Every batch is validated
  // before anything is written: a batch over max.message.bytes gives MESSAGE_TOO_LARGE, over
  // segment.bytes RECORD_LIST_TOO_LARGE, a bad CRC CORRUPT_MESSAGE, anything else the code
  // BatchError::kafka_error_code() gives; then the producer state is checked (duplicates are
  // answered with the original offsets). Offsets, the leader epoch and LogAppendTime are
  // written into `batches` in place, so the bytes written are the bytes received.
  AppendResult append(std::span<uint8_t> batches, const AppendOptions& options = {});

  // --- read -----------------------------------------------------------------------------

  // Whole batches from the one holding `offset`, up to max_bytes (the first batch is
  // returned whole even when larger, if min_one_batch). OFFSET_OUT_OF_RANGE below the log
  // start or past the log end.
  ReadResult read(int64_t offset, size_t max_bytes, bool min_one_batch = true,
                  ReadLimit limit = ReadLimit::high_watermark) const;
  // The same, copied into memory.
  ReadBytesResult read_bytes(int64_t offset, size_t max_bytes, bool min_one_batch = true,
                             ReadLimit limit = ReadLimit::high_watermark) const;

  // --- offsets --------------------------------------------------------------------------

  int64_t log_start_offset() const;
  int64_t log_end_offset() const;
  int64_t high_watermark() const;
  // Clamped to [log start, log end].
  void set_high_watermark(int64_t offset);
  int64_t recovery_point() const;
  uint64_t size_bytes() const;
  size_t segment_count() const;
  std::vector<int64_t> segment_base_offsets() const;
  // The damaged ranges known (see Segment::damaged_ranges) that hold offsets at or past the
  // log start, by offset; a range ending a segment gets the next segment's base (or the log
  // end) as its next offset. Moving the log start past one (DeleteRecords) forgets it.
  std::vector<DamagedRange> damaged_ranges() const;

  // ListOffsets by time: the first record with timestamp >= ts at or after the log start;
  // nullopt when there is none. The caller hides results at or past the high watermark.
  Result<std::optional<OffsetAndTimestamp>> offset_for_timestamp(int64_t timestamp) const;
  OffsetAndTimestamp earliest() const;  // {log start, -1}
  OffsetAndTimestamp latest() const;    // {high watermark, -1}
  // ListOffsets -3: the record with the largest timestamp (the first one to reach it);
  // nullopt for a log without timestamps.
  Result<std::optional<OffsetAndTimestamp>> max_timestamp_offset() const;
  // Dispatches ListOffsets' timestamp: -1, -2, -3, -4 or a time.
  Result<std::optional<OffsetAndTimestamp>> list_offset(int64_t timestamp) const;

  // --- maintenance ----------------------------------------------------------------------

  // DeleteRecords: moves the log start offset to `offset` (-1: the high watermark) and
  // deletes the segments wholly below it. OFFSET_OUT_OF_RANGE (offset_out_of_range) past the
  // high watermark. Returns the new log start offset.
  Result<int64_t> delete_records_before(int64_t offset);
  // Deletes the oldest segments whose largest timestamp is older than retention.ms, then
  // while the log is larger than retention.bytes, then those below the log start offset.
  // Never the active segment, nor one holding offsets at or past the high watermark.
  Result<RetentionResult> apply_retention(int64_t now_ms = -1);
  // Starts a new segment at the log end (nothing when the active segment is empty).
  StorageError roll(int64_t now_ms = -1);
  // fsyncs everything up to the log end, writes a producer state snapshot, and moves the
  // recovery point to the log end.
  StorageError flush(int64_t now_ms = -1);
  // Makes every offset below `offset` durable for flush.messages: fsyncs the log unless a
  // flush since (another producer's, say) covered it, which groups the fsyncs of concurrent
  // appends. Takes no producer snapshot (recovery replays the tail from the last one).
  StorageError flush_up_to(int64_t offset);
  // flush.ms has passed since the last flush.
  bool flush_due(int64_t now_ms) const;
  // fsyncs the segments rolled since the last flush (outside the lock, so appends go on) and
  // moves the recovery point to the active segment's base, as Kafka does after a roll: a
  // crash then rescans only the active segment. Returns whether the recovery point moved.
  Result<bool> flush_rolled_segments();
  // Removes every offset >= offset (a follower diverging from its leader).
  StorageError truncate_to(int64_t offset, int64_t now_ms = -1);
  size_t remove_expired_producers(int64_t now_ms);
  // The log cleaner's view of the segments (see log_cleaner.h).
  Result<CleanerView> cleaner_view() const;
  // Puts the cleaner's output, the files <base>.log.swap / .index.swap / .timeindex.swap, in
  // place of `replaced` (consecutive segments, the first at `base`). Fails with
  // `invalid_argument`, changing nothing, when the segments are no longer those the cleaner
  // read (retention or a truncation changed them meanwhile); the caller removes the swap files.
  StorageError swap_in_cleaned(int64_t base, std::span<const CleanerSegment> replaced);

  // Applies new settings (the next roll and retention use them).
  StorageError update_config(const LogConfig& config);

  // Flushes and closes the files. Later calls fail with `closed`. With SyncMode::by_caller
  // nothing is fsynced: the recovery point is the log end only once the caller has synced the
  // file system (sync_file_system), as the log manager's shutdown does.
  StorageError close(SyncMode mode = SyncMode::each_file);
  // Closes, renames the directory to <topic>-<partition>.<id>-delete and deletes it.
  StorageError remove();

  // --- inspection -----------------------------------------------------------------------

  const fs::path& dir() const { return dir_; }
  const TopicPartition& topic_partition() const { return tp_; }
  LogConfig config() const;
  const LoadSummary& load_summary() const { return load_summary_; }
  std::optional<ProducerStateEntry> producer_state(int64_t producer_id) const;
  size_t producer_count() const;
  std::vector<int64_t> snapshot_offsets() const;

 private:
  explicit PartitionLog(const PartitionLogOptions& options);

  // partition_log_load.cpp
  StorageError load(const PartitionLogOptions& options, int64_t now_ms);
  StorageError handle_leftover_files(std::vector<int64_t>& log_bases);
  StorageError rebuild_producer_state(int64_t now_ms);

  // partition_log_maintenance.cpp
  StorageError roll_locked(int64_t new_base, int64_t now_ms);
  StorageError flush_locked(int64_t now_ms, bool snapshot = true,
                            SyncMode mode = SyncMode::each_file);
  StorageError delete_segment_locked(std::map<int64_t, std::unique_ptr<Segment>>::iterator it);
  void move_log_start_locked(int64_t offset);

  Segment& active() const { return *segments_.rbegin()->second; }
  int64_t log_end_locked() const { return active().next_offset(); }
  // The segment holding offset (the last with base <= offset), or end().
  std::map<int64_t, std::unique_ptr<Segment>>::const_iterator segment_for(int64_t offset) const;
  StorageError check_open() const;

  mutable std::mutex mu_;
  fs::path dir_;
  TopicPartition tp_;
  LogConfig config_;
  bool hw_follows_log_end_;
  // Copies of two settings, read without the lock by the validation pass of append().
  std::atomic<int64_t> max_message_bytes_;
  std::atomic<int64_t> segment_bytes_;
  std::map<int64_t, std::unique_ptr<Segment>> segments_;
  ProducerStateManager producers_;
  int64_t log_start_offset_ = 0;
  int64_t high_watermark_ = 0;
  int64_t recovery_point_ = 0;
  int64_t unflushed_messages_ = 0;
  int64_t last_flush_ms_ = 0;
  bool dir_dirty_ = false;
  bool closed_ = false;
  LoadSummary load_summary_;
};

}  // namespace kfk::storage

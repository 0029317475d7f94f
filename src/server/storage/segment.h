// One segment of a partition log: <base offset>.log + .index + .timeindex.
//
// The .log file holds record batches (format v2) back to back, exactly as they were appended,
// with their offsets assigned: no header, no padding. A batch is `12 + batchLength` bytes (see
// core/record/record_batch.h for its layout); the first batch's baseOffset is >= the segment's
// base offset and each batch starts after the previous one's last offset. Positions in the
// file fit an int32, as the offset index stores them that way.
//
// A Segment is not thread-safe: its PartitionLog serialises the calls. Reads hand out slices
// that share the file descriptor, so they stay valid after the segment is closed or removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/storage/file_io.h"
#include "server/storage/log_scanner.h"
#include "server/storage/offset_index.h"
#include "server/storage/storage_error.h"
#include "server/storage/time_index.h"

namespace kfk::storage {

struct SegmentOptions {
  size_t index_max_bytes = size_t{10} << 20;  // segment.index.bytes
  uint32_t index_interval_bytes = 4096;       // index.interval.bytes
  int64_t roll_jitter_ms = 0;                 // this segment's share of segment.jitter.ms
  // Appended to every file name: the cleaner writes "<base>.log.cleaned" and its indexes.
  std::string name_suffix;
};

// A byte range of a .log file holding whole batches: what a fetch response sends with
// sendfile(2) (fd, position, length). Holding it keeps the file open.
struct FileSlice {
  std::shared_ptr<FileHandle> file;
  uint64_t position = 0;
  uint64_t length = 0;
  int64_t first_offset = -1;  // base offset of the first batch in the slice
  int64_t last_offset = -1;   // last offset of the last batch in the slice

  // Copies the bytes out (the non-zero-copy path).
  StorageError read_into(std::vector<uint8_t>& out) const;
};

struct SegmentRecovery {
  size_t batches = 0;                 // valid batches kept
  uint64_t bytes_truncated = 0;       // bytes of a torn tail dropped from the end
  std::string reason;                 // why the tail was dropped; empty when nothing was
  std::vector<DamagedRange> damaged;  // damage kept in place (valid batches follow it)
};

class Segment {
 public:
  // Creates the files of a new, empty segment, ready to be appended to (its indexes
  // preallocated). Files left with the same base offset are replaced.
  static Result<std::unique_ptr<Segment>> create(const fs::path& dir, int64_t base_offset,
                                                 const SegmentOptions& options, int64_t now_ms);
  // Opens the .log of an existing segment. Call load() to trust its indexes or recover() to
  // rebuild them from the log before using it.
  static Result<std::unique_ptr<Segment>> open(const fs::path& dir, int64_t base_offset,
                                               const SegmentOptions& options, int64_t now_ms);

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // --- loading --------------------------------------------------------------------------

  // Opens the indexes read-only, checks them (sanity_check) and finds the end of the log and
  // its largest timestamp by scanning only the batches after the last index entries. Fails
  // with not_found when an index file is missing and corrupt_* when one is damaged; the
  // caller then recovers the segment.
  StorageError load();
  // Reads every batch from the start, checking framing, CRC and offsets, and rebuilds both
  // indexes. Damaged bytes followed by a valid batch stay where they are, as damaged ranges
  // that reads step over; damage with no valid batch after it is a torn tail, cut off when
  // truncate_torn_tail (the active segment after the recovery point), else kept as a range.
  Result<SegmentRecovery> recover(bool truncate_torn_tail = true);
  // Sanity checks of the open indexes against the log.
  StorageError sanity_check() const;

  // Active: indexes preallocated and writable. Inactive: the final time index entry written
  // and both indexes trimmed to their entries.
  StorageError make_active();
  StorageError make_inactive();
  bool active() const { return active_; }

  // --- writing --------------------------------------------------------------------------

  // Appends validated batches whose offsets are assigned. `batches` describes each batch of
  // `bytes` with positions relative to the start of `bytes`. Either all bytes are written or
  // none (a failed write is cut back off).
  StorageError append(std::span<const uint8_t> bytes, std::span<const BatchInfo> batches);
  // fsync of the log and both indexes (none with SyncMode::by_caller).
  StorageError flush(SyncMode mode = SyncMode::each_file);
  // Removes the batches whose last offset is >= offset (a batch holding offset goes whole).
  // Returns the bytes removed.
  Result<uint64_t> truncate_to(int64_t offset);

  // --- reading --------------------------------------------------------------------------

  // The first batch whose last offset is >= offset and which starts before max_position;
  // nullopt when there is none.
  Result<std::optional<BatchInfo>> find_batch(int64_t offset, uint64_t max_position) const;
  // Whole batches from the batch holding `offset`, at most max_bytes (the first batch goes
  // anyway when min_one_batch), not past max_position. nullopt when no batch of this segment
  // holds offset or comes after it; an empty slice when the first batch does not fit.
  Result<std::optional<FileSlice>> read(int64_t offset, size_t max_bytes, bool min_one_batch,
                                        uint64_t max_position) const;
  // The whole batch described by info.
  Result<std::vector<uint8_t>> read_batch(const BatchInfo& info) const;
  // The first record with timestamp >= timestamp and offset >= starting_offset: its
  // timestamp and offset. nullopt when this segment has none.
  Result<std::optional<TimestampOffset>> find_offset_by_timestamp(int64_t timestamp,
                                                                  int64_t starting_offset) const;
  // The position of offset's batch, for bounding reads; size() when offset is past the end.
  Result<uint64_t> position_of(int64_t offset) const;
  // The damaged ranges known so far, by position: found by recover(), or by a read that ran
  // into bytes that are not a valid batch (the first batch of a read from a segment that was
  // not scanned is CRC-checked; headers met on the way are checked for framing). A read of an
  // offset inside one fails with corrupt_batch; reads around it work.
  const std::vector<DamagedRange>& damaged_ranges() const { return damaged_; }

  // --- lifecycle ------------------------------------------------------------------------

  // Writes the final time index entry and trims the indexes when active, then closes the
  // index files. The log descriptor stays open for slices already handed out.
  StorageError close(SyncMode mode = SyncMode::each_file);
  // Renames the files to <name>.deleted, then unlinks them.
  StorageError remove();

  // --- state ----------------------------------------------------------------------------

  int64_t base_offset() const { return base_offset_; }
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The offset after the last batch; the base offset when empty.
  int64_t next_offset() const { return next_offset_; }
  // The largest batch maxTimestamp and the last offset of the batch that first reached it;
  // -1 when there is none.
  int64_t max_timestamp() const { return max_timestamp_; }
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  // What retention compares: the largest timestamp, or the log file's mtime without one.
  int64_t largest_timestamp() const;
  // How long this segment has been filling, for segment.ms: by the timestamps of the first
  // batch and the incoming one when there is a first batch, else since it was created.
  int64_t time_waited_for_roll(int64_t now_ms, int64_t incoming_max_timestamp) const;
  int64_t roll_jitter_ms() const { return options_.roll_jitter_ms; }
  // The first batch's maxTimestamp (-1 when empty), read once.
  Result<int64_t> first_batch_timestamp() const;
  bool index_full() const { return offset_index_.full() || time_index_.full(); }
  bool has_unflushed_data() const { return unflushed_; }

  const std::shared_ptr<FileHandle>& log_file() const { return log_; }
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }
  fs::path log_path() const;

 private:
  Segment(const fs::path& dir, int64_t base_offset, const SegmentOptions& options, int64_t now_ms,
          std::shared_ptr<FileHandle> log, uint64_t size);

  // Updates the in-memory state and the indexes for a batch now in the log.
  void note_batch(const BatchInfo& info);
  // From the batches last appended (kept while the segment is active): the first with
  // last offset >= offset, when offset is in their range; the one starting at `position`.
  // nullptr when they do not tell, and the file must be read.
  const BatchInfo* recent_batch_for_offset(int64_t offset) const;
  const BatchInfo* recent_batch_at(uint64_t position) const;
  // Recomputes next offset and largest timestamp from the indexes plus a scan of the batches
  // after their last entries.
  StorageError load_tail_state();
  // The header of the batch at position, checked for framing.
  Result<BatchInfo> read_header(uint64_t position, uint64_t limit) const;
  // The damaged range starting at (or holding) position; nullptr when none does.
  const DamagedRange* damage_at(uint64_t position) const;
  // Records damage found by a read at `position` (a batch boundary): finds the next valid
  // batch and the offsets around it, logs it once, and returns the range.
  Result<DamagedRange> note_damage(uint64_t position, std::string reason,
                                   uint64_t framed_next) const;
  // What a read of an offset inside `range` fails with.
  StorageError damage_error(const DamagedRange& range) const;
  // The damaged ranges are kept in <base>.damaged, so that a restart that trusts this segment
  // (and so reads none of it) still knows them: written whenever they change (removed when
  // there are none), read by load(). A failure to write is logged: the damage is found again
  // by the first read that reaches it.
  fs::path damage_path() const;
  void save_damage() const;
  void load_damage();

  fs::path dir_;
  int64_t base_offset_;
  SegmentOptions options_;
  std::shared_ptr<FileHandle> log_;
  uint64_t size_ = 0;
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t offset_of_max_timestamp_ = -1;
  mutable int64_t first_batch_timestamp_ = -2;  // -2: not read yet
  int64_t created_ms_;
  uint64_t bytes_since_last_index_entry_ = 0;
  // The headers of the last kRecentBatches batches appended, in file order: consumers at the
  // tail of the log read these batches, and finding them costs no read of the file.
  static constexpr size_t kRecentBatches = 64;
  std::deque<BatchInfo> recent_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  // Found at recovery, or by reads (hence mutable: reads run under the log's lock).
  mutable std::vector<DamagedRange> damaged_;
  // Every batch was CRC-checked (recovered or written here); when not, the first batch of each
  // read from the file is.
  bool verified_ = false;
  bool active_ = false;
  bool unflushed_ = false;
  bool closed_ = false;
};

}  // namespace kfk::storage

// Idempotent producer state of one partition: per producer id, its epoch and the sequence
// numbers and offsets of its last five batches, checked before every append so that a
// retried batch is acknowledged with its original offsets instead of being written twice.
//
// The rules, as Kafka applies them to appends from clients:
//   - a batch whose epoch is lower than the producer's current epoch: INVALID_PRODUCER_EPOCH;
//   - a batch equal (epoch, first and last sequence) to one of the last five: a duplicate,
//     answered with that batch's offsets and not appended;
//   - a new epoch must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - within an epoch the first sequence must follow the last one (wrapping from INT32_MAX
//     to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - a producer id without state (new, expired, or whose batches were all deleted) is
//     accepted at any sequence, as Kafka does since KIP-360; `strict_new_producers` turns
//     that into OUT_OF_ORDER_SEQUENCE_NUMBER for a first sequence other than 0.
// Appends from the coordinator (origin coordinator) only get the epoch check; replicated
// appends are not checked.
//
// State is persisted in snapshot files (producer_snapshot.h) and otherwise rebuilt by
// replaying batch headers from the log.
//
// Not thread-safe: PartitionLog serialises the calls.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/protocol/errors.h"
#include "core/record/record_batch.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {

enum class AppendOrigin : uint8_t {
  client,       // a producer: every check, offsets assigned here
  coordinator,  // the broker's own writes (group offsets, transaction markers): epoch check
  replication,  // a follower copying the leader: offsets kept, no checks
};

// One appended batch of a producer.
struct BatchMetadata {
  int32_t first_seq = -1;
  int32_t last_seq = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t timestamp = -1;  // the batch's maxTimestamp
  bool operator==(const BatchMetadata&) const = default;
};

struct ProducerStateEntry {
  static constexpr size_t kBatchesToRetain = 5;

  int64_t producer_id = -1;
  int16_t epoch = record::kNoProducerEpoch;
  std::deque<BatchMetadata> batches;  // oldest first, at most kBatchesToRetain
  int64_t last_timestamp = -1;
  int32_t coordinator_epoch = -1;
  int64_t current_txn_first_offset = -1;  // -1: no transaction open

  int32_t last_seq() const {
    return batches.empty() ? record::kNoSequence : batches.back().last_seq;
  }
  int64_t last_offset() const { return batches.empty() ? -1 : batches.back().last_offset; }
  const BatchMetadata* find_duplicate(int16_t epoch, int32_t first_seq, int32_t last_seq) const;
  void add_batch(int16_t batch_epoch, const BatchMetadata& batch);
};

struct ProducerStateConfig {
  int64_t producer_id_expiration_ms = 86400000;  // producer.id.expiration.ms
  bool strict_new_producers = false;             // see the file comment
};

// The last sequence of a batch: base sequence + lastOffsetDelta, wrapping past INT32_MAX.
int32_t last_sequence(int32_t base_sequence, int32_t last_offset_delta);
// The first sequence of a batch from its last sequence and delta (the inverse).
int32_t first_sequence(int32_t last_sequence, int32_t offset_delta);

class ProducerStateManager;

// The producer side of one append: each batch is checked against the state as it would be
// after the batches before it, and the changes are kept aside until apply().
class ProducerAppend {
 public:
  struct Outcome {
    protocol::ErrorCode error = protocol::ErrorCode::none;
    std::string message;
    std::optional<BatchMetadata> duplicate;  // a retry of a batch already in the log
    bool ok() const { return error == protocol::ErrorCode::none; }
  };

  ProducerAppend(const ProducerStateManager& state, AppendOrigin origin)
      : state_(state), origin_(origin) {}

  // `batch` needs only its header; first_offset/last_offset are the offsets it gets.
  Outcome check_and_record(const record::BatchView& batch, int64_t first_offset,
                           int64_t last_offset);
  bool empty() const { return updated_.empty(); }

 private:
  friend class ProducerStateManager;
  const ProducerStateEntry* current(int64_t producer_id) const;

  const ProducerStateManager& state_;
  AppendOrigin origin_;
  std::unordered_map<int64_t, ProducerStateEntry> updated_;
};

class ProducerStateManager {
 public:
  ProducerStateManager(std::filesystem::path dir, ProducerStateConfig config);

  const ProducerStateConfig& config() const { return config_; }
  void set_config(const ProducerStateConfig& config) { config_ = config; }

  // --- appends ------------------------------------------------------------------------

  ProducerAppend begin_append(AppendOrigin origin) const { return ProducerAppend(*this, origin); }
  // Makes the changes of a written append the state; end_offset is the log end after it.
  void apply(ProducerAppend&& append, int64_t end_offset);
  // Replays one batch read from the log (recovery, truncation): no checks.
  void replay(const record::BatchView& header, int64_t end_offset);

  const ProducerStateEntry* entry(int64_t producer_id) const;
  size_t producer_count() const { return producers_.size(); }
  const std::unordered_map<int64_t, ProducerStateEntry>& producers() const { return producers_; }
  // The offset up to which the state reflects the log (the log end after the last apply).
  int64_t map_end_offset() const { return map_end_offset_; }

  // Forgets producers idle for producer.id.expiration.ms (none with an open transaction).
  size_t remove_expired_producers(int64_t now_ms);

  // --- snapshots ----------------------------------------------------------------------

  // Finds the snapshot files, drops those past log_end_offset or before log_start_offset,
  // and loads the newest readable one (a damaged one is deleted and the next tried),
  // skipping expired producers. Afterwards map_end_offset() is where replay must start:
  // the snapshot's offset, or log_start_offset without a snapshot.
  StorageError load(int64_t log_start_offset, int64_t log_end_offset, int64_t now_ms);
  // Writes <map_end_offset>.snapshot unless that snapshot already holds the current state.
  StorageError take_snapshot(bool durable = true);
  // Deletes the snapshots with offset < offset (segments deleted), or > offset (truncation).
  StorageError delete_snapshots_before(int64_t offset);
  StorageError delete_snapshots_after(int64_t offset);
  // Keeps the snapshots at segment base offsets plus the newest one.
  StorageError remove_stray_snapshots(const std::set<int64_t>& segment_base_offsets);
  // Drops all state and every snapshot; replay starts at offset.
  StorageError truncate_fully_and_start_at(int64_t offset);
  // Forgets the state and reloads it from the newest snapshot <= log_end_offset, for a
  // truncated log; the caller replays from map_end_offset().
  StorageError truncate_and_reload(int64_t log_start_offset, int64_t log_end_offset,
                                   int64_t now_ms);
  const std::set<int64_t>& snapshot_offsets() const { return snapshots_; }
  std::filesystem::path snapshot_path(int64_t offset) const;

 private:
  bool expired(const ProducerStateEntry& entry, int64_t now_ms) const;
  StorageError delete_snapshot(int64_t offset);

  std::filesystem::path dir_;
  ProducerStateConfig config_;
  std::unordered_map<int64_t, ProducerStateEntry> producers_;
  int64_t map_end_offset_ = 0;
  int64_t last_snapshot_offset_ = -1;  // the snapshot holding the current state, if any
  bool changed_since_snapshot_ = true;
  std::set<int64_t> snapshots_;
};

}  // namespace kfk::storage

#include "server/storage/producer_state.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/storage/file_io.h"
#include "server/storage/producer_snapshot.h"

namespace kfk::storage {

using protocol::ErrorCode;

int32_t last_sequence(int32_t base_sequence, int32_t last_offset_delta) {
  if (base_sequence < 0) return record::kNoSequence;
  if (base_sequence > INT32_MAX - last_offset_delta)
    return last_offset_delta - (INT32_MAX - base_sequence) - 1;
  return base_sequence + last_offset_delta;
}

int32_t first_sequence(int32_t last_seq, int32_t offset_delta) {
  if (last_seq < 0) return record::kNoSequence;
  if (last_seq < offset_delta) return INT32_MAX - (offset_delta - last_seq) + 1;
  return last_seq - offset_delta;
}

namespace {

bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return static_cast<int64_t>(next_seq) == static_cast<int64_t>(last_seq) + 1 ||
         (next_seq == 0 && last_seq == INT32_MAX);
}

}  // namespace

const BatchMetadata* ProducerStateEntry::find_duplicate(int16_t batch_epoch, int32_t first_seq,
                                                        int32_t last_seq) const {
  if (batch_epoch != epoch) return nullptr;
  for (const BatchMetadata& b : batches)
    if (b.first_seq == first_seq && b.last_seq == last_seq) return &b;
  return nullptr;
}

void ProducerStateEntry::add_batch(int16_t batch_epoch, const BatchMetadata& batch) {
  // Sequences restart with each epoch, so the old window means nothing any more.
  if (batch_epoch != epoch) {
    batches.clear();
    epoch = batch_epoch;
  }
  batches.push_back(batch);
  if (batches.size() > kBatchesToRetain) batches.pop_front();
  last_timestamp = batch.timestamp;
}

// --- ProducerAppend -------------------------------------------------------------------

const ProducerStateEntry* ProducerAppend::current(int64_t producer_id) const {
  if (auto it = updated_.find(producer_id); it != updated_.end()) return &it->second;
  return state_.entry(producer_id);
}

ProducerAppend::Outcome ProducerAppend::check_and_record(const record::BatchView& batch,
                                                         int64_t first_offset,
                                                         int64_t last_offset) {
  if (!batch.has_producer_id()) return {};
  int64_t pid = batch.producer_id();
  int16_t epoch = batch.producer_epoch();
  int32_t first_seq = batch.base_sequence();
  int32_t last_seq = last_sequence(first_seq, batch.last_offset_delta());
  const ProducerStateEntry* found = current(pid);
  ProducerStateEntry fresh;
  fresh.producer_id = pid;
  const ProducerStateEntry& cur = found ? *found : fresh;
  bool data = !batch.is_control();

  if (origin_ == AppendOrigin::client && data) {
    if (const BatchMetadata* dup = cur.find_duplicate(epoch, first_seq, last_seq))
      return {ErrorCode::none, {}, *dup};
  }
  if (origin_ != AppendOrigin::replication && epoch < cur.epoch)
    return {ErrorCode::invalid_producer_epoch,
            fmt::format("producer {} epoch {} is older than the current epoch {}", pid, epoch,
                        cur.epoch),
            std::nullopt};
  if (origin_ == AppendOrigin::client && data) {
    if (epoch != cur.epoch) {
      bool known = cur.epoch != record::kNoProducerEpoch;
      if (first_seq != 0 && (known || state_.config().strict_new_producers))
        return {
            ErrorCode::out_of_order_sequence_number,
            fmt::format("producer {} epoch {} starts at sequence {}, not 0", pid, epoch, first_seq),
            std::nullopt};
    } else if (!in_sequence(cur.last_seq(), first_seq)) {
      return {ErrorCode::out_of_order_sequence_number,
              fmt::format("producer {} epoch {}: sequence {} does not follow {}", pid, epoch,
                          first_seq, cur.last_seq()),
              std::nullopt};
    }
  }
  if (origin_ != AppendOrigin::replication && data && !batch.is_transactional() &&
      cur.current_txn_first_offset >= 0)
    return {ErrorCode::invalid_txn_state,
            fmt::format("producer {} wrote a non-transactional batch inside a transaction", pid),
            std::nullopt};

  ProducerStateEntry updated = cur;
  if (data) {
    updated.add_batch(epoch,
                      {first_seq, last_seq, first_offset, last_offset, batch.max_timestamp()});
    if (batch.is_transactional() && updated.current_txn_first_offset < 0)
      updated.current_txn_first_offset = first_offset;
  } else {
    // A transaction marker ends the producer's transaction. (The coordinator epoch it carries
    // is for the transaction work still to come.)
    if (epoch != updated.epoch) {
      updated.batches.clear();
      updated.epoch = epoch;
    }
    updated.current_txn_first_offset = -1;
    updated.last_timestamp = batch.max_timestamp();
  }
  updated_[pid] = std::move(updated);
  return {};
}

// --- ProducerStateManager ---------------------------------------------------------------

ProducerStateManager::ProducerStateManager(std::filesystem::path dir, ProducerStateConfig config)
    : dir_(std::move(dir)), config_(config) {}

const ProducerStateEntry* ProducerStateManager::entry(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

void ProducerStateManager::apply(ProducerAppend&& append, int64_t end_offset) {
  for (auto& [pid, e] : append.updated_) producers_[pid] = std::move(e);
  if (!append.updated_.empty()) changed_since_snapshot_ = true;
  append.updated_.clear();
  map_end_offset_ = end_offset;
}

void ProducerStateManager::replay(const record::BatchView& header, int64_t end_offset) {
  ProducerAppend append(*this, AppendOrigin::replication);
  (void)append.check_and_record(header, header.base_offset(), header.last_offset());
  apply(std::move(append), end_offset);
}

bool ProducerStateManager::expired(const ProducerStateEntry& e, int64_t now_ms) const {
  return e.current_txn_first_offset < 0 &&
         now_ms - e.last_timestamp >= config_.producer_id_expiration_ms;
}

size_t ProducerStateManager::remove_expired_producers(int64_t now_ms) {
  size_t removed =
      std::erase_if(producers_, [&](const auto& kv) { return expired(kv.second, now_ms); });
  if (removed > 0) changed_since_snapshot_ = true;
  return removed;
}

std::filesystem::path ProducerStateManager::snapshot_path(int64_t offset) const {
  return dir_ / offset_file_name(offset, kSnapshotSuffix);
}

StorageError ProducerStateManager::delete_snapshot(int64_t offset) {
  snapshots_.erase(offset);
  if (last_snapshot_offset_ == offset) last_snapshot_offset_ = -1;
  return remove_file(snapshot_path(offset));
}

StorageError ProducerStateManager::load(int64_t log_start_offset, int64_t log_end_offset,
                                        int64_t now_ms) {
  snapshots_.clear();
  auto entries = list_dir(dir_);
  if (!entries) return entries.error();
  for (const auto& de : *entries) {
    auto offset = parse_offset_file_name(de.path().filename().string(), kSnapshotSuffix);
    if (offset) snapshots_.insert(*offset);
  }
  for (int64_t offset : std::set<int64_t>(snapshots_)) {
    if (offset > log_end_offset || offset < log_start_offset) {
      if (auto e = delete_snapshot(offset); !e.ok()) return e;
    }
  }
  producers_.clear();
  while (!snapshots_.empty()) {
    int64_t offset = *snapshots_.rbegin();
    auto entries = read_producer_snapshot(snapshot_path(offset));
    if (entries) {
      for (ProducerStateEntry& e : *entries)
        if (!expired(e, now_ms)) producers_[e.producer_id] = std::move(e);
      map_end_offset_ = offset;
      last_snapshot_offset_ = offset;
      changed_since_snapshot_ = false;
      return {};
    }
    if (entries.error().kind == StorageErrorKind::io_error && entries.error().sys_errno != 0)
      return entries.error();
    spdlog::warn("ignoring producer state snapshot: {}", entries.error().message());
    if (auto e = delete_snapshot(offset); !e.ok()) return e;
  }
  map_end_offset_ = log_start_offset;
  last_snapshot_offset_ = -1;
  changed_since_snapshot_ = true;
  return {};
}

StorageError ProducerStateManager::take_snapshot(bool durable) {
  if (!changed_since_snapshot_ && last_snapshot_offset_ == map_end_offset_) return {};
  std::vector<ProducerStateEntry> entries;
  entries.reserve(producers_.size());
  for (const auto& [pid, e] : producers_) entries.push_back(e);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
  if (auto e = write_producer_snapshot(snapshot_path(map_end_offset_), entries, durable); !e.ok())
    return e;
  snapshots_.insert(map_end_offset_);
  last_snapshot_offset_ = map_end_offset_;
  changed_since_snapshot_ = false;
  return {};
}

StorageError ProducerStateManager::delete_snapshots_before(int64_t offset) {
  while (!snapshots_.empty() && *snapshots_.begin() < offset) {
    if (auto e = delete_snapshot(*snapshots_.begin()); !e.ok()) return e;
  }
  return {};
}

StorageError ProducerStateManager::delete_snapshots_after(int64_t offset) {
  while (!snapshots_.empty() && *snapshots_.rbegin() > offset) {
    if (auto e = delete_snapshot(*snapshots_.rbegin()); !e.ok()) return e;
  }
  return {};
}

StorageError ProducerStateManager::remove_stray_snapshots(
    const std::set<int64_t>& segment_base_offsets) {
  if (snapshots_.empty()) return {};
  int64_t newest = *snapshots_.rbegin();
  for (int64_t offset : std::set<int64_t>(snapshots_)) {
    if (offset != newest && !segment_base_offsets.contains(offset)) {
      if (auto e = delete_snapshot(offset); !e.ok()) return e;
    }
  }
  return {};
}

StorageError ProducerStateManager::truncate_fully_and_start_at(int64_t offset) {
  producers_.clear();
  while (!snapshots_.empty()) {
    if (auto e = delete_snapshot(*snapshots_.begin()); !e.ok()) return e;
  }
  map_end_offset_ = offset;
  last_snapshot_offset_ = -1;
  changed_since_snapshot_ = true;
  return {};
}

StorageError ProducerStateManager::truncate_and_reload(int64_t log_start_offset,
                                                       int64_t log_end_offset, int64_t now_ms) {
  if (auto e = delete_snapshots_after(log_end_offset); !e.ok()) return e;
  return load(log_start_offset, log_end_offset, now_ms);
}

}  // namespace kfk::storage

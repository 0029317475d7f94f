// The group coordinator and its store: which partitions of __consumer_offsets it serves
// (loading and unloading them as leadership moves) and how a write is appended under the
// lock, awaited without it, and applied in log order.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/group/group_coordinator.h"
#include "server/group/group_records.h"
#include "server/group/store_errors.h"
#include "server/storage/file_io.h"

namespace kfk::server::group {

using protocol::ErrorCode;

namespace {

std::chrono::milliseconds ms(int64_t v) { return std::chrono::milliseconds(v); }

}  // namespace

// --- loading and unloading ----------------------------------------------------------------

ErrorCode GroupCoordinator::load() {
  {
    Lock lock(mu_);
    if (!loader_.joinable()) loader_ = std::thread([this] { loader_loop(); });
  }
  // Reports the partitions led now at once: their loads are queued when this returns.
  store_.watch_leadership([this](const StoreLeadership& change) { on_leadership(change); });
  Lock lock(mu_);
  loads_changed_.wait(lock, [&] { return loads_.empty() || stopping_; });
  return load_error_;
}

void GroupCoordinator::on_leadership(const StoreLeadership& change) {
  // Called while the broker publishes a table: no disk reads here, the loader thread does
  // them. New partitions have nothing to read and are served at once, so a group's first
  // request after FindCoordinator created the topic does not meet LOAD_IN_PROGRESS.
  Lock lock(mu_);
  for (int32_t p : change.resigned) unload(p);
  for (const auto& led : change.led) {
    unload(led.partition);  // a new leadership: whatever the old one loaded is stale
    OwnedPartition& owned = owned_[led.partition];
    owned.load_id = ++next_load_id_;
    owned.loaded = !led.has_records;
    if (!owned.loaded) loads_.emplace_back(led.partition, owned.load_id);
  }
  loads_changed_.notify_all();
}

void GroupCoordinator::unload(int32_t partition) {
  auto it = owned_.find(partition);
  if (it == owned_.end()) return;
  auto writes = std::move(it->second.writes);
  owned_.erase(it);
  // Writes still awaited: their requests answer NOT_COORDINATOR (a client retries with the
  // new coordinator, which loads them from the log if they were committed).
  for (const auto& w : writes) finish(*w, ErrorCode::not_coordinator);
  const int32_t partitions = store_.partitions();
  size_t dropped = 0;
  for (auto g = groups_.begin(); g != groups_.end();) {
    if (partitions <= 0 || partition_for_group(g->first, partitions) != partition) {
      ++g;
      continue;
    }
    answer_waiting_members(*g->second, ErrorCode::not_coordinator);
    g = groups_.erase(g);
    ++dropped;
  }
  spdlog::info(
      "group coordinator: __consumer_offsets-{} is no longer led here ({} groups unloaded)",
      partition, dropped);
}

void GroupCoordinator::loader_loop() {
  Lock lock(mu_);
  for (;;) {
    loads_changed_.wait(lock, [&] { return stopping_ || !loads_.empty(); });
    if (stopping_) return;
    // Kept queued while it loads, so that load() waits for it.
    const auto [partition, load_id] = loads_.front();
    load_partition(partition, load_id, lock);
    loads_.pop_front();
    loads_changed_.notify_all();
  }
}

void GroupCoordinator::load_partition(int32_t partition, uint64_t load_id, Lock& lock) {
  // The records are read without the lock: the partition's groups are not served (they answer
  // LOAD_IN_PROGRESS), and nothing else waits for the disk.
  lock.unlock();
  const auto t0 = Clock::now();
  std::map<std::string, std::unique_ptr<Group>> loaded;
  auto group = [&](const std::string& id) -> Group& {
    auto& slot = loaded[id];
    if (!slot) {
      slot = std::make_unique<Group>();
      slot->group_id = id;
      slot->state_timestamp_ms = storage::wall_clock_ms();
    }
    return *slot;
  };
  size_t records = 0;
  auto visit = [&](std::optional<std::span<const uint8_t>> key,
                   std::optional<std::span<const uint8_t>> value) {
    std::string error;
    auto rec = parse_stored_record(key, value, error);
    if (!rec) {
      spdlog::warn("__consumer_offsets-{}: skipping a record: {}", partition, error);
      return;
    }
    ++records;
    if (rec->kind == StoredRecord::Kind::offset_commit) {
      if (rec->offset) {
        group(rec->group_id).offsets[rec->partition] = std::move(*rec->offset);
      } else if (auto g = loaded.find(rec->group_id); g != loaded.end()) {
        g->second->offsets.erase(rec->partition);
      }
      return;
    }
    if (rec->group_tombstone) {
      // The group was deleted; offsets committed after the tombstone come later.
      loaded.erase(rec->group_id);
      return;
    }
    Group& g = group(rec->group_id);
    auto offsets = std::move(g.offsets);
    g = std::move(rec->group);
    g.offsets = std::move(offsets);
  };
  const ErrorCode err = store_.read_all(partition, visit);
  lock.lock();
  auto owned = owned_.find(partition);
  // Unloaded (or led again, with a load of its own) while it was read.
  if (owned == owned_.end() || owned->second.load_id != load_id || stopping_) return;
  if (err != ErrorCode::none) {
    spdlog::error("group coordinator: cannot load __consumer_offsets-{}: {}", partition,
                  protocol::error_name(static_cast<int16_t>(err)));
    owned_.erase(owned);
    if (load_error_ == ErrorCode::none) load_error_ = err;
    return;
  }
  // Loaded members must heartbeat within their session timeout, or they are removed.
  const auto now = Clock::now();
  size_t count = 0;
  for (auto& [id, g] : loaded) {
    if (g->members.empty() && g->offsets.empty() && !g->protocol_type) continue;
    for (auto& [mid, m] : g->members) {
      m.heartbeat_deadline = now + ms(m.session_timeout_ms);
      schedule(*g, m.heartbeat_deadline);
    }
    groups_[id] = std::move(g);
    ++count;
  }
  owned->second.loaded = true;
  if (records > 0)
    spdlog::info(
        "group coordinator: loaded {} groups from {} records of __consumer_offsets-{} in {} ms",
        count, records, partition,
        std::chrono::duration_cast<std::chrono::milliseconds>(now - t0).count());
}

ErrorCode GroupCoordinator::coordinator_error(const std::string& group_id) const {
  const int32_t partitions = store_.partitions();
  if (partitions > 0) {
    auto it = owned_.find(partition_for_group(group_id, partitions));
    if (it != owned_.end())
      return it->second.loaded ? ErrorCode::none : ErrorCode::coordinator_load_in_progress;
  }
  return ErrorCode::not_coordinator;
}

// --- storage ----------------------------------------------------------------------------

ErrorCode GroupCoordinator::store_group(Group& g, std::function<void(ErrorCode)> apply) {
  std::vector<StoreRecord> records{
      {group_metadata_key(g.group_id), group_metadata_value(g, storage::wall_clock_ms())}};
  return member_error_for_store(write(g.group_id, records, [apply = std::move(apply)](ErrorCode e) {
    apply(member_error_for_store(e));
  }));
}

ErrorCode GroupCoordinator::write(const std::string& group_id,
                                  const std::vector<StoreRecord>& records,
                                  std::function<void(ErrorCode)> apply) {
  const int32_t partitions = store_.partitions();
  if (partitions <= 0) return ErrorCode::coordinator_not_available;
  const int32_t partition = partition_for_group(group_id, partitions);
  auto owned = owned_.find(partition);
  if (owned == owned_.end() || !owned->second.loaded) return ErrorCode::not_leader_or_follower;
  StoreAppend append = store_.append(partition, records, storage::wall_clock_ms());
  if (append.error != ErrorCode::none) return append.error;
  auto w = std::make_shared<PendingWrite>();
  w->append = std::move(append);
  w->apply = std::move(apply);
  owned->second.writes.push_back(w);
  unawaited_.push_back(std::move(w));
  return ErrorCode::none;
}

void GroupCoordinator::await_writes(Lock& lock) {
  // Applying a write may make more (a failed assignment starts a rebalance, which may store
  // an empty generation): those are awaited too.
  while (!unawaited_.empty()) {
    auto writes = std::exchange(unawaited_, {});
    lock.unlock();
    std::vector<ErrorCode> results;
    results.reserve(writes.size());
    for (const auto& w : writes) results.push_back(store_.await_commit(w->append));
    lock.lock();
    for (size_t i = 0; i < writes.size(); ++i) complete(*writes[i], results[i]);
    // A write applies after those appended before it, which other threads may still await.
    for (const auto& w : writes) write_finished_.wait(lock, [&] { return w->finished; });
  }
}

void GroupCoordinator::complete(PendingWrite& w, ErrorCode result) {
  if (w.finished) return;  // covered by a later commit, or dropped with its partition
  auto owned = owned_.find(w.append.partition);
  if (owned == owned_.end()) return finish(w, ErrorCode::not_coordinator);
  auto& writes = owned->second.writes;
  w.result = result;
  // A commit covers the writes appended before it.
  if (result == ErrorCode::none)
    for (const auto& before : writes) {
      if (before->append.end_offset > w.append.end_offset) break;
      if (!before->result) before->result = ErrorCode::none;
    }
  while (!writes.empty() && writes.front()->result) {
    auto next = std::move(writes.front());
    writes.pop_front();
    finish(*next, *next->result);
  }
}

void GroupCoordinator::finish(PendingWrite& w, ErrorCode result) {
  w.finished = true;
  if (auto apply = std::exchange(w.apply, nullptr)) apply(result);
  write_finished_.notify_all();
}

}  // namespace kfk::server::group

// The group coordinator for the classic group protocol (JoinGroup/SyncGroup/Heartbeat/
// LeaveGroup) and committed offsets, whatever the protocol type (consumer, connect, ...):
// it never looks inside assignments. Kafka's state machine:
//
//   Empty --join--> PreparingRebalance --all joined or rebalance timeout--> CompletingRebalance
//   CompletingRebalance --leader's SyncGroup--> Stable --join/leave/expiry--> PreparingRebalance
//   Empty with no offsets left --> Dead (removed)
//
// Every change of group membership or offsets is written to the group's partition of
// __consumer_offsets (CoordinatorStore) before it is answered. The coordinator serves the
// groups of the partitions this broker leads: load() starts following the store's leadership
// changes; a partition newly led is loaded (its records replayed by a loader thread), one no
// longer led is unloaded (its groups dropped). Requests for other groups answer
// NOT_COORDINATOR, for a loading partition COORDINATOR_LOAD_IN_PROGRESS.
//
// Thread-safety: one mutex over all groups (operations are short); a timer thread expires
// sessions, ends rebalances at their timeouts and expires offsets. A write is appended to the
// log under the mutex (so the log has the order of the state changes) and awaited without it
// (await_writes): an fsync, and with replication the wait for the high watermark, never holds
// up the other groups. Requests that wait (JoinGroup, SyncGroup) pass a callback, called
// exactly once, possibly from another thread and under the coordinator's lock: it must only
// hand the result over. A result that depends on a write is handed over once it is committed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "server/coordinator/coordinator_store.h"
#include "server/group/group.h"

namespace kfk::server::group {

struct CoordinatorConfig {
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
  int32_t initial_rebalance_delay_ms = 3000;
  int32_t max_group_size = INT32_MAX;
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t offset_metadata_max_bytes = 4096;
  // KIP-394: how long a member that joined during a rebalance may take to join again.
  int32_t new_member_join_timeout_ms = 300000;
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;
  std::string protocol_type;
  std::vector<std::pair<std::string, protocol::Bytes>> protocols;
  bool require_known_member_id = true;    // JoinGroup v4+
  bool supports_skip_assignment = false;  // JoinGroup v9+
};

struct SyncRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, protocol::Bytes>> assignments;
};

struct LeavingMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct CommitRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  // OffsetCommit v2-4's retention_time_ms: -1 keeps the broker's offsets.retention.minutes;
  // another value makes the offsets expire that long after the commit, as Kafka does.
  int64_t retention_time_ms = -1;
  struct Partition {
    TopicPartitionKey tp;
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::optional<std::string> metadata;
    // OffsetCommit v1's per-partition commit time; -1: the broker's clock, as in Kafka.
    int64_t commit_timestamp_ms = -1;
  };
  std::vector<Partition> partitions;
};

struct FetchedOffset {
  TopicPartitionKey tp;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  protocol::ErrorCode error = protocol::ErrorCode::none;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::empty;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  protocol::Bytes metadata;    // of the selected protocol, when Stable
  protocol::Bytes assignment;  // when Stable
};

struct GroupDescription {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string group_id;
  GroupState state = GroupState::dead;
  std::string protocol_type;
  std::string protocol_name;
  std::vector<MemberDescription> members;
  bool found = false;
};

class GroupCoordinator {
 public:
  GroupCoordinator(CoordinatorConfig config, CoordinatorStore& store);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Follows the store's leadership: loads the partitions this broker leads now, waits until
  // they are loaded (returns the first load's error), and from then on loads and unloads
  // partitions as leadership moves. Call before start().
  protocol::ErrorCode load();
  // Starts the timer thread.
  void start();
  // Stops following leadership, answers every waiting request with NOT_COORDINATOR and stops
  // the timer and loader threads.
  void shutdown();

  void join_group(JoinRequest request, JoinCallback done);
  void sync_group(SyncRequest request, SyncCallback done);
  protocol::ErrorCode heartbeat(const std::string& group_id, const std::string& member_id,
                                const std::optional<std::string>& group_instance_id,
                                int32_t generation_id);
  // One error per member, in order; `group_error` for requests that fail as a whole.
  std::vector<protocol::ErrorCode> leave_group(const std::string& group_id,
                                               const std::vector<LeavingMember>& members,
                                               protocol::ErrorCode& group_error);

  // One error per partition, in order.
  std::vector<protocol::ErrorCode> commit_offsets(const CommitRequest& request);
  // `topics` nullopt: every committed offset of the group. Returns the group-level error.
  protocol::ErrorCode fetch_offsets(
      const std::string& group_id,
      const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& topics,
      std::vector<FetchedOffset>& out);

  // `error`: COORDINATOR_LOAD_IN_PROGRESS while a partition is being loaded (its groups are
  // not listed yet), as Kafka answers ListGroups; else NONE.
  std::vector<GroupListing> list_groups(protocol::ErrorCode& error) const;
  GroupDescription describe_group(const std::string& group_id) const;
  protocol::ErrorCode delete_group(const std::string& group_id);
  // One error per partition, in order; returns the group-level error.
  protocol::ErrorCode delete_offsets(const std::string& group_id,
                                     const std::vector<TopicPartitionKey>& partitions,
                                     std::vector<protocol::ErrorCode>& errors);

  // Offsets expiry now (the timer thread runs it every offsets.retention.check.interval.ms).
  void expire_offsets(int64_t now_ms);

  size_t group_count() const;

 private:
  using Lock = std::unique_lock<std::mutex>;

  Group* find(const std::string& group_id);
  const Group* find(const std::string& group_id) const;
  Group& get_or_create(const std::string& group_id);
  void transition(Group& g, GroupState state);

  void join_new_member(Group& g, JoinRequest& req, JoinCallback& done);
  void join_static_member(Group& g, JoinRequest& req, JoinCallback& done);
  void join_known_member(Group& g, JoinRequest& req, JoinCallback& done);
  Member& add_member(Group& g, const JoinRequest& req, std::string member_id, JoinCallback done);
  void update_member(Group& g, Member& m, const JoinRequest& req, JoinCallback done);
  // Enters PreparingRebalance (unless already there), then completes the join if every
  // member has joined; every path that starts a rebalance goes through it.
  void prepare_rebalance(Group& g, const char* reason);
  void start_join_phase(Group& g, const char* reason);
  void try_complete_join(Group& g);
  void complete_join(Group& g);
  void remove_member(Group& g, const std::string& member_id, const char* reason);
  void remove_pending_sync_members(Group& g);
  void reset_awaiting_sync(Group& g, protocol::ErrorCode error);
  // Answers every JoinGroup and SyncGroup of the group still waiting with `error`.
  void answer_waiting_members(Group& g, protocol::ErrorCode error);
  JoinResult join_result(const Group& g, const Member& m, bool with_members) const;

  void touch(Group& g, Member& m);  // the member is alive: session timer restarts
  void schedule(const Group& g, Clock::time_point when);
  void check_deadlines(Group& g, Clock::time_point now);
  void timer_loop();
  void maybe_remove(const std::string& group_id);

  // A write appended to the log, waiting for its commit. `apply` runs under mu_ once the
  // write is committed (ErrorCode::none), failed, or dropped with its partition
  // (NOT_COORDINATOR), always after the writes appended before it to the same partition.
  struct PendingWrite {
    StoreAppend append;
    std::function<void(protocol::ErrorCode)> apply;
    std::optional<protocol::ErrorCode> result;  // known once awaited (or covered by a later one)
    bool finished = false;                      // apply has run
  };
  // A partition of the store this broker leads.
  struct OwnedPartition {
    bool loaded = false;  // false: its records are being replayed
    uint64_t load_id = 0;
    std::deque<std::shared_ptr<PendingWrite>> writes;  // in log order, not applied yet
  };

  // NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS when the group's partition is not served.
  protocol::ErrorCode coordinator_error(const std::string& group_id) const;
  void on_leadership(const StoreLeadership& change);
  void unload(int32_t partition);
  void loader_loop();
  void load_partition(int32_t partition, uint64_t load_id, Lock& lock);

  // Appends `records` to the group's partition; `apply` runs later (PendingWrite), before the
  // operation that made the write returns (await_writes). Returns the append's error, in
  // which case `apply` is never called.
  protocol::ErrorCode write(const std::string& group_id, const std::vector<StoreRecord>& records,
                            std::function<void(protocol::ErrorCode)> apply);
  // Writes the group's metadata record; `apply` gets errors as JoinGroup/SyncGroup report them.
  protocol::ErrorCode store_group(Group& g, std::function<void(protocol::ErrorCode)> apply);
  // Waits, without the lock, for the commit of the writes the operation made, then applies
  // them (and the writes their application made). Every operation that writes ends with it.
  void await_writes(Lock& lock);
  void complete(PendingWrite& w, protocol::ErrorCode result);
  void finish(PendingWrite& w, protocol::ErrorCode result);

  void join_group_locked(JoinRequest& req, JoinCallback& done);
  void sync_group_locked(SyncRequest& req, SyncCallback& done);

  CoordinatorConfig config_;
  CoordinatorStore& store_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  bool stopping_ = false;

  std::map<int32_t, OwnedPartition> owned_;
  uint64_t next_load_id_ = 0;
  std::deque<std::pair<int32_t, uint64_t>> loads_;  // (partition, load id), for loader_
  std::condition_variable loads_changed_;
  protocol::ErrorCode load_error_ = protocol::ErrorCode::none;
  std::thread loader_;
  // The writes of the operation in progress, which it awaits before returning.
  std::vector<std::shared_ptr<PendingWrite>> unawaited_;
  std::condition_variable write_finished_;

  struct Deadline {
    Clock::time_point when;
    std::string group_id;
    bool operator>(const Deadline& o) const { return when > o.when; }
  };
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::condition_variable timer_wake_;
  std::thread timer_;
};

}  // namespace kfk::server::group

// Membership of a classic consumer group, as the Java client's ConsumerCoordinator keeps it:
//
//   find the coordinator (FindCoordinator), JoinGroup (again with the member id the broker
//   hands out on MEMBER_ID_REQUIRED, KIP-394), and when this member is the leader, run the
//   assignor the group chose over every member's subscription; SyncGroup gives each member
//   its assignment. Then Heartbeat every heartbeat.interval.ms; REBALANCE_IN_PROGRESS asks
//   for a rejoin, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID mean the partitions are lost and
//   the member joins again from scratch. LeaveGroup on the way out (dynamic members only: a
//   static member, with group.instance.id, keeps its place for session.timeout.ms).
//
// Blocking and single-threaded: nothing happens unless the owner calls in. GroupConsumer
// calls heartbeat_if_due() between fetches. Group requests go over a connection of their
// own to the coordinator (Client::coordinator), so they never wait behind a fetch.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/assignor.h"
#include "core/client/group_offsets.h"

namespace kfk::client {

class Client;

struct GroupOptions {
  std::string group_id;
  std::optional<std::string> group_instance_id;
  std::chrono::milliseconds session_timeout{45'000};
  std::chrono::milliseconds heartbeat_interval{3'000};
  std::chrono::milliseconds rebalance_timeout{300'000};  // max.poll.interval.ms
  std::vector<AssignorKind> assignors{AssignorKind::range, AssignorKind::cooperative_sticky};
  std::optional<std::string> rack;  // client.rack, sent in the subscription
};

class GroupMembership {
 public:
  using Clock = std::chrono::steady_clock;

  GroupMembership(Client& client, GroupOptions options);
  ~GroupMembership();
  GroupMembership(const GroupMembership&) = delete;
  GroupMembership& operator=(const GroupMembership&) = delete;

  const GroupOptions& options() const;
  RebalanceProtocol protocol() const;  // from the offered assignors
  const std::string& member_id() const;
  int32_t generation() const;  // -1 outside a generation
  bool is_leader() const;
  const std::string& assignor() const;  // the protocol the group chose, once joined
  // What OffsetCommit sends: the generation and member id (-1 and "" outside a generation).
  CommitIdentity identity() const;

  // True until join() completes a generation, and again once a heartbeat, commit or sync
  // answer (or request_rejoin) says the group is rebalancing.
  bool needs_join() const;
  void request_rejoin(std::string_view reason);
  // True once after the member's generation was taken away (ILLEGAL_GENERATION,
  // UNKNOWN_MEMBER_ID): its partitions are lost, to be dropped without committing.
  bool take_lost();

  // JoinGroup and SyncGroup until a generation completes; returns this member's assignment.
  // `owned` goes into the subscription (what a cooperative member keeps while rejoining).
  // Throws ClientError for fatal errors (INCONSISTENT_GROUP_PROTOCOL, FENCED_INSTANCE_ID,
  // GROUP_AUTHORIZATION_FAILED, ...) and when the coordinator cannot be found in time.
  Assignment join(const std::vector<std::string>& topics, const std::vector<TopicPartition>& owned);
  // The leader's view of the partition counts it assigned from (empty unless leader).
  const PartitionCounts& assigned_counts() const;

  // Sends a Heartbeat when one is due, handling its answer (see needs_join(), take_lost()).
  void heartbeat_if_due();
  Clock::time_point next_heartbeat() const;

  // OffsetFetch of `partitions` (require_stable), retrying coordinator errors.
  OffsetFetchResult fetch_committed(const std::vector<TopicPartition>& partitions);
  // OffsetCommit with this member's identity, retrying coordinator errors; membership errors
  // are handled (rejoin or lost) and returned in the result.
  OffsetCommitResult commit(const std::map<TopicPartition, int64_t>& offsets);

  // LeaveGroup for a dynamic member in a generation; errors are only logged. Afterwards the
  // member is out of the group (a later join starts afresh).
  void leave(std::string_view reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfk::client

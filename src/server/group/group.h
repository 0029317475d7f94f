// A classic consumer group as the coordinator keeps it: members, the rebalance state, and
// the committed offsets. Plain data; GroupCoordinator holds the lock and the rules.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/protocol/errors.h"
#include "core/protocol/types.h"

namespace kfk::server::group {

using Clock = std::chrono::steady_clock;

enum class GroupState : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };

// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
std::string_view state_name(GroupState state);
std::optional<GroupState> parse_state(std::string_view name);  // case-insensitive

// ASCII case-insensitive equality (state and type filters).
bool equals_ignore_case(std::string_view a, std::string_view b);

// What a JoinGroup request gets, now or when the rebalance completes.
struct JoinResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    protocol::Bytes metadata;
  };
  std::vector<Member> members;   // the leader's only
  bool skip_assignment = false;  // KIP-814: the leader keeps the current assignment
};

struct SyncResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  protocol::Bytes assignment;
};

using JoinCallback = std::function<void(JoinResult)>;
using SyncCallback = std::function<void(SyncResult)>;

struct Member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, protocol::Bytes>>
      protocols;  // name -> metadata, by preference
  protocol::Bytes assignment;
  JoinCallback awaiting_join;  // a JoinGroup waiting for the rebalance to complete
  SyncCallback awaiting_sync;  // a SyncGroup waiting for the leader's assignment
  bool is_new = false;         // joined during the current rebalance (KIP-394 timeout)
  Clock::time_point new_member_deadline{};
  Clock::time_point heartbeat_deadline{};

  const protocol::Bytes* metadata_for(std::string_view protocol) const;
};

// A committed offset, as OffsetCommitValue holds it.
struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = -1;
  // From OffsetCommit v2-4's retention_time_ms (kept in offset commit value v1); -1: none.
  int64_t expire_timestamp_ms = -1;
};

struct TopicPartitionKey {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartitionKey&) const = default;
};

struct Group {
  std::string group_id;
  GroupState state = GroupState::empty;
  int64_t state_timestamp_ms = -1;  // when it last changed state (wall clock)
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  int32_t generation_id = 0;
  std::optional<std::string> leader_id;
  std::map<std::string, Member> members;                     // by member id
  std::map<std::string, std::string> static_members;         // instance id -> member id
  std::map<std::string, Clock::time_point> pending_members;  // KIP-394: id given, not joined yet
  std::map<TopicPartitionKey, CommittedOffset> offsets;
  // Commits appended to the log and not applied yet, by partition: expiry leaves those alone.
  std::map<TopicPartitionKey, int32_t> pending_offsets;
  // PreparingRebalance: when the join phase ends; CompletingRebalance: when the leader's
  // SyncGroup is due.
  Clock::time_point rebalance_deadline{};
  // Members the leader's assignment is awaited for (CompletingRebalance).
  std::set<std::string> pending_sync;
  bool new_member_added = false;  // during the current join phase
  // The initial delay of group.initial.rebalance.delay.ms (an Empty group's first join).
  bool initial_delay = false;
  int32_t initial_delay_remaining_ms = 0;

  bool has_member(const std::string& id) const { return members.count(id) > 0; }
  bool all_members_joined() const;
  int32_t max_rebalance_timeout_ms() const;
  // The protocol every member supports that most members prefer; nullopt when none is shared.
  std::optional<std::string> select_protocol() const;
  // Whether every member (or the group, when empty) supports one of `protocols` of `type`.
  bool supports_protocols(
      std::string_view type,
      const std::vector<std::pair<std::string, protocol::Bytes>>& protocols) const;
  // Topics the group's members subscribe to through the consumer protocol; nullopt when the
  // group does not use it (the broker cannot tell which topics it reads).
  std::optional<std::vector<std::string>> subscribed_topics() const;
};

// The topics of a consumer-protocol subscription (ConsumerProtocolSubscription, any version);
// nullopt when `metadata` is not one.
std::optional<std::set<std::string>> consumer_subscription_topics(const protocol::Bytes& metadata);

}  // namespace kfk::server::group

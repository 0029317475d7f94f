#include "core/client/group_membership.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "core/client/client.h"
#include "core/client/coordinator.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/heartbeat.h"
#include "core/protocol/messages/join_group.h"
#include "core/protocol/messages/leave_group.h"
#include "core/protocol/messages/sync_group.h"

namespace kfk::client {

using protocol::ErrorCode;
using Clock = GroupMembership::Clock;

namespace {

// The broker may hold a JoinGroup for the whole rebalance timeout; the Java client waits that
// long plus this much.
constexpr std::chrono::milliseconds kJoinTimeoutLapse{5'000};
// Fields that appear with these versions.
constexpr int16_t kFirstJoinWithInstanceId = 5;
constexpr int16_t kFirstJoinWithReason = 8;
constexpr int16_t kFirstSyncWithInstanceId = 3;
constexpr int16_t kFirstSyncWithProtocol = 5;
constexpr int16_t kFirstHeartbeatWithInstanceId = 3;
constexpr int16_t kFirstLeaveWithMembers = 3;
constexpr int16_t kFirstLeaveWithReason = 5;

bool is(int16_t code, ErrorCode e) { return code == protocol::to_int(e); }

[[noreturn]] void fatal(const std::string& group, std::string_view what, int16_t code) {
  throw ClientError(ClientErrorKind::kafka,
                    fmt::format("{} group '{}': {}", what, group, protocol::describe_error(code)),
                    code);
}

}  // namespace

struct GroupMembership::Impl {
  Impl(Client& c, GroupOptions o) : client(c), options(std::move(o)) {}

  Client& client;
  GroupOptions options;
  int32_t coordinator_node = -1;
  std::string member_id;
  int32_t generation = -1;
  std::string leader;
  std::string protocol_name;
  bool rejoin = true;
  bool lost = false;
  PartitionCounts counts;  // what the leader assigned from
  Clock::time_point next_heartbeat{};

  std::optional<std::string> instance_id(int16_t version, int16_t first) const {
    return version >= first ? options.group_instance_id : std::nullopt;
  }

  net::Connection& coordinator() {
    if (coordinator_node < 0) coordinator_node = find_coordinator(client, options.group_id);
    return client.coordinator(coordinator_node);
  }

  void coordinator_lost(std::string_view why) {
    spdlog::debug("group '{}': coordinator {} lost: {}", options.group_id, coordinator_node, why);
    coordinator_node = -1;
  }

  void reset_generation(bool forget_member_id, std::string_view why) {
    spdlog::info("group '{}': member {} leaves generation {}: {}", options.group_id, member_id,
                 generation, why);
    if (generation >= 0) lost = true;
    generation = -1;
    leader.clear();
    counts.clear();
    if (forget_member_id) member_id.clear();
    rejoin = true;
  }

  protocol::JoinGroupRequest join_request(int16_t version, const std::vector<std::string>& topics,
                                          const std::vector<TopicPartition>& owned) const {
    protocol::JoinGroupRequest request;
    request.group_id = options.group_id;
    request.session_timeout_ms = static_cast<int32_t>(options.session_timeout.count());
    request.rebalance_timeout_ms = static_cast<int32_t>(options.rebalance_timeout.count());
    request.member_id = member_id;
    request.group_instance_id = instance_id(version, kFirstJoinWithInstanceId);
    request.protocol_type = std::string(kConsumerProtocolType);
    if (version >= kFirstJoinWithReason) request.reason = "joining";
    for (AssignorKind kind : options.assignors) {
      Subscription s;
      s.topics = topics;
      s.owned_partitions = owned;
      s.generation = generation;
      s.rack = options.rack;
      if (kind == AssignorKind::cooperative_sticky) s.user_data = sticky_user_data(generation);
      auto& p = request.protocols.emplace_back();
      p.name = std::string(assignor_name(kind));
      p.metadata = encode_subscription(s);
    }
    return request;
  }

  // The leader's work: decode every subscription, look up the partitions of every subscribed
  // topic and run the chosen assignor.
  std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assign_as_leader(
      const protocol::JoinGroupResponse& joined) {
    const auto kind = assignor_by_name(protocol_name);
    if (!kind) {
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("group '{}' chose the assignor '{}', which this client does "
                                    "not have",
                                    options.group_id, protocol_name));
    }
    std::vector<MemberSubscription> members;
    std::set<std::string> topics;
    for (const auto& m : joined.members) {
      std::string error;
      auto s = decode_subscription(m.metadata, &error);
      if (!s) {
        throw ClientError(ClientErrorKind::protocol,
                          fmt::format("group '{}': member {} sent a subscription this client "
                                      "cannot read: {}",
                                      options.group_id, m.member_id, error));
      }
      topics.insert(s->topics.begin(), s->topics.end());
      members.push_back(MemberSubscription{m.member_id, m.group_instance_id, std::move(*s)});
    }
    counts.clear();
    for (const auto& topic : topics) {
      try {
        counts[topic] = client.topic(topic).partition_count();
      } catch (const ClientError& e) {
        // A topic that does not exist (yet) gets no members, as in the Java client.
        spdlog::warn("group '{}': not assigning topic '{}': {}", options.group_id, topic, e.what());
      }
    }
    const GroupAssignment assignment = assign(*kind, members, counts);
    std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> out;
    for (const auto& [member, partitions] : assignment) {
      auto& a = out.emplace_back();
      a.member_id = member;
      a.assignment = encode_assignment(Assignment{partitions, std::nullopt});
      spdlog::debug("group '{}': assigning {} partition(s) to {}", options.group_id,
                    partitions.size(), member);
    }
    return out;
  }

  // One JoinGroup. Returns the response when the member is in a new generation, nullopt when
  // the join has to be repeated (after the error was handled).
  std::optional<protocol::JoinGroupResponse> join_once(const std::vector<std::string>& topics,
                                                       const std::vector<TopicPartition>& owned,
                                                       int attempt) {
    net::Connection& conn = coordinator();
    const int16_t version = conn.require_version(protocol::JoinGroupRequest::api_key);
    const auto timeout =
        std::max(client.options().request_timeout, options.rebalance_timeout + kJoinTimeoutLapse);
    spdlog::debug("group '{}': JoinGroup v{} as '{}'", options.group_id, version, member_id);
    const auto response = net::call<protocol::JoinGroupResponse>(
        conn, join_request(version, topics, owned), version, timeout);
    const int16_t code = response.error_code;
    if (code == 0) return response;
    if (is(code, ErrorCode::member_id_required)) {
      // KIP-394: the broker hands out the member id first; join again with it at once.
      member_id = response.member_id;
      return std::nullopt;
    }
    if (is(code, ErrorCode::unknown_member_id)) {
      reset_generation(true, protocol::error_name(code));
    } else if (is(code, ErrorCode::illegal_generation)) {
      reset_generation(false, protocol::error_name(code));
    } else if (is_coordinator_error(code)) {
      coordinator_lost(protocol::error_name(code));
      client.backoff(attempt);
    } else if (is(code, ErrorCode::coordinator_load_in_progress) ||
               is(code, ErrorCode::rebalance_in_progress)) {
      client.backoff(attempt);
    } else {
      fatal(options.group_id, "joining", code);
    }
    return std::nullopt;
  }

  // One SyncGroup. The assignment, or nullopt when the whole join has to be repeated.
  std::optional<Assignment> sync_once(
      std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assignments) {
    net::Connection& conn = coordinator();
    const int16_t version = conn.require_version(protocol::SyncGroupRequest::api_key);
    protocol::SyncGroupRequest request;
    request.group_id = options.group_id;
    request.generation_id = generation;
    request.member_id = member_id;
    request.group_instance_id = instance_id(version, kFirstSyncWithInstanceId);
    if (version >= kFirstSyncWithProtocol) {
      request.protocol_type = std::string(kConsumerProtocolType);
      request.protocol_name = protocol_name;
    }
    request.assignments = std::move(assignments);
    const auto timeout =
        std::max(client.options().request_timeout, options.rebalance_timeout + kJoinTimeoutLapse);
    const auto response = net::call<protocol::SyncGroupResponse>(conn, request, version, timeout);
    const int16_t code = response.error_code;
    if (code == 0) {
      std::string error;
      auto assignment = decode_assignment(response.assignment, &error);
      if (!assignment) {
        throw ClientError(ClientErrorKind::protocol,
                          fmt::format("group '{}': the assignment from the leader cannot be "
                                      "read: {}",
                                      options.group_id, error));
      }
      return assignment;
    }
    if (is(code, ErrorCode::rebalance_in_progress)) {
      spdlog::debug("group '{}': rebalancing again during SyncGroup", options.group_id);
    } else if (is(code, ErrorCode::unknown_member_id)) {
      reset_generation(true, protocol::error_name(code));
    } else if (is(code, ErrorCode::illegal_generation)) {
      reset_generation(false, protocol::error_name(code));
    } else if (is_coordinator_error(code)) {
      coordinator_lost(protocol::error_name(code));
    } else {
      fatal(options.group_id, "syncing with", code);
    }
    return std::nullopt;
  }

  Assignment join(const std::vector<std::string>& topics,
                  const std::vector<TopicPartition>& owned) {
    for (int attempt = 0;; ++attempt) {
      try {
        auto joined = join_once(topics, owned, attempt);
        if (!joined) continue;
        generation = joined->generation_id;
        member_id = joined->member_id;
        leader = joined->leader;
        protocol_name = joined->protocol_name.value_or("");
        const bool leading = leader == member_id;
        spdlog::info("group '{}': joined generation {} as {}{} (assignor {})", options.group_id,
                     generation, member_id, leading ? ", the leader" : "", protocol_name);
        std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assignments;
        if (leading && !joined->skip_assignment) {
          assignments = assign_as_leader(*joined);
        } else if (!leading) {
          counts.clear();
        }
        auto assignment = sync_once(std::move(assignments));
        if (!assignment) {
          client.backoff(attempt);
          continue;
        }
        rejoin = false;
        next_heartbeat = Clock::now() + options.heartbeat_interval;
        return *assignment;
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol) {
          throw;
        }
        coordinator_lost(e.what());
        client.backoff(attempt);
      }
    }
  }

  void heartbeat() {
    next_heartbeat = Clock::now() + options.heartbeat_interval;
    int16_t code = 0;
    try {
      net::Connection& conn = coordinator();
      const int16_t version = conn.require_version(protocol::HeartbeatRequest::api_key);
      protocol::HeartbeatRequest request;
      request.group_id = options.group_id;
      request.generation_id = generation;
      request.member_id = member_id;
      request.group_instance_id = instance_id(version, kFirstHeartbeatWithInstanceId);
      code = net::call<protocol::HeartbeatResponse>(conn, request, version).error_code;
    } catch (const net::NetError& e) {
      if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol) {
        throw;
      }
      coordinator_lost(e.what());
      next_heartbeat = Clock::now() + client.backoff_for(0);
      return;
    } catch (const ClientError& e) {
      // The coordinator could not be found right now; try again soon.
      if (e.kind() != ClientErrorKind::timeout) throw;
      spdlog::warn("group '{}': {}", options.group_id, e.what());
      next_heartbeat = Clock::now() + client.backoff_for(0);
      return;
    }
    if (code == 0) return;
    spdlog::debug("group '{}': heartbeat answered {}", options.group_id,
                  protocol::error_name(code));
    if (is(code, ErrorCode::rebalance_in_progress)) {
      rejoin = true;
    } else if (is(code, ErrorCode::unknown_member_id)) {
      reset_generation(true, protocol::error_name(code));
    } else if (is(code, ErrorCode::illegal_generation)) {
      reset_generation(false, protocol::error_name(code));
    } else if (is_coordinator_error(code)) {
      coordinator_lost(protocol::error_name(code));
      next_heartbeat = Clock::now() + client.backoff_for(0);
    } else if (is(code, ErrorCode::coordinator_load_in_progress)) {
      next_heartbeat = Clock::now() + client.backoff_for(0);
    } else {
      fatal(options.group_id, "heartbeat in", code);
    }
  }

  // Runs a request against the coordinator, looking it up again after coordinator errors and
  // lost connections, until the api timeout. `attempt` returns the error code to judge.
  template <class Attempt>
  auto with_retries(Attempt&& attempt) {
    const auto deadline = Clock::now() + client.options().api_timeout;
    for (int n = 0;; ++n) {
      try {
        auto result = attempt(coordinator());
        const int16_t code = result.error;
        if (!is_coordinator_error(code) && !is(code, ErrorCode::coordinator_load_in_progress) &&
            !is(code, ErrorCode::request_timed_out)) {
          return result;
        }
        if (is_coordinator_error(code)) coordinator_lost(protocol::error_name(code));
        if (Clock::now() >= deadline) return result;
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol ||
            Clock::now() >= deadline) {
          throw;
        }
        coordinator_lost(e.what());
      }
      client.backoff(n);
    }
  }

  OffsetCommitResult commit(const std::map<TopicPartition, int64_t>& offsets) {
    const CommitIdentity who{generation, member_id, options.group_instance_id};
    auto result = with_retries([&](net::Connection& conn) {
      return commit_offsets(conn, options.group_id, who, offsets);
    });
    const int16_t code = result.error;
    if (is(code, ErrorCode::rebalance_in_progress)) {
      rejoin = true;
    } else if (is(code, ErrorCode::unknown_member_id)) {
      reset_generation(true, protocol::error_name(code));
    } else if (is(code, ErrorCode::illegal_generation)) {
      reset_generation(false, protocol::error_name(code));
    }
    return result;
  }

  void leave(std::string_view reason) {
    const bool dynamic = !options.group_instance_id.has_value();
    if (dynamic && !member_id.empty() && coordinator_node >= 0) {
      try {
        net::Connection& conn = client.coordinator(coordinator_node);
        const int16_t version = conn.require_version(protocol::LeaveGroupRequest::api_key);
        protocol::LeaveGroupRequest request;
        request.group_id = options.group_id;
        if (version >= kFirstLeaveWithMembers) {
          auto& m = request.members.emplace_back();
          m.member_id = member_id;
          if (version >= kFirstLeaveWithReason) m.reason = std::string(reason);
        } else {
          request.member_id = member_id;
        }
        const auto response = net::call<protocol::LeaveGroupResponse>(conn, request, version);
        int16_t code = response.error_code;
        for (const auto& m : response.members) {
          if (code == 0) code = m.error_code;
        }
        if (code != 0) {
          spdlog::info("group '{}': leaving: {}", options.group_id, protocol::error_name(code));
        } else {
          spdlog::info("group '{}': member {} left ({})", options.group_id, member_id, reason);
        }
      } catch (const std::exception& e) {
        spdlog::info("group '{}': leaving failed: {}", options.group_id, e.what());
      }
    }
    generation = -1;
    member_id.clear();
    leader.clear();
    counts.clear();
    rejoin = true;
  }
};

GroupMembership::GroupMembership(Client& client, GroupOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {}
GroupMembership::~GroupMembership() = default;

const GroupOptions& GroupMembership::options() const { return impl_->options; }
RebalanceProtocol GroupMembership::protocol() const {
  return rebalance_protocol(impl_->options.assignors);
}
const std::string& GroupMembership::member_id() const { return impl_->member_id; }
int32_t GroupMembership::generation() const { return impl_->generation; }
bool GroupMembership::is_leader() const {
  return impl_->generation >= 0 && !impl_->member_id.empty() && impl_->leader == impl_->member_id;
}
const std::string& GroupMembership::assignor() const { return impl_->protocol_name; }
CommitIdentity GroupMembership::identity() const {
  return CommitIdentity{impl_->generation, impl_->member_id, impl_->options.group_instance_id};
}

bool GroupMembership::needs_join() const { return impl_->rejoin; }
void GroupMembership::request_rejoin(std::string_view reason) {
  if (!impl_->rejoin) spdlog::debug("group '{}': rejoining: {}", impl_->options.group_id, reason);
  impl_->rejoin = true;
}
bool GroupMembership::take_lost() { return std::exchange(impl_->lost, false); }

Assignment GroupMembership::join(const std::vector<std::string>& topics,
                                 const std::vector<TopicPartition>& owned) {
  return impl_->join(topics, owned);
}
const PartitionCounts& GroupMembership::assigned_counts() const { return impl_->counts; }

void GroupMembership::heartbeat_if_due() {
  if (impl_->rejoin || impl_->generation < 0 || Clock::now() < impl_->next_heartbeat) return;
  impl_->heartbeat();
}
Clock::time_point GroupMembership::next_heartbeat() const { return impl_->next_heartbeat; }

OffsetFetchResult GroupMembership::fetch_committed(const std::vector<TopicPartition>& partitions) {
  return impl_->with_retries([&](net::Connection& conn) {
    return client::fetch_committed(conn, impl_->options.group_id, partitions, true);
  });
}

OffsetCommitResult GroupMembership::commit(const std::map<TopicPartition, int64_t>& offsets) {
  return impl_->commit(offsets);
}

void GroupMembership::leave(std::string_view reason) { impl_->leave(reason); }

}  // namespace kfk::client

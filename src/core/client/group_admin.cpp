#include "core/client/group_admin.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/client/client.h"
#include "core/client/consumer_protocol.h"
#include "core/client/coordinator.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/delete_groups.h"
#include "core/protocol/messages/describe_groups.h"
#include "core/protocol/messages/list_groups.h"
#include "core/protocol/messages/offset_delete.h"

namespace kfk::client {

namespace {

// ListGroups filters by state from v4 (KIP-518).
constexpr int16_t kFirstListGroupsWithStates = 4;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void throw_group_error(std::string_view what, const std::string& group, int16_t code) {
  throw ClientError(
      ClientErrorKind::kafka,
      fmt::format("{} of group '{}': {}", what, group, protocol::describe_error(code)), code);
}

}  // namespace

GroupAdmin::GroupAdmin(Client& client) : client_(client) {}

std::vector<GroupListing> GroupAdmin::list_groups(const std::vector<std::string>& states) {
  const auto metadata = client_.fetch_metadata(std::vector<std::string>{});
  std::map<std::string, GroupListing> found;
  for (const auto& [node, broker] : metadata.brokers) {
    net::Connection& conn = client_.broker(node);
    const int16_t version = conn.require_version(protocol::ListGroupsRequest::api_key);
    protocol::ListGroupsRequest request;
    if (version >= kFirstListGroupsWithStates) request.states_filter = states;
    // A broker still loading a partition of its groups answers COORDINATOR_LOAD_IN_PROGRESS
    // (with the groups it has loaded): ask it again until the api timeout.
    const auto deadline = std::chrono::steady_clock::now() + client_.options().api_timeout;
    auto response = net::call<protocol::ListGroupsResponse>(conn, request, version);
    for (int attempt = 0; response.error_code ==
                              protocol::to_int(protocol::ErrorCode::coordinator_load_in_progress) &&
                          std::chrono::steady_clock::now() < deadline;
         ++attempt) {
      client_.backoff(attempt);
      response = net::call<protocol::ListGroupsResponse>(conn, request, version);
    }
    if (response.error_code != 0) {
      throw ClientError(ClientErrorKind::kafka,
                        fmt::format("listing the groups of broker {}: {}", node,
                                    protocol::describe_error(response.error_code)),
                        response.error_code);
    }
    for (const auto& g : response.groups) {
      found[g.group_id] = GroupListing{g.group_id, g.protocol_type, g.group_state, g.group_type};
    }
  }
  std::vector<GroupListing> out;
  for (auto& entry : found) {
    GroupListing& listing = entry.second;
    // Brokers before v4 ignore the filter; apply it here when they tell the state at all.
    if (!states.empty() && !listing.state.empty() &&
        std::none_of(states.begin(), states.end(),
                     [&](const std::string& s) { return lower(s) == lower(listing.state); })) {
      continue;
    }
    out.push_back(std::move(listing));
  }
  return out;
}

std::vector<GroupDescription> GroupAdmin::describe_groups(const std::vector<std::string>& groups) {
  std::vector<GroupDescription> out;
  for (const auto& group : groups) {
    GroupDescription d;
    d.group_id = group;
    d.error = with_coordinator(client_, group, [&](net::Connection& conn) -> int16_t {
      const int16_t version = conn.require_version(protocol::DescribeGroupsRequest::api_key);
      protocol::DescribeGroupsRequest request;
      request.groups.push_back(group);
      const auto response = net::call<protocol::DescribeGroupsResponse>(conn, request, version);
      for (const auto& g : response.groups) {
        if (g.group_id != group) continue;
        d.state = g.group_state;
        d.protocol_type = g.protocol_type;
        d.protocol = g.protocol_data;
        d.members.clear();
        for (const auto& m : g.members) {
          GroupMemberDescription member;
          member.member_id = m.member_id;
          member.group_instance_id = m.group_instance_id;
          member.client_id = m.client_id;
          member.client_host = m.client_host;
          if (g.protocol_type == kConsumerProtocolType) {
            if (auto s = decode_subscription(m.member_metadata)) {
              member.subscribed_topics = std::move(s->topics);
            }
            if (auto a = decode_assignment(m.member_assignment)) {
              member.assignment = std::move(a->partitions);
            }
          }
          d.members.push_back(std::move(member));
        }
        return g.error_code;
      }
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("the DescribeGroups answer from {} left out group '{}'",
                                    conn.address(), group));
    });
    d.coordinator = find_coordinator(client_, group);
    out.push_back(std::move(d));
  }
  return out;
}

std::map<TopicPartition, CommittedOffset> GroupAdmin::committed_offsets(
    const std::string& group, const std::optional<std::vector<TopicPartition>>& partitions) {
  OffsetFetchResult result;
  const int16_t error = with_coordinator(client_, group, [&](net::Connection& conn) {
    result = fetch_committed(conn, group, partitions, false);
    return result.error;
  });
  if (error != 0) throw_group_error("fetching the committed offsets", group, error);
  return std::move(result.offsets);
}

OffsetCommitResult GroupAdmin::alter_offsets(const std::string& group,
                                             const std::map<TopicPartition, int64_t>& offsets) {
  OffsetCommitResult result;
  with_coordinator(client_, group, [&](net::Connection& conn) {
    result = commit_offsets(conn, group, CommitIdentity{}, offsets);
    return result.error;
  });
  return result;
}

std::vector<GroupResult> GroupAdmin::delete_groups(const std::vector<std::string>& groups) {
  std::vector<GroupResult> out;
  for (const auto& group : groups) {
    GroupResult r{group, 0};
    r.error = with_coordinator(client_, group, [&](net::Connection& conn) -> int16_t {
      const int16_t version = conn.require_version(protocol::DeleteGroupsRequest::api_key);
      protocol::DeleteGroupsRequest request;
      request.groups_names.push_back(group);
      const auto response = net::call<protocol::DeleteGroupsResponse>(conn, request, version);
      for (const auto& g : response.results) {
        if (g.group_id == group) return g.error_code;
      }
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("the DeleteGroups answer from {} left out group '{}'",
                                    conn.address(), group));
    });
    out.push_back(r);
  }
  return out;
}

OffsetDeleteResult GroupAdmin::delete_offsets(const std::string& group,
                                              const std::vector<TopicPartition>& partitions) {
  OffsetDeleteResult result;
  result.error = with_coordinator(client_, group, [&](net::Connection& conn) -> int16_t {
    const int16_t version = conn.require_version(protocol::OffsetDeleteRequest::api_key);
    protocol::OffsetDeleteRequest request;
    request.group_id = group;
    std::vector<TopicPartition> sorted = partitions;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& tp : sorted) {
      add_partition_entry(request.topics, tp);
    }
    const auto response = net::call<protocol::OffsetDeleteResponse>(conn, request, version);
    result.errors.clear();
    for (const auto& t : response.topics) {
      for (const auto& p : t.partitions) {
        result.errors[TopicPartition{t.name, p.partition_index}] = p.error_code;
      }
    }
    return response.error_code;
  });
  return result;
}

}  // namespace kfk::client

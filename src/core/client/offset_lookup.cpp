#include "core/client/offset_lookup.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>

#include "core/client/client.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/list_offsets.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;
using protocol::ErrorCode;

namespace {

std::string name_of(const TopicPartition& tp) {
  return fmt::format("{}-{}", tp.topic, tp.partition);
}

struct Flight {
  net::Connection* conn = nullptr;
  int32_t correlation = 0;
  int16_t version = 0;
  std::vector<TopicPartition> partitions;
};

int32_t leader_of(Client& client, const TopicPartition& tp) {
  const PartitionMetadata* p = client.topic(tp.topic).partition(tp.partition);
  return p != nullptr ? p->leader : -1;
}

}  // namespace

std::map<TopicPartition, int64_t> list_offsets(Client& client,
                                               const std::vector<TopicPartition>& tps,
                                               int64_t timestamp, int8_t isolation_level) {
  std::map<TopicPartition, int64_t> result;
  std::vector<TopicPartition> remaining = tps;
  const auto deadline = Clock::now() + client.options().api_timeout;
  for (int attempt = 0; !remaining.empty(); ++attempt) {
    std::map<int32_t, std::vector<TopicPartition>> by_leader;
    std::vector<TopicPartition> retry;
    int16_t last_error = 0;
    for (const auto& tp : remaining) {
      const int32_t leader = leader_of(client, tp);
      if (leader < 0) {
        retry.push_back(tp);
        last_error = protocol::to_int(ErrorCode::leader_not_available);
      } else {
        by_leader[leader].push_back(tp);
      }
    }
    std::vector<Flight> flights;
    for (auto& [leader, list] : by_leader) {
      Flight flight;
      try {
        flight.conn = &client.broker(leader);
        flight.version = flight.conn->require_version(protocol::ListOffsetsRequest::api_key);
        protocol::ListOffsetsRequest request;
        request.replica_id = -1;
        request.isolation_level = isolation_level;
        request.timeout_ms = static_cast<int32_t>(client.options().request_timeout.count());
        for (const auto& tp : list) {
          auto it = std::find_if(request.topics.begin(), request.topics.end(),
                                 [&](const auto& t) { return t.name == tp.topic; });
          if (it == request.topics.end()) {
            it = request.topics.emplace(request.topics.end());
            it->name = tp.topic;
          }
          auto& p = it->partitions.emplace_back();
          p.partition_index = tp.partition;
          p.timestamp = timestamp;
        }
        flight.correlation = net::send_request(*flight.conn, request, flight.version);
        flight.partitions = std::move(list);
        flights.push_back(std::move(flight));
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::unsupported) throw;
        if (flight.conn != nullptr) client.drop(*flight.conn);
        retry.insert(retry.end(), list.begin(), list.end());
        last_error = protocol::to_int(ErrorCode::network_exception);
      }
    }
    for (auto& flight : flights) {
      try {
        const auto response = net::wait_response<protocol::ListOffsetsResponse>(
            *flight.conn, flight.correlation, flight.version);
        for (const auto& tp : flight.partitions) {
          const auto* found = find_partition_result(response.topics, tp);
          if (found == nullptr) {
            throw ClientError(ClientErrorKind::protocol,
                              fmt::format("the ListOffsets answer from {} left out {}",
                                          flight.conn->address(), name_of(tp)));
          }
          if (found->error_code == 0) {
            result[tp] = found->offset;
          } else if (protocol::is_retriable(found->error_code)) {
            retry.push_back(tp);
            last_error = found->error_code;
            client.invalidate(tp.topic);
          } else {
            throw ClientError(ClientErrorKind::kafka,
                              fmt::format("listing offsets of {}: {}", name_of(tp),
                                          protocol::describe_error(found->error_code)),
                              found->error_code);
          }
        }
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::protocol) throw;
        client.drop(*flight.conn);
        retry.insert(retry.end(), flight.partitions.begin(), flight.partitions.end());
        last_error = protocol::to_int(ErrorCode::network_exception);
      }
    }
    remaining = std::move(retry);
    if (remaining.empty()) break;
    if (Clock::now() >= deadline) {
      throw ClientError(
          ClientErrorKind::timeout,
          fmt::format("listing offsets of {}: still failing after {} ms: {}",
                      name_of(remaining.front()), client.options().api_timeout.count(),
                      protocol::describe_error(last_error)),
          last_error);
    }
    client.backoff(attempt);
  }
  return result;
}

}  // namespace kfk::client

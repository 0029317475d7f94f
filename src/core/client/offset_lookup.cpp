#include "core/client/offset_lookup.h"

#include <fmt/core.h>

#include <algorithm>

#include "core/client/client.h"
#include "core/client/leader_rounds.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/list_offsets.h"

namespace kfk::client {

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

}  // namespace

std::map<TopicPartition, int64_t> list_offsets(Client& client,
                                               const std::vector<TopicPartition>& tps,
                                               int64_t timestamp, int8_t isolation_level) {
  std::map<TopicPartition, int64_t> result;
  PartitionValues wanted;
  for (const auto& tp : tps) wanted[tp] = timestamp;
  // A partition the metadata does not have yet waits for its leader like the others.
  retry_per_leader(
      client, std::move(wanted), "listing offsets of", nullptr,
      [&](PartitionsByLeader& by_leader, LeaderRoundRetry& retry) {
        const int16_t network_error = protocol::to_int(ErrorCode::network_exception);
        // Every request is sent before any answer is read.
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
            for (const auto& entry : list) {
              // Not a structured binding: the lambda below captures it.
              const TopicPartition& tp = entry.first;
              const int64_t ts = entry.second;
              auto it = std::find_if(request.topics.begin(), request.topics.end(),
                                     [&](const auto& t) { return t.name == tp.topic; });
              if (it == request.topics.end()) {
                it = request.topics.emplace(request.topics.end());
                it->name = tp.topic;
              }
              auto& p = it->partitions.emplace_back();
              p.partition_index = tp.partition;
              p.timestamp = ts;
            }
            flight.correlation = net::send_request(*flight.conn, request, flight.version);
            for (const auto& [tp, ts] : list) flight.partitions.push_back(tp);
            flights.push_back(std::move(flight));
          } catch (const net::NetError& e) {
            if (e.kind() == net::NetErrorKind::unsupported) throw;
            if (flight.conn != nullptr) client.drop(*flight.conn);
            for (const auto& [tp, ts] : list) retry.add(tp, ts, network_error);
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
                retry.add(tp, timestamp, found->error_code);
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
            for (const auto& tp : flight.partitions) retry.add(tp, timestamp, network_error);
          }
        }
      });
  return result;
}

}  // namespace kfk::client

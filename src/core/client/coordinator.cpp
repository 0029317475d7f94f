#include "core/client/coordinator.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/client/client.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/find_coordinator.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;
using protocol::ErrorCode;

namespace {

constexpr int8_t kGroupKeyType = 0;
// FindCoordinator takes a list of keys from v4 (KIP-699).
constexpr int16_t kFirstBatchedFindCoordinator = 4;

struct Answer {
  int16_t error = 0;
  std::string message;
  int32_t node_id = -1;
};

Answer ask(net::Connection& conn, const std::string& group) {
  const int16_t version = conn.require_version(protocol::FindCoordinatorRequest::api_key);
  protocol::FindCoordinatorRequest request;
  request.key_type = kGroupKeyType;
  if (version >= kFirstBatchedFindCoordinator) {
    request.coordinator_keys.push_back(group);
  } else {
    request.key = group;
  }
  const auto response = net::call<protocol::FindCoordinatorResponse>(conn, request, version);
  Answer answer;
  if (version >= kFirstBatchedFindCoordinator) {
    if (response.coordinators.empty()) {
      throw ClientError(
          ClientErrorKind::protocol,
          fmt::format("the FindCoordinator answer from {} names no coordinator", conn.address()));
    }
    const auto& c = response.coordinators.front();
    answer.error = c.error_code;
    answer.message = c.error_message.value_or("");
    answer.node_id = c.node_id;
  } else {
    answer.error = response.error_code;
    answer.message = response.error_message.value_or("");
    answer.node_id = response.node_id;
  }
  return answer;
}

}  // namespace

bool is_coordinator_error(int16_t code) {
  return code == protocol::to_int(ErrorCode::not_coordinator) ||
         code == protocol::to_int(ErrorCode::coordinator_not_available);
}

int32_t find_coordinator(Client& client, const std::string& group) {
  const auto deadline = Clock::now() + client.options().api_timeout;
  int16_t last_error = 0;
  for (int attempt = 0;; ++attempt) {
    net::Connection* conn = nullptr;
    try {
      conn = &client.any_broker();
      const Answer answer = ask(*conn, group);
      if (answer.error == 0) {
        spdlog::debug("group '{}': coordinator is broker {}", group, answer.node_id);
        return answer.node_id;
      }
      last_error = answer.error;
      if (!protocol::is_retriable(answer.error)) {
        throw ClientError(ClientErrorKind::kafka,
                          fmt::format("finding the coordinator of group '{}': {}", group,
                                      protocol::describe_error(answer.error)),
                          answer.error);
      }
    } catch (const net::NetError& e) {
      if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol) {
        throw;
      }
      if (conn != nullptr) client.drop(*conn);
      last_error = protocol::to_int(ErrorCode::network_exception);
    }
    if (Clock::now() >= deadline) {
      throw ClientError(ClientErrorKind::timeout,
                        fmt::format("finding the coordinator of group '{}': still failing after "
                                    "{} ms: {}",
                                    group, client.options().api_timeout.count(),
                                    protocol::describe_error(last_error)),
                        last_error);
    }
    client.backoff(attempt);
  }
}

int16_t with_coordinator(Client& client, const std::string& group,
                         const std::function<int16_t(net::Connection&)>& attempt) {
  const auto deadline = Clock::now() + client.options().api_timeout;
  int16_t last_error = 0;
  for (int n = 0;; ++n) {
    net::Connection* conn = nullptr;
    try {
      conn = &client.coordinator(find_coordinator(client, group));
      const int16_t error = attempt(*conn);
      if (!is_coordinator_error(error) &&
          error != protocol::to_int(ErrorCode::coordinator_load_in_progress)) {
        return error;
      }
      last_error = error;
      spdlog::debug("group '{}': {}, retrying", group, protocol::error_name(error));
    } catch (const net::NetError& e) {
      if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol) {
        throw;
      }
      spdlog::debug("group '{}': request to the coordinator failed: {}", group, e.what());
      if (conn != nullptr) client.drop(*conn);
      last_error = protocol::to_int(ErrorCode::network_exception);
    }
    if (Clock::now() >= deadline) {
      throw ClientError(
          ClientErrorKind::timeout,
          fmt::format("group '{}': the coordinator still failed after {} ms: {}", group,
                      client.options().api_timeout.count(), protocol::describe_error(last_error)),
          last_error);
    }
    client.backoff(n);
  }
}

}  // namespace kfk::client

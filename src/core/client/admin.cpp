#include "core/client/admin.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/client/client.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/alter_configs.h"
#include "core/protocol/messages/create_topics.h"
#include "core/protocol/messages/delete_topics.h"
#include "core/protocol/messages/describe_configs.h"
#include "core/protocol/messages/incremental_alter_configs.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;
using protocol::ErrorCode;

namespace {

constexpr int8_t kTopicResource = 2;  // DescribeConfigs / AlterConfigs resource type TOPIC
// CreateTopics accepts -1 partitions / replication factor (broker defaults) from v4.
constexpr int16_t kFirstCreateTopicsWithDefaults = 4;

bool retriable_admin_error(int16_t code) {
  return code == protocol::to_int(ErrorCode::not_controller) ||
         code == protocol::to_int(ErrorCode::request_timed_out) ||
         code == protocol::to_int(ErrorCode::coordinator_load_in_progress);
}

// Runs `attempt(conn)` against the controller, retrying NOT_CONTROLLER answers (reported by
// `attempt` returning true) and lost connections until the api timeout.
template <class Attempt>
void with_controller(Client& client, Attempt&& attempt) {
  const auto deadline = Clock::now() + client.options().api_timeout;
  for (int n = 0;; ++n) {
    net::Connection* conn = nullptr;
    try {
      conn = &client.controller();
      if (!attempt(*conn)) return;
    } catch (const net::NetError& e) {
      if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol ||
          Clock::now() >= deadline) {
        throw;
      }
      spdlog::debug("admin request failed, retrying: {}", e.what());
      if (conn != nullptr) client.drop(*conn);
    }
    if (Clock::now() >= deadline) {
      throw ClientError(ClientErrorKind::timeout, "the controller did not answer in time");
    }
    client.backoff(n);
    client.fetch_metadata(std::vector<std::string>{});
  }
}

}  // namespace

std::string_view to_string(ConfigSource source) {
  switch (source) {
    case ConfigSource::dynamic_topic:
      return "DYNAMIC_TOPIC_CONFIG";
    case ConfigSource::dynamic_broker:
      return "DYNAMIC_BROKER_CONFIG";
    case ConfigSource::dynamic_default_broker:
      return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case ConfigSource::static_broker:
      return "STATIC_BROKER_CONFIG";
    case ConfigSource::default_config:
      return "DEFAULT_CONFIG";
    case ConfigSource::dynamic_broker_logger:
      return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case ConfigSource::client_metrics:
      return "CLIENT_METRICS_CONFIG";
    case ConfigSource::group:
      return "GROUP_CONFIG";
    case ConfigSource::unknown:
      break;
  }
  return "UNKNOWN";
}

Admin::Admin(Client& client) : client_(client) {}

std::vector<TopicResult> Admin::create_topics(const std::vector<NewTopic>& topics,
                                              bool validate_only) {
  std::vector<TopicResult> results;
  with_controller(client_, [&](net::Connection& conn) {
    const int16_t version = conn.require_version(protocol::CreateTopicsRequest::api_key);
    protocol::CreateTopicsRequest request;
    request.timeout_ms = static_cast<int32_t>(client_.options().request_timeout.count());
    request.validate_only = validate_only;
    for (const auto& t : topics) {
      auto& ct = request.topics.emplace_back();
      ct.name = t.name;
      ct.num_partitions = t.partitions;
      ct.replication_factor = t.replication_factor;
      if (version < kFirstCreateTopicsWithDefaults) {
        // Old brokers need explicit numbers; 1 is what their defaults usually are.
        if (ct.num_partitions < 0) ct.num_partitions = 1;
        if (ct.replication_factor < 0) ct.replication_factor = 1;
      }
      for (const auto& [name, value] : t.configs) {
        auto& c = ct.configs.emplace_back();
        c.name = name;
        c.value = value;
      }
    }
    const auto response = net::call<protocol::CreateTopicsResponse>(conn, request, version);
    results.clear();
    bool retry = false;
    for (const auto& r : response.topics) {
      if (retriable_admin_error(r.error_code)) retry = true;
      results.push_back(TopicResult{r.name, r.error_code, r.error_message.value_or(""), r.topic_id,
                                    r.num_partitions, r.replication_factor});
    }
    return retry;
  });
  return results;
}

std::vector<TopicResult> Admin::delete_topics(const std::vector<std::string>& names) {
  std::vector<TopicResult> results;
  with_controller(client_, [&](net::Connection& conn) {
    const int16_t version = conn.require_version(protocol::DeleteTopicsRequest::api_key);
    protocol::DeleteTopicsRequest request;
    request.timeout_ms = static_cast<int32_t>(client_.options().request_timeout.count());
    for (const auto& name : names) {
      if (version >= 6) {
        request.topics.emplace_back().name = name;
      } else {
        request.topic_names.push_back(name);
      }
    }
    const auto response = net::call<protocol::DeleteTopicsResponse>(conn, request, version);
    results.clear();
    bool retry = false;
    for (const auto& r : response.responses) {
      if (retriable_admin_error(r.error_code)) retry = true;
      TopicResult result;
      result.name = r.name.value_or("");
      result.error = r.error_code;
      result.message = r.error_message.value_or("");
      result.id = r.topic_id;
      results.push_back(std::move(result));
    }
    return retry;
  });
  for (const auto& name : names) client_.invalidate(name);
  return results;
}

ClusterMetadata Admin::describe_topics(const std::vector<std::string>& names) {
  if (names.empty()) return client_.fetch_metadata(std::nullopt);
  return client_.fetch_metadata(names);
}

std::vector<ConfigEntry> Admin::describe_topic_configs(const std::string& topic) {
  net::Connection& conn = client_.any_broker();
  const int16_t version = conn.require_version(protocol::DescribeConfigsRequest::api_key);
  protocol::DescribeConfigsRequest request;
  auto& resource = request.resources.emplace_back();
  resource.resource_type = kTopicResource;
  resource.resource_name = topic;
  resource.configuration_keys.reset();  // every config
  const auto response = net::call<protocol::DescribeConfigsResponse>(conn, request, version);
  for (const auto& result : response.results) {
    if (result.resource_name != topic) continue;
    if (result.error_code != 0) {
      std::string message = fmt::format("describing configs of topic '{}': {}", topic,
                                        protocol::describe_error(result.error_code));
      if (result.error_message && !result.error_message->empty()) {
        message += " (" + *result.error_message + ")";
      }
      throw ClientError(ClientErrorKind::kafka, message, result.error_code);
    }
    std::vector<ConfigEntry> entries;
    for (const auto& c : result.configs) {
      ConfigEntry e;
      e.name = c.name;
      e.value = c.value;
      e.read_only = c.read_only;
      e.sensitive = c.is_sensitive;
      if (c.config_source >= 0 && c.config_source <= 8) {
        e.source = static_cast<ConfigSource>(c.config_source);
      } else {
        e.source = c.is_default ? ConfigSource::default_config : ConfigSource::unknown;
      }
      entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return entries;
  }
  throw ClientError(
      ClientErrorKind::protocol,
      fmt::format("the DescribeConfigs answer from {} left out topic '{}'", conn.address(), topic));
}

namespace {

template <class Response>
void check_alter_response(const Response& response, const std::string& topic) {
  for (const auto& r : response.responses) {
    if (r.error_code == 0) continue;
    std::string message = fmt::format("altering configs of topic '{}': {}", r.resource_name,
                                      protocol::describe_error(r.error_code));
    if (r.error_message && !r.error_message->empty()) message += " (" + *r.error_message + ")";
    throw ClientError(ClientErrorKind::kafka, message, r.error_code);
  }
  if (response.responses.empty()) {
    throw ClientError(ClientErrorKind::protocol,
                      fmt::format("the broker's answer left out topic '{}'", topic));
  }
}

}  // namespace

void Admin::alter_topic_configs(const std::string& topic, const std::vector<ConfigChange>& changes,
                                bool validate_only) {
  net::Connection& conn = client_.any_broker();
  const int16_t incremental = conn.version(protocol::IncrementalAlterConfigsRequest::api_key);
  if (incremental >= 0) {
    protocol::IncrementalAlterConfigsRequest request;
    request.validate_only = validate_only;
    auto& resource = request.resources.emplace_back();
    resource.resource_type = kTopicResource;
    resource.resource_name = topic;
    for (const auto& change : changes) {
      auto& c = resource.configs.emplace_back();
      c.name = change.name;
      c.config_operation = static_cast<int8_t>(change.op);
      if (change.op == ConfigChange::Op::set) {
        c.value = change.value;
      } else {
        c.value.reset();
      }
    }
    check_alter_response(
        net::call<protocol::IncrementalAlterConfigsResponse>(conn, request, incremental), topic);
    return;
  }
  // AlterConfigs replaces every override: start from the current ones.
  const int16_t version = conn.require_version(protocol::AlterConfigsRequest::api_key);
  std::map<std::string, std::string> overrides;
  for (const auto& e : describe_topic_configs(topic)) {
    if (e.source == ConfigSource::dynamic_topic && e.value) overrides[e.name] = *e.value;
  }
  for (const auto& change : changes) {
    if (change.op == ConfigChange::Op::set) {
      overrides[change.name] = change.value;
    } else {
      overrides.erase(change.name);
    }
  }
  protocol::AlterConfigsRequest request;
  request.validate_only = validate_only;
  auto& resource = request.resources.emplace_back();
  resource.resource_type = kTopicResource;
  resource.resource_name = topic;
  for (const auto& [name, value] : overrides) {
    auto& c = resource.configs.emplace_back();
    c.name = name;
    c.value = value;
  }
  check_alter_response(net::call<protocol::AlterConfigsResponse>(conn, request, version), topic);
}

}  // namespace kfk::client

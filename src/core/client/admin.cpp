#include "core/client/admin.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/client/client.h"
#include "core/client/leader_rounds.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/alter_configs.h"
#include "core/protocol/messages/create_partitions.h"
#include "core/protocol/messages/create_topics.h"
#include "core/protocol/messages/delete_records.h"
#include "core/protocol/messages/delete_topics.h"
#include "core/protocol/messages/describe_configs.h"
#include "core/protocol/messages/describe_log_dirs.h"
#include "core/protocol/messages/incremental_alter_configs.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;
using protocol::ErrorCode;

namespace {

constexpr int8_t kTopicResource = 2;   // DescribeConfigs / AlterConfigs resource type TOPIC
constexpr int8_t kBrokerResource = 4;  // BROKER
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

namespace {

// DescribeConfigs of one resource on `conn`; `what` names it in errors ("topic 'orders'").
std::vector<ConfigEntry> describe_configs(net::Connection& conn, int8_t type,
                                          const std::string& name, const std::string& what) {
  const int16_t version = conn.require_version(protocol::DescribeConfigsRequest::api_key);
  protocol::DescribeConfigsRequest request;
  auto& resource = request.resources.emplace_back();
  resource.resource_type = type;
  resource.resource_name = name;
  resource.configuration_keys.reset();  // every config
  const auto response = net::call<protocol::DescribeConfigsResponse>(conn, request, version);
  for (const auto& result : response.results) {
    if (result.resource_name != name) continue;
    if (result.error_code != 0) {
      std::string message = fmt::format("describing configs of {}: {}", what,
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
      fmt::format("the DescribeConfigs answer from {} left out {}", conn.address(), what));
}

}  // namespace

std::vector<ConfigEntry> Admin::describe_topic_configs(const std::string& topic) {
  return describe_configs(client_.any_broker(), kTopicResource, topic,
                          fmt::format("topic '{}'", topic));
}

// A broker's own configs are answered by that broker; the cluster-wide defaults by any.
std::vector<ConfigEntry> Admin::describe_broker_configs(int32_t broker_id) {
  if (broker_id < 0) {
    return describe_configs(client_.any_broker(), kBrokerResource, "",
                            "the cluster-wide broker defaults");
  }
  return describe_configs(client_.broker(broker_id), kBrokerResource, std::to_string(broker_id),
                          fmt::format("broker {}", broker_id));
}

namespace {

// The changes of one IncrementalAlterConfigs resource (a deletion carries no value).
template <class Resource>
void add_config_changes(Resource& resource, const std::vector<ConfigChange>& changes) {
  for (const auto& change : changes) {
    auto& c = resource.configs.emplace_back();
    c.name = change.name;
    c.config_operation = static_cast<int8_t>(change.op);
    if (change.op == ConfigChange::Op::set)
      c.value = change.value;
    else
      c.value.reset();
  }
}

}  // namespace

void Admin::alter_broker_configs(int32_t broker_id, const std::vector<ConfigChange>& changes,
                                 bool validate_only) {
  net::Connection& conn = broker_id < 0 ? client_.any_broker() : client_.broker(broker_id);
  const int16_t version = conn.require_version(protocol::IncrementalAlterConfigsRequest::api_key);
  protocol::IncrementalAlterConfigsRequest request;
  request.validate_only = validate_only;
  auto& resource = request.resources.emplace_back();
  resource.resource_type = kBrokerResource;
  resource.resource_name = broker_id < 0 ? std::string() : std::to_string(broker_id);
  add_config_changes(resource, changes);
  const auto response =
      net::call<protocol::IncrementalAlterConfigsResponse>(conn, request, version);
  const std::string what = broker_id < 0 ? std::string("the cluster-wide broker defaults")
                                         : fmt::format("broker {}", broker_id);
  for (const auto& r : response.responses) {
    if (r.error_code == 0) continue;
    std::string message =
        fmt::format("altering configs of {}: {}", what, protocol::describe_error(r.error_code));
    if (r.error_message && !r.error_message->empty()) message += " (" + *r.error_message + ")";
    throw ClientError(ClientErrorKind::kafka, message, r.error_code);
  }
  if (response.responses.empty()) {
    throw ClientError(ClientErrorKind::protocol,
                      fmt::format("the broker's answer left out {}", what));
  }
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
    add_config_changes(resource, changes);
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

std::vector<TopicResult> Admin::create_partitions(
    const std::vector<std::pair<std::string, int32_t>>& totals, bool validate_only) {
  std::vector<TopicResult> results;
  with_controller(client_, [&](net::Connection& conn) {
    const int16_t version = conn.require_version(protocol::CreatePartitionsRequest::api_key);
    protocol::CreatePartitionsRequest request;
    request.timeout_ms = static_cast<int32_t>(client_.options().request_timeout.count());
    request.validate_only = validate_only;
    for (const auto& [name, count] : totals) {
      auto& t = request.topics.emplace_back();
      t.name = name;
      t.count = count;
      t.assignments.reset();  // null: the broker places the new replicas
    }
    const auto response = net::call<protocol::CreatePartitionsResponse>(conn, request, version);
    results.clear();
    bool retry = false;
    for (const auto& r : response.results) {
      if (retriable_admin_error(r.error_code)) retry = true;
      TopicResult result;
      result.name = r.name;
      result.error = r.error_code;
      result.message = r.error_message.value_or("");
      results.push_back(std::move(result));
    }
    return retry;
  });
  for (const auto& [name, count] : totals) client_.invalidate(name);
  return results;
}

std::map<TopicPartition, DeleteRecordsResult> Admin::delete_records(
    const std::map<TopicPartition, int64_t>& offsets) {
  std::map<TopicPartition, DeleteRecordsResult> results;
  auto unknown = [&](const TopicPartition& tp) {
    results[tp] = {-1, protocol::to_int(ErrorCode::unknown_topic_or_partition)};
  };
  retry_per_leader(
      client_, offsets, "deleting records of", unknown,
      [&](PartitionsByLeader& by_leader, LeaderRoundRetry& retry) {
        for (const auto& [leader, list] : by_leader) {
          net::Connection* conn = nullptr;
          try {
            conn = &client_.broker(leader);
            const int16_t version = conn->require_version(protocol::DeleteRecordsRequest::api_key);
            protocol::DeleteRecordsRequest request;
            request.timeout_ms = static_cast<int32_t>(client_.options().request_timeout.count());
            for (const auto& [tp, offset] : list) {
              add_partition_entry(request.topics, tp).offset = offset;
            }
            const auto response =
                net::call<protocol::DeleteRecordsResponse>(*conn, request, version);
            for (const auto& [tp, offset] : list) {
              const auto* found = find_partition_result(response.topics, tp);
              if (found == nullptr) {
                throw ClientError(ClientErrorKind::protocol,
                                  fmt::format("the DeleteRecords answer from {} left out {}-{}",
                                              conn->address(), tp.topic, tp.partition));
              }
              const bool leader_moved =
                  found->error_code == protocol::to_int(ErrorCode::not_leader_or_follower) ||
                  found->error_code == protocol::to_int(ErrorCode::leader_not_available) ||
                  found->error_code == protocol::to_int(ErrorCode::request_timed_out);
              if (leader_moved) {
                retry.add(tp, offset, found->error_code);
                client_.invalidate(tp.topic);
              } else {
                results[tp] = {found->low_watermark, found->error_code};
              }
            }
          } catch (const net::NetError& e) {
            if (e.kind() == net::NetErrorKind::unsupported ||
                e.kind() == net::NetErrorKind::protocol) {
              throw;
            }
            spdlog::debug("DeleteRecords to broker {} failed, retrying: {}", leader, e.what());
            if (conn != nullptr) client_.drop(*conn);
            for (const auto& [tp, offset] : list)
              retry.add(tp, offset, protocol::to_int(ErrorCode::network_exception));
          }
        }
      });
  return results;
}

std::vector<ReplicaLogInfo> Admin::describe_log_dirs(
    const std::vector<TopicPartition>& partitions) {
  protocol::DescribeLogDirsRequest request;
  auto& topics = request.topics.emplace();
  for (const auto& tp : partitions) {
    if (topics.empty() || topics.back().topic != tp.topic) topics.emplace_back().topic = tp.topic;
    topics.back().partitions.push_back(tp.partition);
  }
  if (client_.cached_metadata().brokers.empty()) client_.fetch_metadata(std::vector<std::string>{});
  std::vector<int32_t> brokers;
  for (const auto& [id, broker] : client_.cached_metadata().brokers) brokers.push_back(id);

  std::vector<ReplicaLogInfo> replicas;
  for (int32_t id : brokers) {
    net::Connection& conn = client_.broker(id);
    const int16_t version = conn.require_version(protocol::DescribeLogDirsRequest::api_key);
    const auto response = net::call<protocol::DescribeLogDirsResponse>(conn, request, version);
    if (response.error_code != 0) {
      throw ClientError(ClientErrorKind::kafka,
                        fmt::format("describing the log dirs of broker {}: {}", id,
                                    protocol::describe_error(response.error_code)),
                        response.error_code);
    }
    for (const auto& dir : response.results) {
      if (dir.error_code != 0) {
        spdlog::warn("broker {} log dir {}: {}", id, dir.log_dir,
                     protocol::describe_error(dir.error_code));
        continue;
      }
      for (const auto& t : dir.topics) {
        for (const auto& p : t.partitions) {
          auto& r = replicas.emplace_back();
          r.broker = id;
          r.log_dir = dir.log_dir;
          r.partition = TopicPartition{t.name, p.partition_index};
          r.size_bytes = p.partition_size;
          r.offset_lag = p.offset_lag;
          r.future = p.is_future_key;
          for (const auto& d : p.damaged_ranges)
            r.damaged.push_back({d.segment_base_offset, d.start_position, d.end_position,
                                 d.first_offset, d.next_offset, d.reason});
          if (p.cleaner_dirty_ratio >= 0) {
            r.cleaner =
                ReplicaLogInfo::Cleaner{p.cleaner_dirty_ratio,        p.cleaner_first_dirty_offset,
                                        p.cleaner_last_cleaning_ms,   p.cleaner_last_bytes_read,
                                        p.cleaner_last_bytes_written, p.cleaner_last_duration_ms};
          }
        }
      }
    }
  }
  return replicas;
}

}  // namespace kfk::client

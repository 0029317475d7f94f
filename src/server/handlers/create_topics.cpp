#include "server/handlers/create_topics.h"

#include <set>

#include "core/config/topic_config.h"
#include "server/broker.h"
#include "server/cluster/controller_client.h"
#include "server/cluster/image_apply.h"

namespace kfk::server {

using protocol::ErrorCode;

namespace {

// v5+ answers a created topic with its effective configuration.
std::vector<protocol::CreateTopicsResponse::CreatableTopicConfigs> topic_configs(
    const config::BrokerLayers& layers, const TopicState& topic) {
  std::vector<protocol::CreateTopicsResponse::CreatableTopicConfigs> out;
  for (const auto& entry : config::describe_topic_config(layers, topic.configs)) {
    auto& c = out.emplace_back();
    c.name = entry.name;
    c.value = entry.sensitive ? std::nullopt : entry.value;
    c.read_only = entry.read_only;
    c.config_source = static_cast<int8_t>(entry.source);
    c.is_sensitive = entry.sensitive;
  }
  return out;
}

}  // namespace

asio::awaitable<void> CreateTopicsHandler::handle(RequestContext& ctx, const Request& req,
                                                  Response& resp) {
  resp.throttle_time_ms = 0;
  std::multiset<std::string> names;
  for (const auto& t : req.topics) names.insert(t.name);
  ControllerClient& controller = ctx.broker.controller();
  for (const auto& t : req.topics) {
    auto& out = resp.topics.emplace_back();
    out.name = t.name;
    if (names.count(t.name) > 1) {
      out.error_code = static_cast<int16_t>(ErrorCode::invalid_request);
      out.error_message =
          "Create topics request from client is not allowed to have duplicate "
          "topic names: " +
          t.name;
      continue;
    }
    NewTopic topic;
    topic.name = t.name;
    topic.num_partitions = t.num_partitions;
    topic.replication_factor = t.replication_factor;
    bool duplicate_partition = false;
    for (const auto& a : t.assignments)
      if (!topic.assignments.emplace(a.partition_index, a.broker_ids).second)
        duplicate_partition = true;
    for (const auto& c : t.configs) topic.configs.emplace_back(c.name, c.value);
    if (duplicate_partition) {
      out.error_code = static_cast<int16_t>(ErrorCode::invalid_replica_assignment);
      out.error_message = "A partition appears more than once in the replica assignment.";
      continue;
    }
    const CreatedTopic created = co_await controller.create_topic(topic, req.validate_only);
    out.error_code = static_cast<int16_t>(created.result.error);
    if (!created.result.ok()) {
      out.error_message = created.result.message;
      continue;
    }
    out.topic_id = created.topic_id;
    out.num_partitions = created.num_partitions;
    out.replication_factor = created.replication_factor;
    if (ctx.version() >= 5) {
      const auto image = ctx.broker.metadata();
      TopicState shown;
      shown.name = t.name;
      for (const auto& [name, value] : topic.configs)
        if (value) shown.configs[name] = *value;
      out.configs = topic_configs(broker_layers(*image, ctx.broker.config()), shown);
    }
  }
  co_return;
}

}  // namespace kfk::server

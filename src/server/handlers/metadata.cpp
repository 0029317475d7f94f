#include "server/handlers/metadata.h"

#include "core/protocol/errors.h"
#include "server/broker.h"
#include "server/cluster/acl_operations.h"
#include "server/partition/partition.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;

void describe_topic(const TopicState& topic, bool with_operations,
                    protocol::MetadataResponse::MetadataResponseTopic& out) {
  out.error_code = 0;
  out.name = topic.name;
  out.topic_id = topic.id;
  out.is_internal = topic.internal;
  for (const auto& p : topic.partitions) {
    auto& part = out.partitions.emplace_back();
    part.error_code = 0;
    part.partition_index = p.partition;
    part.leader_id = p.leader;
    part.leader_epoch = p.leader_epoch;
    part.replica_nodes = p.replicas;
    part.isr_nodes = p.isr;
  }
  if (with_operations) out.topic_authorized_operations = kTopicOperations;
}

void unknown_topic(protocol::MetadataResponse::MetadataResponseTopic& out,
                   std::optional<std::string> name, const protocol::Uuid& id, ErrorCode code) {
  out.error_code = static_cast<int16_t>(code);
  out.name = std::move(name);
  out.topic_id = id;
}

}  // namespace

asio::awaitable<void> MetadataHandler::handle(RequestContext& ctx, const Request& req,
                                              Response& resp) {
  // The table indexes topics by id; its image answers the rest.
  const auto table = ctx.broker.partitions();
  const MetadataImage* image = &table->image();
  resp.throttle_time_ms = 0;
  for (const auto& b : image->brokers) {
    if (b.listener != ctx.connection.listener) continue;
    auto& broker = resp.brokers.emplace_back();
    broker.node_id = b.node_id;
    broker.host = b.host;
    broker.port = b.port;
    broker.rack = b.rack;
  }
  resp.cluster_id = image->cluster_id;
  resp.controller_id = image->controller_id;
  if (req.include_cluster_authorized_operations)
    resp.cluster_authorized_operations = kClusterOperations;
  const bool with_ops = req.include_topic_authorized_operations;

  // A null list asks for every topic; so does an empty one in version 0.
  const bool all_topics = !req.topics.has_value() || (ctx.version() == 0 && req.topics->empty());
  if (all_topics) {
    for (const auto& [name, topic] : image->topics)
      describe_topic(*topic, with_ops, resp.topics.emplace_back());
    co_return;
  }
  // Topics named in the request; auto-creation and by-id lookups (v10+) are resolved here.
  const bool may_create = ctx.version() < 4 || req.allow_auto_topic_creation;
  for (const auto& wanted : *req.topics) {
    auto& out = resp.topics.emplace_back();
    if (wanted.name && !wanted.name->empty()) {
      if (const TopicState* topic = image->find_topic(*wanted.name)) {
        describe_topic(*topic, with_ops, out);
        continue;
      }
      ErrorCode code = ErrorCode::unknown_topic_or_partition;
      if (may_create) code = co_await ctx.broker.auto_create_topic(*wanted.name);
      const auto refreshed = ctx.broker.metadata();
      if (const TopicState* topic = refreshed->find_topic(*wanted.name);
          topic != nullptr && code == ErrorCode::none) {
        describe_topic(*topic, with_ops, out);
      } else {
        unknown_topic(out, wanted.name, protocol::Uuid{},
                      code == ErrorCode::none ? ErrorCode::leader_not_available : code);
      }
    } else if (const TopicState* topic = table->topic(wanted.topic_id);
               topic && !wanted.topic_id.is_zero()) {
      describe_topic(*topic, with_ops, out);
    } else {
      unknown_topic(out, std::nullopt, wanted.topic_id, ErrorCode::unknown_topic_id);
    }
  }
}

}  // namespace kfk::server

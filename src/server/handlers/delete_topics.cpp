#include "server/handlers/delete_topics.h"

#include "server/broker.h"
#include "server/cluster/controller_client.h"
#include "server/partition/partition.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<void> DeleteTopicsHandler::handle(RequestContext& ctx, const Request& req,
                                                  Response& resp) {
  resp.throttle_time_ms = 0;
  ControllerClient& controller = ctx.broker.controller();
  auto remove =
      [&](const std::string& name,
          protocol::DeleteTopicsResponse::DeletableTopicResult& out) -> asio::awaitable<void> {
    const auto result = co_await controller.delete_topic(name);
    out.error_code = static_cast<int16_t>(result.error);
    if (!result.ok()) out.error_message = result.message;
  };
  if (ctx.version() < 6) {
    for (const auto& name : req.topic_names) {
      auto& out = resp.responses.emplace_back();
      out.name = name;
      co_await remove(name, out);
    }
    co_return;
  }
  // v6 names each topic by name or by id (not both).
  for (const auto& t : req.topics) {
    auto& out = resp.responses.emplace_back();
    out.name = t.name;
    out.topic_id = t.topic_id;
    const bool by_name = t.name.has_value();
    const bool by_id = !t.topic_id.is_zero();
    if (by_name == by_id) {
      out.error_code = static_cast<int16_t>(ErrorCode::invalid_request);
      out.error_message = "Each topic must be named either by name or by id.";
      continue;
    }
    if (by_id) {
      const auto table = ctx.broker.partitions();
      const TopicState* topic = table->topic(t.topic_id);
      if (topic == nullptr) {
        out.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_id);
        out.error_message = "This server does not host a topic with id " + t.topic_id.to_string();
        continue;
      }
      out.name = topic->name;
      co_await remove(topic->name, out);
    } else {
      const auto image = ctx.broker.metadata();
      if (const TopicState* topic = image->find_topic(*t.name)) out.topic_id = topic->id;
      co_await remove(*t.name, out);
    }
  }
  co_return;
}

}  // namespace kfk::server

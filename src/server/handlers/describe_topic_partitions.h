#pragma once

#include "core/protocol/messages/describe_topic_partitions.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct DescribeTopicPartitionsHandler {
  using Request = protocol::DescribeTopicPartitionsRequest;
  using Response = protocol::DescribeTopicPartitionsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 0;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

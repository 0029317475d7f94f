#pragma once

#include "core/protocol/messages/describe_configs.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct DescribeConfigsHandler {
  using Request = protocol::DescribeConfigsRequest;
  using Response = protocol::DescribeConfigsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

#pragma once

#include "core/protocol/messages/describe_groups.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct DescribeGroupsHandler {
  using Request = protocol::DescribeGroupsRequest;
  using Response = protocol::DescribeGroupsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 5;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

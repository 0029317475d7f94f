#pragma once

#include "core/protocol/messages/describe_cluster.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct DescribeClusterHandler {
  using Request = protocol::DescribeClusterRequest;
  using Response = protocol::DescribeClusterResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

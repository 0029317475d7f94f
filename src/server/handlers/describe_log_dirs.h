#pragma once

#include "core/protocol/messages/describe_log_dirs.h"
#include "server/handlers/handler.h"

namespace kfk::server {

// DescribeLogDirs: the log dirs, the size of each partition in them and the dirs' space.
struct DescribeLogDirsHandler {
  using Request = protocol::DescribeLogDirsRequest;
  using Response = protocol::DescribeLogDirsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

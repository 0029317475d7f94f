#pragma once

#include "core/protocol/messages/join_group.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct JoinGroupHandler {
  using Request = protocol::JoinGroupRequest;
  using Response = protocol::JoinGroupResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 9;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

#pragma once

#include "core/protocol/messages/sync_group.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct SyncGroupHandler {
  using Request = protocol::SyncGroupRequest;
  using Response = protocol::SyncGroupResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 5;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

#pragma once

#include "core/protocol/messages/find_coordinator.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct FindCoordinatorHandler {
  using Request = protocol::FindCoordinatorRequest;
  using Response = protocol::FindCoordinatorResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 6;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

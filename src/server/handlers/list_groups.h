#pragma once

#include "core/protocol/messages/list_groups.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct ListGroupsHandler {
  using Request = protocol::ListGroupsRequest;
  using Response = protocol::ListGroupsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 5;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

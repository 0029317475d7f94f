#pragma once

#include "core/protocol/messages/delete_groups.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct DeleteGroupsHandler {
  using Request = protocol::DeleteGroupsRequest;
  using Response = protocol::DeleteGroupsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 2;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

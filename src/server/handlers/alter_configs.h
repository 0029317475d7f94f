#pragma once

#include "core/protocol/messages/alter_configs.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct AlterConfigsHandler {
  using Request = protocol::AlterConfigsRequest;
  using Response = protocol::AlterConfigsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 2;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

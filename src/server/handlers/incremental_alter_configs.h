#pragma once

#include "core/protocol/messages/incremental_alter_configs.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct IncrementalAlterConfigsHandler {
  using Request = protocol::IncrementalAlterConfigsRequest;
  using Response = protocol::IncrementalAlterConfigsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

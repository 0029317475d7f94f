#pragma once

#include "core/protocol/messages/create_partitions.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct CreatePartitionsHandler {
  using Request = protocol::CreatePartitionsRequest;
  using Response = protocol::CreatePartitionsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 3;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

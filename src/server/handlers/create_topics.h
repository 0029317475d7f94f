#pragma once

#include "core/protocol/messages/create_topics.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct CreateTopicsHandler {
  using Request = protocol::CreateTopicsRequest;
  using Response = protocol::CreateTopicsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 7;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

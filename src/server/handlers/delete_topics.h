#pragma once

#include "core/protocol/messages/delete_topics.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct DeleteTopicsHandler {
  using Request = protocol::DeleteTopicsRequest;
  using Response = protocol::DeleteTopicsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 6;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

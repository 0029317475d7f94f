#pragma once

#include "core/protocol/messages/offset_fetch.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct OffsetFetchHandler {
  using Request = protocol::OffsetFetchRequest;
  using Response = protocol::OffsetFetchResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 9;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

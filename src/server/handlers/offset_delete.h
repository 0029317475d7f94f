#pragma once

#include "core/protocol/messages/offset_delete.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct OffsetDeleteHandler {
  using Request = protocol::OffsetDeleteRequest;
  using Response = protocol::OffsetDeleteResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 0;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

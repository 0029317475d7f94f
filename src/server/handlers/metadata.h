#pragma once

#include "core/protocol/messages/metadata.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct MetadataHandler {
  using Request = protocol::MetadataRequest;
  using Response = protocol::MetadataResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 12;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

#pragma once

#include "core/protocol/messages/list_offsets.h"
#include "server/handlers/handler.h"

namespace kfk::server {

// ListOffsets: the earliest (-2), latest (-1), largest-timestamp (-3) and earliest local (-4)
// offsets and lookups by time; results at or past the high watermark are hidden.
struct ListOffsetsHandler {
  using Request = protocol::ListOffsetsRequest;
  using Response = protocol::ListOffsetsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 10;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

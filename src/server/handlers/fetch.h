#pragma once

#include "core/protocol/messages/fetch.h"
#include "server/fetch/fetch_response.h"
#include "server/handlers/handler.h"

namespace kfk::server {

// Fetch: long polls (max_wait_ms / min_bytes) woken by appends, fetch sessions (KIP-227),
// and record bytes sent from the segment files with sendfile(2) (see fetch_response.h).
struct FetchHandler {
  using Request = protocol::FetchRequest;
  using Response = FetchResponseWithFiles;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 17;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

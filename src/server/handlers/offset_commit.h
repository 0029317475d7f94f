#pragma once

#include "core/protocol/messages/offset_commit.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct OffsetCommitHandler {
  using Request = protocol::OffsetCommitRequest;
  using Response = protocol::OffsetCommitResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 9;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

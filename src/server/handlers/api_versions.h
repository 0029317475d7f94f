#pragma once

#include "core/protocol/messages/api_versions.h"
#include "server/handlers/handler.h"

namespace kfk::server {

struct ApiVersionsHandler {
  using Request = protocol::ApiVersionsRequest;
  using Response = protocol::ApiVersionsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);

  // The answer to an ApiVersions request of a version this broker does not know: a v0
  // response with UNSUPPORTED_VERSION and the supported APIs, so the client can retry with a
  // version both sides know (KIP-511).
  static protocol::Bytes unsupported_version_response(int32_t correlation_id);
};

}  // namespace kfk::server

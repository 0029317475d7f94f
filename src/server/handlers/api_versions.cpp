#include "server/handlers/api_versions.h"

#include <spdlog/spdlog.h>

#include "core/protocol/api_keys.h"
#include "core/protocol/errors.h"
#include "core/protocol/writer.h"
#include "server/handlers/handlers.h"
#include "server/log_rate_limit.h"

namespace kfk::server {

namespace {

void fill_api_keys(protocol::ApiVersionsResponse& resp) {
  for (const auto& api : supported_apis()) {
    auto& v = resp.api_keys.emplace_back();
    v.api_key = api.key;
    v.min_version = api.min_version;
    v.max_version = api.max_version;
  }
}

// KIP-511's rule for the client software name and version: letters, digits, '-' and '.',
// starting and ending with a letter or digit.
bool valid_software_field(const std::string& s) {
  if (s.empty()) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

asio::awaitable<void> ApiVersionsHandler::handle(RequestContext& ctx, const Request& req,
                                                 Response& resp) {
  resp.throttle_time_ms = 0;
  if (ctx.version() >= 3) {
    if (!valid_software_field(req.client_software_name) ||
        !valid_software_field(req.client_software_version)) {
      warn_limited(fmt::format("{} client software", peer_host(ctx.connection.peer)),
                   "connection {} from {}: invalid client software name or version '{}' '{}'",
                   ctx.connection.id, ctx.connection.peer, req.client_software_name,
                   req.client_software_version);
      resp.error_code = static_cast<int16_t>(protocol::ErrorCode::invalid_request);
      co_return;
    }
    spdlog::debug("connection {} from {}: client {} {}", ctx.connection.id, ctx.connection.peer,
                  req.client_software_name, req.client_software_version);
  }
  resp.error_code = 0;
  resp.throttle_time_ms = 0;
  fill_api_keys(resp);
  co_return;
}

protocol::Bytes ApiVersionsHandler::unsupported_version_response(int32_t correlation_id) {
  Response resp;
  resp.error_code = static_cast<int16_t>(protocol::ErrorCode::unsupported_version);
  fill_api_keys(resp);
  protocol::Writer w;
  w.write_int32(correlation_id);  // response header v0
  resp.encode(w, 0);
  return w.take();
}

}  // namespace kfk::server

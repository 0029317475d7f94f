#include "server/handlers/api_versions.h"

#include <spdlog/spdlog.h>

#include "core/protocol/errors.h"
#include "core/protocol/writer.h"
#include "server/handlers/handlers.h"

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
}  // namespace

asio::awaitable<void> ApiVersionsHandler::handle(RequestContext& ctx, const Request& req,
                                                 Response& resp) {
  if (ctx.version() >= 3) {
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

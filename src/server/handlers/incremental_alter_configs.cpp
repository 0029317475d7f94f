#include "server/handlers/incremental_alter_configs.h"

#include <fmt/format.h>

#include "server/handlers/apply_config_changes.h"

namespace kfk::server {

asio::awaitable<void> IncrementalAlterConfigsHandler::handle(RequestContext& ctx,
                                                             const Request& req, Response& resp) {
  resp.throttle_time_ms = 0;
  std::vector<ResourceChanges> resources;
  for (const auto& r : req.resources) {
    auto& rc = resources.emplace_back();
    rc.type = r.resource_type;
    rc.name = r.resource_name;
    for (const auto& c : r.configs) {
      if (c.config_operation < 0 || c.config_operation > 3) {
        rc.invalid = fmt::format("Unknown config operation {} for {}", c.config_operation, c.name);
        continue;
      }
      rc.changes.push_back(
          ConfigChange{c.name, static_cast<ConfigOp>(c.config_operation), c.value});
    }
  }
  const auto results =
      co_await apply_config_changes(ctx.broker, resources, false, req.validate_only);
  for (const auto& result : results) {
    auto& out = resp.responses.emplace_back();
    out.resource_type = result.type;
    out.resource_name = result.name;
    out.error_code = static_cast<int16_t>(result.check.error);
    if (!result.check.ok()) out.error_message = result.check.message;
  }
  co_return;
}

}  // namespace kfk::server

#include "server/handlers/apply_config_changes.h"

#include <algorithm>

#include "server/broker.h"
#include "server/cluster/controller_client.h"
#include "server/handlers/broker_logger.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<std::vector<ResourceOutcome>> apply_config_changes(
    Broker& broker, const std::vector<ResourceChanges>& resources, bool replace,
    bool validate_only) {
  std::vector<std::pair<int8_t, std::string>> keys;
  for (const auto& r : resources) keys.emplace_back(r.type, r.name);
  const auto duplicates = duplicate_resources(keys);

  std::vector<ResourceOutcome> out;
  for (const auto& r : resources) {
    ResourceOutcome& o = out.emplace_back();
    o.type = r.type;
    o.name = r.name;
    if (std::find(duplicates.begin(), duplicates.end(), std::pair{r.type, r.name}) !=
        duplicates.end()) {
      o.check = {ErrorCode::invalid_request, "Error due to duplicate config resource: " + r.name};
      continue;
    }
    if (!r.invalid.empty()) {
      o.check = {ErrorCode::invalid_request, r.invalid};
      continue;
    }
    if (o.check = check_config_resource(broker, r.type, r.name); !o.check.ok()) continue;
    const auto type = static_cast<ConfigResourceType>(r.type);
    if (type == ConfigResourceType::broker_logger) {
      // Check everything before changing anything.
      for (const auto& c : r.changes) {
        auto level = c.op == ConfigOp::set ? c.value : std::nullopt;
        if (c.op == ConfigOp::append || c.op == ConfigOp::subtract)
          o.check = {ErrorCode::invalid_request, "Loggers accept only SET and DELETE."};
        else
          o.check = set_broker_logger_level(c.name, level, false);
        if (!o.check.ok()) break;
      }
      if (o.check.ok() && !validate_only)
        for (const auto& c : r.changes)
          set_broker_logger_level(c.name, c.op == ConfigOp::set ? c.value : std::nullopt, true);
      continue;
    }
    const auto result =
        co_await broker.controller().alter_configs(type, r.name, r.changes, replace, validate_only);
    o.check = {result.error, result.message};
  }
  co_return out;
}

}  // namespace kfk::server

// The common path of AlterConfigs and IncrementalAlterConfigs: check every resource, refuse
// duplicates, then hand each resource's changes to the controller (or the logger registry).
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "server/cluster/controller.h"
#include "server/handlers/config_resources.h"

namespace kfk::server {

struct ResourceChanges {
  int8_t type = 0;
  std::string name;
  std::vector<ConfigChange> changes;
  std::string invalid;  // a problem found while reading the request (INVALID_REQUEST)
};

struct ResourceOutcome {
  int8_t type = 0;
  std::string name;
  ResourceCheck check;
};

// One outcome per resource, in request order. `replace`: AlterConfigs' semantics.
asio::awaitable<std::vector<ResourceOutcome>> apply_config_changes(
    Broker& broker, const std::vector<ResourceChanges>& resources, bool replace,
    bool validate_only);

}  // namespace kfk::server

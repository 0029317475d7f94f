// What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: which resources exist
// and how a broker resource is named.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/errors.h"
#include "server/cluster/metadata_records.h"

namespace kfk::server {

class Broker;

struct ResourceCheck {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string message;
  bool ok() const { return error == protocol::ErrorCode::none; }
};

// A broker resource is named by this broker's id, or "" for the cluster-wide default.
ResourceCheck check_config_resource(const Broker& broker, int8_t type, const std::string& name);

// Resources named twice in one request are each refused, as Kafka does; returns the keys
// (type, name) that appear more than once.
std::vector<std::pair<int8_t, std::string>> duplicate_resources(
    const std::vector<std::pair<int8_t, std::string>>& resources);

}  // namespace kfk::server

#include "server/handlers/config_resources.h"

#include <fmt/format.h>

#include <map>

#include "server/broker.h"

namespace kfk::server {

using protocol::ErrorCode;

ResourceCheck check_config_resource(const Broker& broker, int8_t type, const std::string& name) {
  switch (static_cast<ConfigResourceType>(type)) {
    case ConfigResourceType::topic:
      if (broker.metadata()->find_topic(name) == nullptr)
        return {ErrorCode::unknown_topic_or_partition,
                fmt::format("The topic '{}' does not exist.", name)};
      return {};
    case ConfigResourceType::broker:
    case ConfigResourceType::broker_logger:
      if (name.empty() && static_cast<ConfigResourceType>(type) == ConfigResourceType::broker)
        return {};
      if (name != std::to_string(broker.config().node_id))
        return {ErrorCode::invalid_request,
                fmt::format("Unexpected broker id, expected {} or empty string, but received {}",
                            broker.config().node_id, name)};
      return {};
    default:
      return {ErrorCode::invalid_request,
              fmt::format("Unsupported resource type {} for configs.", static_cast<int>(type))};
  }
}

std::vector<std::pair<int8_t, std::string>> duplicate_resources(
    const std::vector<std::pair<int8_t, std::string>>& resources) {
  std::map<std::pair<int8_t, std::string>, int> counts;
  for (const auto& r : resources) ++counts[r];
  std::vector<std::pair<int8_t, std::string>> out;
  for (const auto& [r, n] : counts)
    if (n > 1) out.push_back(r);
  return out;
}

}  // namespace kfk::server

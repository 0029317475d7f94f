// Builds and publishes the partition table (partition.h) for each metadata image the broker
// serves: the one place where topic settings are resolved and where local replicas are
// matched with the image.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/partition/partition.h"

namespace kfk::config {
struct BrokerConfig;
}
namespace kfk::storage {
class LogManager;
}

namespace kfk::server {

class PartitionManager {
 public:
  using SettingsMap = std::unordered_map<std::string, std::shared_ptr<const TopicSettings>>;

  explicit PartitionManager(const config::BrokerConfig& config);

  // The table being served; never null (empty until the first publish).
  std::shared_ptr<const PartitionTable> table() const;

  // The settings of every topic of `next`: those of the current table where neither the
  // topic nor (when `layers_changed` is false) the broker layers changed, else resolved anew.
  SettingsMap resolve_settings(const MetadataImage& next, bool layers_changed) const;

  // Publishes the table of `image`. Its local replicas are the partitions of `logs` (none
  // when null, before the logs are open); each keeps its Partition object across tables
  // while its log stays the same. Topics missing from `settings` keep the current table's
  // settings when their state is unchanged, else are resolved.
  void publish(std::shared_ptr<const MetadataImage> image, SettingsMap settings,
               const storage::LogManager* logs);

  // One topic's settings against `image`'s broker layers.
  TopicSettings resolve(const MetadataImage& image, const TopicState& topic) const;

 private:
  const config::BrokerConfig& config_;
  mutable std::mutex mu_;
  std::shared_ptr<const PartitionTable> table_;
};

}  // namespace kfk::server

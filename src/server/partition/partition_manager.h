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

  // The settings of the topics of `next` that differ from the current table's: the topics
  // that are new or changed, or all of them when `layers_changed` (the broker's dynamic
  // settings changed).
  SettingsMap resolve_settings(const MetadataImage& next, bool layers_changed) const;
  // A topic's settings: from `changed` (resolve_settings), else the current table's.
  std::shared_ptr<const TopicSettings> settings_of(const SettingsMap& changed,
                                                   const std::string& topic) const;

  // Publishes the table of `image` with the settings `changed` holds (the others are kept,
  // or resolved when missing). Its local replicas are the partitions of `logs` (none when
  // null, before the logs are open); a topic whose state, settings and logs did not change
  // shares its entry with the current table, and each replica keeps its Partition object
  // while its log stays the same.
  void publish(std::shared_ptr<const MetadataImage> image, const SettingsMap& changed,
               const storage::LogManager* logs);

  // One topic's settings against `image`'s broker layers.
  TopicSettings resolve(const MetadataImage& image, const TopicState& topic) const;

 private:
  const config::BrokerConfig& config_;
  mutable std::mutex mu_;
  std::shared_ptr<const PartitionTable> table_;
};

}  // namespace kfk::server

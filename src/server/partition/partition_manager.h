// Builds and publishes the partition table (partition.h) for each metadata image the broker
// serves: the one place where topic settings are resolved and where local replicas are
// matched with the image.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/partition/partition.h"

namespace kfk::config {
struct BrokerConfig;
}
namespace kfk::storage {
class LogManager;
}

namespace kfk::server {

// The partitions of one topic this broker began or stopped leading with a published table:
// what coordinators load and unload (groups on __consumer_offsets; transactions and the
// schema registry to come). A partition led again under a new leader epoch, or with another
// replica (the topic deleted and created again), is in both lists.
struct LeadershipChange {
  std::string topic;
  std::vector<int32_t> led;                     // led now, not before
  std::vector<int32_t> resigned;                // led before, not now
  std::shared_ptr<const PartitionTable> table;  // the table now served
};
using LeadershipListener = std::function<void(const LeadershipChange&)>;

// Keeps a listener registered (PartitionManager::watch_leadership) until destroyed or reset.
class LeadershipWatch {
 public:
  LeadershipWatch() = default;
  LeadershipWatch(LeadershipWatch&& o) noexcept;
  LeadershipWatch& operator=(LeadershipWatch&& o) noexcept;
  LeadershipWatch(const LeadershipWatch&) = delete;
  LeadershipWatch& operator=(const LeadershipWatch&) = delete;
  ~LeadershipWatch() { reset(); }
  // Unregisters; when it returns, no call to the listener is in progress.
  void reset();

 private:
  friend class PartitionManager;
  struct Registry;
  std::weak_ptr<Registry> registry_;
  uint64_t id_ = 0;
};

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

  // Calls `listener` at once with the partitions of `topic` this broker leads (all in `led`),
  // then after each published table that changes them. Calls are made one at a time, in the
  // order of publication, by the publishing thread while it still holds the publication:
  // a listener only takes note (no disk reads, no waiting on other threads).
  LeadershipWatch watch_leadership(std::string topic, LeadershipListener listener);

 private:
  const config::BrokerConfig& config_;
  mutable std::mutex mu_;
  std::shared_ptr<const PartitionTable> table_;
  std::shared_ptr<LeadershipWatch::Registry> watchers_;
};

}  // namespace kfk::server

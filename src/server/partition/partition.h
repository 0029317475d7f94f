// The partition layer: one Partition per replica this broker holds, and the PartitionTable
// through which handlers and coordinators reach them. A table is immutable and built for one
// metadata image, so a request that holds it sees one consistent view: the image's leaders
// and epochs, each topic's settings resolved once, and the local replicas.
//
// The Partition object lives across tables (as long as its log does); it is where the
// replica's own moving state belongs: today the log and its high watermark, with followers'
// states and the ISR to come with replication.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config/topic_config.h"
#include "core/protocol/errors.h"
#include "server/cluster/metadata_image.h"
#include "server/storage/log_config.h"
#include "server/storage/produce_validation.h"

namespace kfk::storage {
class PartitionLog;
}

namespace kfk::server {

// A topic's settings, resolved once per image that changes the topic or the broker layers.
struct TopicSettings {
  // nullopt when the topic's overrides no longer resolve against the broker's layers (a
  // broker default changed since they were set); the fields below then hold the defaults.
  std::optional<config::TopicConfig> resolved;
  storage::ProduceSettings produce;
  storage::LogConfig log;
};

// One replica of a partition on this broker.
class Partition {
 public:
  Partition(std::string topic, int32_t index, std::shared_ptr<storage::PartitionLog> log)
      : topic_(std::move(topic)), index_(index), log_(std::move(log)) {}

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  storage::PartitionLog& log() const { return *log_; }
  const std::shared_ptr<storage::PartitionLog>& shared_log() const { return log_; }

 private:
  std::string topic_;
  int32_t index_;
  std::shared_ptr<storage::PartitionLog> log_;
};

// A partition found through the table; pointers are valid while the table is held.
struct PartitionLookup {
  // none, or why the partition cannot be served here.
  protocol::ErrorCode error = protocol::ErrorCode::none;
  const TopicState* topic = nullptr;  // set whenever the topic exists, even with an error
  const PartitionState* state = nullptr;
  const TopicSettings* settings = nullptr;
  Partition* partition = nullptr;  // set when error is none

  bool ok() const { return error == protocol::ErrorCode::none; }
};

class PartitionTable {
 public:
  // An empty table for `image` (before the logs are open).
  PartitionTable(std::shared_ptr<const MetadataImage> image, int32_t node_id);
  PartitionTable(const PartitionTable&) = delete;
  PartitionTable& operator=(const PartitionTable&) = delete;

  const MetadataImage& image() const { return *image_; }
  const std::shared_ptr<const MetadataImage>& shared_image() const { return image_; }

  // The partition, if this broker leads it and holds its log. `current_leader_epoch` is the
  // client's view (-1: none given): older than ours is FENCED_LEADER_EPOCH, newer is
  // UNKNOWN_LEADER_EPOCH. A topic unknown by name is UNKNOWN_TOPIC_OR_PARTITION, by id
  // UNKNOWN_TOPIC_ID.
  PartitionLookup leader(const std::string& topic, int32_t partition,
                         int32_t current_leader_epoch = -1) const;
  PartitionLookup leader(const protocol::Uuid& topic_id, int32_t partition,
                         int32_t current_leader_epoch = -1) const;

  // The local replica of a partition, whatever its role; nullptr when there is none.
  std::shared_ptr<Partition> local(const std::string& topic, int32_t partition) const;
  // The settings of a topic; nullptr when the topic is unknown.
  const TopicSettings* settings(const std::string& topic) const;
  // The topic with this id (a hash lookup); nullptr when unknown.
  const TopicState* topic(const protocol::Uuid& topic_id) const;

 private:
  friend class PartitionManager;
  struct UuidHash {
    size_t operator()(const protocol::Uuid& id) const;
  };
  // A topic as one image has it. Shared by consecutive tables while the topic, its settings
  // and its logs stay the same, so publishing an image costs little per unchanged topic.
  struct Topic {
    std::shared_ptr<const TopicState> state;
    std::shared_ptr<const TopicSettings> settings;
    // By partition index; null where this broker holds no replica.
    std::vector<std::shared_ptr<Partition>> partitions;
    bool with_logs = false;  // built after the logs were open
  };
  PartitionLookup lookup(const Topic* topic, int32_t partition, int32_t epoch) const;

  std::shared_ptr<const MetadataImage> image_;
  int32_t node_id_;
  std::unordered_map<std::string, std::shared_ptr<const Topic>> topics_;
  std::unordered_map<protocol::Uuid, const Topic*, UuidHash> by_id_;
};

}  // namespace kfk::server

// The controller: the only writer of the metadata log. Each operation validates a request
// against the current image, appends the records that carry it out as one batch (fsynced),
// applies them, and publishes the new image. Operations are serialized by one mutex; they
// are rare and short (one small fsync), so the data path never waits on them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config/broker_config.h"
#include "core/protocol/errors.h"
#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_log.h"

namespace kfk::server {

// The outcome of one controller operation (one topic, one resource).
struct ControllerResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string message;  // set with an error; null in responses when empty
  bool ok() const { return error == protocol::ErrorCode::none; }
};

struct NewTopic {
  std::string name;
  int32_t num_partitions = -1;                          // -1: num.partitions
  int16_t replication_factor = -1;                      // -1: default.replication.factor
  std::map<int32_t, std::vector<int32_t>> assignments;  // partition -> replicas; or empty
  std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};

struct CreatedTopic {
  ControllerResult result;
  protocol::Uuid topic_id;
  int32_t num_partitions = -1;
  int16_t replication_factor = -1;
};

// IncrementalAlterConfigs' operations (AlterConfigs is `set` for every entry plus replace).
enum class ConfigOp : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct ConfigChange {
  std::string name;
  ConfigOp op = ConfigOp::set;
  std::optional<std::string> value;
};

class Controller {
 public:
  // Called with every new image, before operations return; the broker creates and deletes
  // partition logs from it and then serves it.
  using Publish = std::function<void(std::shared_ptr<const MetadataImage>)>;

  // Replays `log` on top of `base` (cluster id, brokers) and publishes the result.
  static storage::Result<std::unique_ptr<Controller>> open(const config::BrokerConfig& config,
                                                           std::unique_ptr<MetadataLog> log,
                                                           MetadataImage base, Publish publish);
  ~Controller();

  std::shared_ptr<const MetadataImage> image() const;

  CreatedTopic create_topic(const NewTopic& topic, bool validate_only);
  ControllerResult delete_topic(const std::string& name);
  // Grows `topic` to `total` partitions; `assignments` give the new partitions' replicas.
  ControllerResult create_partitions(
      const std::string& topic, int32_t total,
      const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only);
  // Topic overrides or dynamic broker settings (`resource_name` "" is the cluster default).
  // `replace`: AlterConfigs' semantics, every setting not named is removed.
  ControllerResult alter_configs(ConfigResourceType type, const std::string& resource_name,
                                 std::span<const ConfigChange> changes, bool replace,
                                 bool validate_only);
  // A fresh producer id (InitProducerId); ids come from blocks reserved in the metadata log,
  // so none is handed out twice across restarts.
  std::optional<int64_t> next_producer_id(std::string& error);

  // The layers a topic's settings fall back to, from `image`.
  config::BrokerLayers broker_layers(const MetadataImage& image) const;

  storage::StorageError close();

 private:
  Controller(const config::BrokerConfig& config, std::unique_ptr<MetadataLog> log, Publish publish);
  // Appends, applies and publishes; the caller holds mu_.
  ControllerResult commit(std::vector<MetadataRecord> records);
  ControllerResult check_topic_name(const std::string& name, const MetadataImage& image) const;

  const config::BrokerConfig& config_;
  std::unique_ptr<MetadataLog> log_;
  Publish publish_;
  mutable std::mutex mu_;
  std::shared_ptr<const MetadataImage> image_;
  int64_t producer_ids_next_ = 0;  // next id of the reserved block
  int64_t producer_ids_end_ = 0;   // end of the reserved block
};

// Kafka's topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// An empty string when valid, else why not.
std::string topic_name_problem(std::string_view name);

}  // namespace kfk::server

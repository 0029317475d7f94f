// The active controller and what its operations take and return. The metadata log and its
// commit are the quorum's (metadata_quorum.h); replay, publication and snapshots are the
// loader's (metadata_loader.h); how a request reaches the controller and waits for its
// change to be served is controller_client.h.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config/broker_config.h"
#include "core/protocol/errors.h"
#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_quorum.h"

namespace kfk::server {

// The outcome of one controller operation (one topic, one resource).
struct ControllerResult {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string message;  // set with an error; null in responses when empty
  int64_t offset = -1;  // of the last record committed; -1: nothing was written
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

// A fresh producer id, or why none could be reserved.
struct ProducerIdResult {
  ControllerResult result;
  int64_t producer_id = -1;
};

// The active controller: validates each request against its image, builds the records that
// carry it out, and has the quorum commit them. Operations run one at a time on the
// controller's own thread, in the order they arrive; a request awaits its operation without
// blocking its reactor. The controller keeps its own image, ahead of what the broker serves:
// an operation returns once its records are committed (ControllerResult::offset), and the
// broker serves them once the metadata loader publishes that offset (ControllerClient waits
// for both).
class Controller {
 public:
  // `image`: the loaded image to start from (the loader's, right after it opened).
  Controller(const config::BrokerConfig& config, MetadataQuorum& quorum,
             std::shared_ptr<const MetadataImage> image);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  asio::awaitable<CreatedTopic> create_topic(NewTopic topic, bool validate_only);
  // `expected_id`: remove the topic only while it has this id (zero: any).
  asio::awaitable<ControllerResult> delete_topic(std::string name, protocol::Uuid expected_id = {});
  // Grows `topic` to `total` partitions; `assignments` give the new partitions' replicas.
  asio::awaitable<ControllerResult> create_partitions(
      std::string topic, int32_t total,
      std::optional<std::vector<std::vector<int32_t>>> assignments, bool validate_only);
  // Topic overrides or dynamic broker settings (`resource_name` "" is the cluster default).
  // `replace`: AlterConfigs' semantics, every setting not named is removed.
  asio::awaitable<ControllerResult> alter_configs(ConfigResourceType type,
                                                  std::string resource_name,
                                                  std::vector<ConfigChange> changes, bool replace,
                                                  bool validate_only);
  // A fresh producer id (InitProducerId); ids come from blocks reserved in the metadata log,
  // so none is handed out twice across restarts.
  asio::awaitable<ProducerIdResult> next_producer_id();

  // Finishes the operations already submitted and stops the controller's thread.
  void stop();

 private:
  struct Runner;
  // Runs `operation` on the controller's thread and resumes the caller on its own.
  template <typename T>
  asio::awaitable<T> run(std::function<T()> operation);

  // Commits `records` and applies them to the controller's image.
  ControllerResult commit(std::vector<MetadataRecord> records);
  CreatedTopic validate_and_commit_topic(const NewTopic& topic, bool validate_only);
  ControllerResult commit_topic_removal(const std::string& name, protocol::Uuid expected_id);
  ControllerResult validate_and_commit_partitions(
      const std::string& topic, int32_t total,
      const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only);
  ControllerResult validate_and_commit_configs(ConfigResourceType type,
                                               const std::string& resource_name,
                                               std::span<const ConfigChange> changes, bool replace,
                                               bool validate_only);
  ProducerIdResult allocate_producer_id();
  ControllerResult check_topic_name(const std::string& name, const MetadataImage& image) const;
  config::BrokerLayers broker_layers(const MetadataImage& image) const;

  const config::BrokerConfig& config_;
  MetadataQuorum& quorum_;
  // The controller's thread owns what follows.
  std::shared_ptr<const MetadataImage> image_;
  int64_t producer_ids_next_ = 0;  // next id of the reserved block
  int64_t producer_ids_end_ = 0;   // end of the reserved block
  std::unique_ptr<Runner> runner_;
};

// Kafka's topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// An empty string when valid, else why not.
std::string topic_name_problem(std::string_view name);

}  // namespace kfk::server

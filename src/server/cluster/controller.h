// The controller: the only writer of the metadata log. Each operation validates a request
// against the current image, appends the records that carry it out as one batch (fsynced),
// applies them, and publishes the new image. Operations are serialized by one mutex; they
// are rare and short (one small fsync), so the data path never waits on them.
//
// Snapshots: after a commit that brings the bytes appended since the last snapshot to
// metadata.log.max.record.bytes.between.snapshots, or when the last one is older than
// metadata.log.max.snapshot.interval.ms, the committed image (immutable, so no copy is taken)
// goes to a writer thread, which writes it (metadata_snapshot.h), keeps the newest two
// snapshots and deletes the log segments below the older of them. At open, the newest usable
// snapshot is loaded and only the log after it is replayed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
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

// What the broker could not carry out of an image it was handed.
struct PublishOutcome {
  // Topics whose partition logs could not all be created (out of file descriptors, a full or
  // failed disk), with why. The broker does not serve them in that state.
  std::map<std::string, std::string> failed_topics;
};

class Controller {
 public:
  // Called with every new image, before operations return; the broker creates and deletes
  // partition logs from it and then serves it. A topic created by an operation whose logs
  // could not be created is removed again by a second batch, and the operation fails with
  // KAFKA_STORAGE_ERROR: no topic is ever served without its logs, and a retry can succeed
  // once the cause is gone.
  using Publish = std::function<PublishOutcome(std::shared_ptr<const MetadataImage>)>;

  // Loads the newest usable snapshot in the log's directory and replays the log after it
  // on top of `base` (cluster id, brokers), and publishes the result. Fails when the log
  // starts above offset 0 and no usable snapshot covers the offsets below its start.
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

  // Blocks until the snapshot writer has written every snapshot handed to it.
  void wait_for_snapshots();
  size_t snapshots_written() const;

  // Stops the snapshot writer (after it finishes a snapshot under way) and closes the log.
  storage::StorageError close();

 private:
  Controller(const config::BrokerConfig& config, std::unique_ptr<MetadataLog> log, Publish publish);
  // Appends and applies to the controller's image; the caller holds mu_. The image is
  // published afterwards, without mu_ (publish_committed).
  ControllerResult commit(std::vector<MetadataRecord> records);
  // Publishes the newest committed image unless it already was, and returns the outcome of
  // the publication that covers it. Publishing creates and deletes logs on disk, so it runs
  // outside mu_: other requests are validated and committed meanwhile. The caller does not
  // hold mu_.
  PublishOutcome publish_committed();
  // The request methods' validation and commit, under mu_.
  CreatedTopic validate_and_commit_topic(const NewTopic& topic, bool validate_only);
  ControllerResult commit_topic_removal(const std::string& name);
  ControllerResult validate_and_commit_partitions(
      const std::string& topic, int32_t total,
      const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only);
  ControllerResult validate_and_commit_configs(ConfigResourceType type,
                                               const std::string& resource_name,
                                               std::span<const ConfigChange> changes, bool replace,
                                               bool validate_only);
  ControllerResult check_topic_name(const std::string& name, const MetadataImage& image) const;
  // After a commit (mu_ held): hands the image to the snapshot writer when one is due.
  void maybe_snapshot();
  void snapshot_writer_loop();
  void write_snapshot_and_trim(const MetadataImage& image);
  void stop_snapshot_writer();

  const config::BrokerConfig& config_;
  std::unique_ptr<MetadataLog> log_;
  Publish publish_;
  mutable std::mutex mu_;
  // Held while an image is published. Taken before mu_ (publish_committed reads the image
  // under mu_), never by a holder of mu_.
  std::mutex publish_mu_;
  int64_t published_offset_ = -1;  // under publish_mu_
  PublishOutcome last_publish_;    // of the last publication, under publish_mu_
  std::shared_ptr<const MetadataImage> image_;
  int64_t producer_ids_next_ = 0;  // next id of the reserved block
  int64_t producer_ids_end_ = 0;   // end of the reserved block

  // Snapshot policy, under mu_: log bytes not yet covered by a snapshot request.
  uint64_t bytes_since_snapshot_ = 0;
  uint64_t bytes_appended_seen_ = 0;  // log_->bytes_appended() at the last commit
  std::chrono::steady_clock::time_point last_snapshot_time_;

  // The snapshot writer, under snapshot_mu_.
  mutable std::mutex snapshot_mu_;
  std::condition_variable snapshot_cv_;
  std::shared_ptr<const MetadataImage> snapshot_pending_;
  bool snapshot_busy_ = false;
  bool snapshot_stop_ = false;
  size_t snapshots_written_ = 0;
  std::thread snapshot_thread_;
};

// Kafka's topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// An empty string when valid, else why not.
std::string topic_name_problem(std::string_view name);

}  // namespace kfk::server

// Topic administration: create, delete, list and describe topics, describe and alter their
// configs, add partitions, delete records (DeleteRecords) and size them on disk
// (DescribeLogDirs). Each call returns per-topic or per-partition results (a Kafka error code
// each) and throws only when the request as a whole fails (no broker, unsupported API, bad
// response).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/client/metadata.h"
#include "core/client/topic_partition.h"

namespace kfk::client {

class Client;

struct NewTopic {
  std::string name;
  int32_t partitions = -1;          // -1: the broker's num.partitions
  int16_t replication_factor = -1;  // -1: the broker's default.replication.factor
  std::vector<std::pair<std::string, std::string>> configs;
};

struct TopicResult {
  std::string name;
  int16_t error = 0;
  std::string message;  // the broker's error message, when it sent one
  protocol::Uuid id;
  int32_t partitions = -1;
  int16_t replication_factor = -1;
  bool ok() const { return error == 0; }
};

// DescribeConfigs sources, as Kafka numbers them.
enum class ConfigSource : int8_t {
  unknown = 0,
  dynamic_topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_config = 5,
  dynamic_broker_logger = 6,
  client_metrics = 7,
  group = 8,
};
std::string_view to_string(ConfigSource source);

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;  // nullopt for sensitive values
  ConfigSource source = ConfigSource::unknown;
  bool read_only = false;
  bool sensitive = false;
  bool is_default() const { return source == ConfigSource::default_config; }
};

struct ConfigChange {
  enum class Op : int8_t { set = 0, remove = 1 };  // IncrementalAlterConfigs SET, DELETE
  std::string name;
  Op op = Op::set;
  std::string value;
};

// What DeleteRecords did to one partition: its new log start offset, or an error.
struct DeleteRecordsResult {
  int64_t low_watermark = -1;
  int16_t error = 0;
};

// One replica's log as DescribeLogDirs reports it.
struct ReplicaLogInfo {
  int32_t broker = -1;
  std::string log_dir;
  TopicPartition partition;
  int64_t size_bytes = 0;
  int64_t offset_lag = 0;
  bool future = false;  // a copy being moved to another log dir
  // The log cleaner's view of a compacted partition (kfk brokers only; nullopt otherwise).
  struct Cleaner {
    double dirty_ratio = 0;
    int64_t first_dirty_offset = -1;
    int64_t last_cleaning_ms = -1;  // -1: not cleaned since the broker started
    int64_t last_bytes_read = -1;
    int64_t last_bytes_written = -1;
    int64_t last_duration_ms = -1;
  };
  std::optional<Cleaner> cleaner;
  // Bytes of the log that hold no valid batch (kfk brokers only), and the offsets lost with
  // them: [first_offset, next_offset), -1 when not known.
  struct DamagedRange {
    int64_t segment_base = 0;
    int64_t start_position = 0;
    int64_t end_position = 0;
    int64_t first_offset = -1;
    int64_t next_offset = -1;
    std::string reason;
  };
  std::vector<DamagedRange> damaged;
};

// DeleteRecords: this offset for a partition deletes everything up to its high watermark.
inline constexpr int64_t kDeleteToHighWatermark = -1;

class Admin {
 public:
  explicit Admin(Client& client);

  std::vector<TopicResult> create_topics(const std::vector<NewTopic>& topics, bool validate_only);
  std::vector<TopicResult> delete_topics(const std::vector<std::string>& names);
  // Metadata for the named topics (every topic when `names` is empty). Topics the broker
  // does not know come back with their error code set.
  ClusterMetadata describe_topics(const std::vector<std::string>& names);
  // The topic's configs. Throws ClientError(kafka) when the broker refuses.
  std::vector<ConfigEntry> describe_topic_configs(const std::string& topic);
  // IncrementalAlterConfigs; when the broker lacks it, AlterConfigs with the topic's current
  // overrides plus the changes (that API replaces the whole set). Throws ClientError(kafka).
  void alter_topic_configs(const std::string& topic, const std::vector<ConfigChange>& changes,
                           bool validate_only);

  // A broker's configs (broker_id < 0: the cluster-wide defaults), every one with its source;
  // asks that broker. Throws ClientError(kafka) when the broker refuses.
  std::vector<ConfigEntry> describe_broker_configs(int32_t broker_id);
  // IncrementalAlterConfigs of a broker's dynamic configs (broker_id < 0: the cluster-wide
  // defaults). Throws ClientError(kafka).
  void alter_broker_configs(int32_t broker_id, const std::vector<ConfigChange>& changes,
                            bool validate_only);

  // CreatePartitions: grows each topic to the given total partition count (replicas placed by
  // the broker). Per-topic results; the id and counts of TopicResult stay unset.
  std::vector<TopicResult> create_partitions(
      const std::vector<std::pair<std::string, int32_t>>& totals, bool validate_only);

  // DeleteRecords: deletes the records before each offset (kDeleteToHighWatermark: all of
  // them), asking each partition's leader and retrying leader changes until the api timeout.
  std::map<TopicPartition, DeleteRecordsResult> delete_records(
      const std::map<TopicPartition, int64_t>& offsets);

  // DescribeLogDirs: the replicas of these partitions on every broker the metadata knows,
  // with their size on disk. Throws net::NetError(unsupported) when a broker lacks the API.
  std::vector<ReplicaLogInfo> describe_log_dirs(const std::vector<TopicPartition>& partitions);

 private:
  Client& client_;
};

}  // namespace kfk::client

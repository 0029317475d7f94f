// Topic configuration: Kafka's topic config names and defaults (Kafka 4.0), the broker
// settings each one falls back to, and the resolver that gives a topic's effective values
// with their sources and synonym chains (DescribeConfigs), plus the checks CreateTopics and
// AlterConfigs apply to topic overrides.
//
// Precedence for a topic setting, highest first: the topic's own override
// (DYNAMIC_TOPIC_CONFIG); then the broker synonyms in order, each looked up in this broker's
// dynamic settings (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic defaults
// (DYNAMIC_DEFAULT_BROKER_CONFIG) and the static file/command line (STATIC_BROKER_CONFIG);
// then the broker synonyms' defaults (DEFAULT_CONFIG); then the topic default. So
// log.retention.ms beats log.retention.minutes beats log.retention.hours within a layer.
//
// The synonym list is in Kafka's order (all dynamic-broker entries, then dynamic-default,
// then static, then defaults). Unlike Kafka, a topic's synonym list always keeps the lower
// synonyms (log.retention.hours under retention.ms) instead of dropping entries before the
// first broker name, so the reported source matches where the value really came from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_def.h"
#include "core/config/result.h"
#include "core/protocol/errors.h"
#include "core/record/compression.h"

namespace kfk::config {

const ConfigDef& topic_config_def();

// compression.gzip.level's check (-1 or 1..9), shared with the broker setting of that name.
Validator gzip_level_validator();

enum class TimestampType : uint8_t { create_time, log_append_time };

// A topic's effective settings, typed. Member defaults are Kafka's topic defaults.
struct TopicConfig {
  bool cleanup_delete = true;                      // cleanup.policy contains "delete"
  bool cleanup_compact = false;                    // cleanup.policy contains "compact"
  std::optional<record::Compression> compression;  // nullopt: "producer", keep the batch's codec
  int32_t compression_gzip_level = -1;
  int32_t compression_lz4_level = 9;
  int32_t compression_zstd_level = 3;
  int64_t delete_retention_ms = 86'400'000;
  int64_t file_delete_delay_ms = 60'000;
  int64_t flush_messages = INT64_MAX;
  int64_t flush_ms = INT64_MAX;
  std::vector<std::string> follower_replication_throttled_replicas;
  int32_t index_interval_bytes = 4096;
  std::vector<std::string> leader_replication_throttled_replicas;
  int64_t local_retention_bytes = -2;
  int64_t local_retention_ms = -2;
  int64_t max_compaction_lag_ms = INT64_MAX;
  int32_t max_message_bytes = 1'048'588;
  int64_t message_timestamp_after_max_ms = 3'600'000;
  int64_t message_timestamp_before_max_ms = INT64_MAX;
  TimestampType message_timestamp_type = TimestampType::create_time;
  double min_cleanable_dirty_ratio = 0.5;
  int64_t min_compaction_lag_ms = 0;
  int32_t min_insync_replicas = 1;
  bool preallocate = false;
  bool remote_log_copy_disable = false;
  bool remote_log_delete_on_disable = false;
  bool remote_storage_enable = false;
  int64_t retention_bytes = -1;
  int64_t retention_ms = 604'800'000;  // -1: no time limit
  int32_t segment_bytes = 1'073'741'824;
  int32_t segment_index_bytes = 10'485'760;
  int64_t segment_jitter_ms = 0;
  int64_t segment_ms = 604'800'000;
  bool unclean_leader_election_enable = false;
};

// The broker-level layers a topic setting falls back to. Dynamic maps hold Kafka names and
// the text of values already validated when they were set.
struct BrokerLayers {
  const Config* static_config = nullptr;               // the broker config; nullptr: defaults only
  std::map<std::string, std::string> dynamic_broker;   // this broker's dynamic settings
  std::map<std::string, std::string> dynamic_default;  // cluster-wide dynamic defaults
};

struct ConfigSynonymEntry {
  std::string name;
  std::optional<std::string> value;  // null for sensitive values
  ConfigSource source = ConfigSource::default_config;
  bool operator==(const ConfigSynonymEntry&) const = default;
};

// One entry of a DescribeConfigs result.
struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;  // null when the value is null or sensitive
  ConfigSource source = ConfigSource::default_config;
  bool read_only = false;
  bool sensitive = false;
  ConfigType type = ConfigType::string;
  std::string documentation;
  std::vector<ConfigSynonymEntry> synonyms;  // highest precedence first
};

// The broker-level entries for a list of broker names (a topic key's synonyms, or a broker
// key's group), in Kafka's order: dynamic per-broker, dynamic default, static, default.
std::vector<ConfigSynonymEntry> broker_synonyms(const BrokerLayers& broker,
                                                const std::vector<Synonym>& names);

// Every topic setting in name order. `overrides` are the topic's own settings; invalid or
// unknown ones are skipped (they are refused when set, see validate_topic_overrides).
std::vector<ConfigEntry> describe_topic_config(const BrokerLayers& broker,
                                               const std::map<std::string, std::string>& overrides);

// The typed effective settings. Fails when an override or a value a broker setting supplies
// is not valid for the topic setting (e.g. log.roll.ms=0 for segment.ms, which needs >= 1).
Result<TopicConfig> resolve_topic_config(const BrokerLayers& broker,
                                         const std::map<std::string, std::string>& overrides);

// The outcome of a check that maps onto a Kafka error code.
struct ConfigStatus {
  protocol::ErrorCode code = protocol::ErrorCode::none;
  std::string message;
  bool ok() const { return code == protocol::ErrorCode::none; }
};

// Checks topic overrides for CreateTopics / AlterConfigs: unknown names, invalid values,
// min.compaction.lag.ms above max.compaction.lag.ms, tiered storage (not supported). Every
// problem is INVALID_CONFIG; the message lists them all, separated by "; ".
ConfigStatus validate_topic_overrides(const std::map<std::string, std::string>& overrides,
                                      const BrokerLayers& broker = {});

}  // namespace kfk::config

// Broker configuration: the definition of every broker setting kfk knows (Kafka 4.0 names,
// types, defaults and ranges, with a few kfk defaults suited to a single node), loading from
// a TOML file plus `--set key=value` overrides, and the typed BrokerConfig the server uses.
//
// kfk's own choices, all documented in the definitions:
//   node.id 1, process.roles "broker,controller", listeners PLAINTEXT://127.0.0.1:9092,
//   log.dir ./kfk-data, offsets.topic.replication.factor / transaction.state.log.* sized for
//   one node, num.reactor.threads (kfk's thread model; Kafka's num.network.threads and
//   num.io.threads are accepted and ignored), cluster.id (normally read from meta.properties),
//   metadata.log.segment.bytes 16 MiB (the metadata log is trimmed by whole segments),
//   queued.max.request.bytes 100 MiB (Kafka: -1, no bound).
//
// The typed view: read `cfg.num_partitions`, `cfg.listeners`, `cfg.log_dirs`, ...; topic
// defaults that come from broker settings (log.retention.*, log.segment.bytes, ...) are
// resolved into `cfg.log_defaults` exactly as a topic without overrides sees them, and
// `cfg.values` keeps every setting for DescribeConfigs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_def.h"
#include "core/config/listener.h"
#include "core/config/result.h"
#include "core/config/topic_config.h"

namespace kfk::config {

const ConfigDef& broker_config_def();

// max.connections.per.ip.overrides: "host:count" entries separated by commas (IPv6 hosts may
// be in brackets) -> host -> count.
Result<std::map<std::string, int32_t>> parse_per_ip_overrides(std::string_view text);

// Kafka's per-listener form of some broker settings: listener.name.<listener>.<setting>, e.g.
// listener.name.internal.max.connections. `listener` is upper-cased (listener names are
// case-insensitive); `setting` is the broker setting it scopes.
struct ListenerSettingName {
  std::string name;  // the whole name, as given
  std::string listener;
  std::string setting;
};
// The parts of a listener.name.* name; nullopt for any other name.
std::optional<ListenerSettingName> split_listener_setting(std::string_view name);
// Checks a listener.name.* setting (the setting must be one Kafka lets a listener override:
// max.connections, max.connection.creation.rate, connections.max.reauth.ms, ssl.*, sasl.*,
// <mechanism>.sasl.*) and its value; empty when valid, else the error.
std::string check_listener_setting(const ListenerSettingName& n, std::string_view value);

enum class ProcessRole : uint8_t { broker, controller };

struct BrokerConfig {
  Config values;  // every broker setting as given or defaulted

  // Node and cluster.
  int32_t node_id = 1;
  std::vector<ProcessRole> process_roles;
  std::optional<std::string> cluster_id;
  std::optional<std::string> broker_rack;

  // Network. An advertised listener with an empty host means "this machine's host name".
  std::vector<Listener> listeners;
  std::vector<Listener> advertised_listeners;  // defaults to `listeners`
  SecurityProtocolMap listener_security_protocol_map;
  std::vector<std::string> controller_listener_names;
  int32_t num_reactor_threads = 0;  // as set; see reactor_threads()
  int32_t socket_request_max_bytes = 0;
  int32_t socket_send_buffer_bytes = 0;     // -1: the OS default
  int32_t socket_receive_buffer_bytes = 0;  // -1: the OS default
  int32_t socket_listen_backlog_size = 0;
  int64_t connections_max_idle_ms = 0;
  int32_t max_connections = 0;
  int32_t max_connections_per_ip = 0;
  std::map<std::string, int32_t> max_connections_per_ip_overrides;  // host -> limit
  // listener.name.<listener>.<setting> values: listener (upper case) -> setting -> value.
  // Only max.connections has an effect (a limit for that listener's connections).
  std::map<std::string, std::map<std::string, std::string>> listener_settings;
  int64_t queued_max_request_bytes = 0;  // -1: no bound
  int32_t queued_max_requests = 0;
  int32_t fetch_max_bytes = 0;
  int32_t max_incremental_fetch_session_cache_slots = 0;
  int32_t min_incremental_fetch_session_eviction_ms = 0;

  // Storage.
  std::vector<std::string> log_dirs;  // log.dirs, else log.dir
  std::string metadata_log_dir;       // metadata.log.dir, else the first log dir
  int32_t metadata_log_segment_bytes = 16 << 20;
  int64_t metadata_log_max_record_bytes_between_snapshots = 20 << 20;
  int64_t metadata_log_max_snapshot_interval_ms = 3'600'000;  // 0: no snapshots by time
  int64_t log_retention_check_interval_ms = 0;
  int64_t log_flush_scheduler_interval_ms = 0;
  int32_t log_flush_offset_checkpoint_interval_ms = 0;
  int32_t log_flush_start_offset_checkpoint_interval_ms = 0;
  int32_t num_recovery_threads_per_data_dir = 0;
  bool log_cleaner_enable = true;
  int32_t log_cleaner_threads = 0;
  int64_t log_cleaner_dedupe_buffer_size = 0;
  int32_t log_cleaner_io_buffer_size = 0;
  double log_cleaner_io_buffer_load_factor = 0;
  double log_cleaner_io_max_bytes_per_second = 0;
  int64_t log_cleaner_backoff_ms = 0;
  TopicConfig log_defaults;  // what a topic without overrides gets

  // Topics.
  int32_t num_partitions = 0;
  int32_t default_replication_factor = 0;
  bool auto_create_topics_enable = true;
  bool delete_topic_enable = true;

  // Groups and offsets.
  int32_t offsets_topic_num_partitions = 0;
  int16_t offsets_topic_replication_factor = 0;
  int32_t offsets_topic_segment_bytes = 0;
  int64_t offsets_retention_ms = 0;  // offsets.retention.minutes in ms
  int64_t offsets_retention_check_interval_ms = 0;
  int32_t offsets_commit_timeout_ms = 0;
  int32_t offset_metadata_max_bytes = 0;
  int32_t group_initial_rebalance_delay_ms = 0;
  int32_t group_min_session_timeout_ms = 0;
  int32_t group_max_session_timeout_ms = 0;
  int32_t group_max_size = 0;

  // Transactions and producer ids.
  int32_t transaction_max_timeout_ms = 0;
  int32_t transactional_id_expiration_ms = 0;
  int32_t transaction_state_log_num_partitions = 0;
  int16_t transaction_state_log_replication_factor = 0;
  int32_t transaction_state_log_min_isr = 0;
  int32_t transaction_state_log_segment_bytes = 0;
  int32_t producer_id_expiration_ms = 0;
  int32_t producer_id_expiration_check_interval_ms = 0;

  bool has_role(ProcessRole role) const;
  // num.reactor.threads, with 0 meaning the number of CPU cores (at least 1).
  int reactor_threads() const;
  // Topic defaults under their broker names, synonyms resolved (ms > minutes > hours).
  int64_t log_retention_ms() const { return log_defaults.retention_ms; }
  int64_t log_roll_ms() const { return log_defaults.segment_ms; }
  int64_t log_roll_jitter_ms() const { return log_defaults.segment_jitter_ms; }
  int64_t log_flush_interval_ms() const { return log_defaults.flush_ms; }
  // This config as the static layer for topic resolution. Points into *this.
  BrokerLayers layers() const;
};

// Builds and checks a broker config from settings (later settings of the same name win).
// Errors name the setting, its origin and what is accepted.
Result<BrokerConfig> make_broker_config(std::span<const Setting> settings);
Result<BrokerConfig> make_broker_config(const std::map<std::string, std::string>& settings);
// Every default.
BrokerConfig default_broker_config();

// The server's entry point: the TOML file (if any), then the "key=value" overrides, which win
// over the file. Any unknown or invalid setting fails the load with every problem listed.
Result<BrokerConfig> load_broker_config(const std::optional<std::string>& toml_path,
                                        const std::vector<std::string>& overrides);
// The same with the TOML text in memory; `source_name` names it in errors.
Result<BrokerConfig> load_broker_config_from_string(std::string_view toml_text,
                                                    const std::vector<std::string>& overrides,
                                                    std::string_view source_name = "<config>");

// DescribeConfigs for a broker: every setting in definition order with its value, source,
// read-only flag and synonyms (the ms/minutes/hours groups), as Kafka reports them.
std::vector<ConfigEntry> describe_broker_config(const BrokerLayers& broker);

// Checks an AlterConfigs / IncrementalAlterConfigs change of broker settings (a null value
// removes a dynamic setting). `cluster_default`: the change targets the cluster-wide default
// rather than one broker. Unknown names, read-only settings, per-broker-only settings at
// cluster level and invalid values give INVALID_REQUEST, as Kafka answers.
ConfigStatus validate_dynamic_broker_update(
    const std::map<std::string, std::optional<std::string>>& changes, bool cluster_default);

}  // namespace kfk::config

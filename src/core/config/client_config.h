// Client properties: the Kafka client settings the CLI takes as `-X key=value`, with the Java
// client's names, defaults and ranges (Kafka 4.0), one definition for producer, consumer and
// admin use. The Java client's cross-setting rules apply:
//
//   - enable.idempotence left at its default is turned off when acks is not all, retries is 0
//     or max.in.flight.requests.per.connection is above 5; set explicitly to true, those
//     combinations are errors. transactional.id needs idempotence.
//   - delivery.timeout.ms below linger.ms + request.timeout.ms is raised to that sum, or is an
//     error when set explicitly.
//   - without group.id, enable.auto.commit is off; explicitly true it is an error.
//   - with a group.id, heartbeat.interval.ms must be below session.timeout.ms.
//
// kfk's own spellings: `partitioner` takes librdkafka's names (murmur2_random, the Java
// client's hashing, is the default) and partition.assignment.strategy takes range,
// roundrobin, cooperative-sticky (the Java class names are accepted too).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config/config_def.h"
#include "core/config/listener.h"
#include "core/config/result.h"
#include "core/record/compression.h"

namespace kfk::config {

const ConfigDef& client_config_def();

enum class Partitioner : uint8_t {
  murmur2_random,  // murmur2 of the key; records without a key spread
  murmur2,
  consistent_random,  // CRC32 of the key; records without a key spread
  consistent,
  random,
  fnv1a,
  fnv1a_random,
  round_robin,  // kfk: every record to the next partition, keys ignored
  sticky,       // kfk: keys ignored, records stick to a partition until its batch is full
};
enum class OffsetReset : uint8_t { earliest, latest, none, by_duration };
enum class IsolationLevel : uint8_t { read_uncommitted, read_committed };
enum class GroupProtocol : uint8_t { classic, consumer };
enum class Assignor : uint8_t { range, roundrobin, cooperative_sticky };

struct ClientConfig {
  Config values;  // every property as given or defaulted

  // Common.
  std::vector<std::string> bootstrap_servers;  // "host:port"
  std::string client_id;
  std::string client_rack;
  SecurityProtocol security_protocol = SecurityProtocol::plaintext;
  int32_t request_timeout_ms = 30'000;
  int32_t default_api_timeout_ms = 60'000;
  int64_t socket_connection_setup_timeout_ms = 10'000;
  int64_t socket_connection_setup_timeout_max_ms = 30'000;
  int64_t connections_max_idle_ms = 540'000;
  int64_t metadata_max_age_ms = 300'000;
  int64_t reconnect_backoff_ms = 50;
  int64_t reconnect_backoff_max_ms = 1000;
  int64_t retry_backoff_ms = 100;
  int64_t retry_backoff_max_ms = 1000;

  // Producer.
  int16_t acks = -1;  // -1 (all), 0 or 1
  record::Compression compression = record::Compression::none;
  int32_t compression_gzip_level = -1;
  int32_t compression_lz4_level = 9;
  int32_t compression_zstd_level = 3;
  int64_t linger_ms = 5;
  int32_t batch_size = 16'384;
  int64_t buffer_memory = 33'554'432;
  int32_t max_request_size = 1'048'576;
  int64_t max_block_ms = 60'000;
  bool enable_idempotence = true;  // effective, after the rules above
  int32_t max_in_flight_requests_per_connection = 5;
  int32_t retries = INT32_MAX;
  int32_t delivery_timeout_ms = 120'000;  // effective, after the rules above
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 60'000;
  Partitioner partitioner = Partitioner::murmur2_random;
  bool partitioner_ignore_keys = false;

  // Consumer.
  std::optional<std::string> group_id;
  std::optional<std::string> group_instance_id;
  GroupProtocol group_protocol = GroupProtocol::classic;
  OffsetReset auto_offset_reset = OffsetReset::latest;
  int64_t auto_offset_reset_duration_ms = 0;  // by_duration only
  bool enable_auto_commit = true;             // effective
  int32_t auto_commit_interval_ms = 5000;
  int32_t session_timeout_ms = 45'000;
  int32_t heartbeat_interval_ms = 3000;
  int32_t max_poll_interval_ms = 300'000;
  int32_t max_poll_records = 500;
  IsolationLevel isolation_level = IsolationLevel::read_uncommitted;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_wait_ms = 500;
  int32_t fetch_max_bytes = 52'428'800;
  int32_t max_partition_fetch_bytes = 1'048'576;
  std::vector<Assignor> partition_assignment_strategy;
  bool check_crcs = true;
  bool allow_auto_create_topics = true;
  bool exclude_internal_topics = true;
};

Result<ClientConfig> make_client_config(std::span<const Setting> settings);
Result<ClientConfig> make_client_config(const std::map<std::string, std::string>& properties);
// From "key=value" arguments (-X); errors are prefixed with "-X".
Result<ClientConfig> parse_client_properties(const std::vector<std::string>& args);

// "PT1H30M", "P2D", "PT0.5S", "-PT1M" (ISO-8601 as Java's Duration.parse) in milliseconds.
std::optional<int64_t> parse_iso_duration_ms(std::string_view text);

}  // namespace kfk::config

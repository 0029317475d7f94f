#include "core/config/topic_config.h"

#include <fmt/format.h>

#include <limits>

#include "core/config/broker_config.h"
#include "core/config/kafka_compat_configs.h"

namespace kfk::config {

namespace {

using T = ConfigType;
constexpr auto kMedium = Importance::medium;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kMinute = 60'000;
std::string long_max() { return std::to_string(std::numeric_limits<int64_t>::max()); }

// "*" or "partition:broker" pairs, as Kafka's replication throttle lists.
Validator throttled_replicas() {
  return custom("\"*\" or a list of partition:broker pairs, e.g. 0:101,1:102",
                [](const ConfigValue& v) -> std::string {
                  const auto& items = v.as_list();
                  if (items.size() == 1 && items[0] == "*") return {};
                  for (const auto& item : items) {
                    const auto colon = item.find(':');
                    const bool ok = colon != std::string::npos && colon > 0 &&
                                    colon + 1 < item.size() &&
                                    item.find_first_not_of("0123456789:") == std::string::npos &&
                                    item.find(':', colon + 1) == std::string::npos;
                    if (!ok) return fmt::format("'{}' is not a partition:broker pair", item);
                  }
                  return {};
                });
}

ConfigDef build_topic_def() {
  ConfigDef d;
  d.define("cleanup.policy", T::list, "delete", list_of({"compact", "delete"}), kMedium,
           "What happens to old segments: \"delete\" removes them once past the retention "
           "limits, \"compact\" keeps only the latest record of each key; both may be given.")
      .synonym("log.cleanup.policy");
  d.define("compression.gzip.level", T::int32, "-1", gzip_level_validator(), kMedium,
           "Level used when compression.type is gzip.")
      .synonym("compression.gzip.level");
  d.define("compression.lz4.level", T::int32, "9", between(1, 17), kMedium,
           "Level used when compression.type is lz4.")
      .synonym("compression.lz4.level");
  d.define("compression.type", T::string, "producer",
           one_of({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}), kMedium,
           "Codec the topic's batches are stored with; \"producer\" keeps whatever codec the "
           "producer used, \"uncompressed\" stores them uncompressed.")
      .synonym("compression.type");
  d.define("compression.zstd.level", T::int32, "3", between(-131072, 22), kMedium,
           "Level used when compression.type is zstd.")
      .synonym("compression.zstd.level");
  d.define("delete.retention.ms", T::int64, "86400000", at_least(0), kMedium,
           "How long delete markers (tombstones) stay in a compacted topic; a consumer reading "
           "from the start must finish within this time to see every deletion.")
      .synonym("log.cleaner.delete.retention.ms");
  d.define("file.delete.delay.ms", T::int64, "60000", at_least(0), kMedium,
           "Delay before a removed segment's files are deleted from disk.")
      .synonym("log.segment.delete.delay.ms");
  d.define("flush.messages", T::int64, long_max(), at_least(1), kMedium,
           "Force an fsync after this many messages; by default the OS decides and durability "
           "comes from replication.")
      .synonym("log.flush.interval.messages");
  d.define("flush.ms", T::int64, long_max(), at_least(0), kMedium,
           "Force an fsync when the oldest unflushed message is this old.")
      .synonym("log.flush.interval.ms")
      .synonym("log.flush.scheduler.interval.ms");
  d.define("follower.replication.throttled.replicas", T::list, "", throttled_replicas(), kMedium,
           "Replicas whose follower-side replication is throttled (kfk accepts and keeps the "
           "setting; it has no effect on a single node).");
  d.define("index.interval.bytes", T::int32, "4096", at_least(0), kMedium,
           "Bytes of log between two entries of the offset index.")
      .synonym("log.index.interval.bytes");
  d.define("leader.replication.throttled.replicas", T::list, "", throttled_replicas(), kMedium,
           "Replicas whose leader-side replication is throttled (kept, no effect on a single "
           "node).");
  d.define("local.retention.bytes", T::int64, "-2", at_least(-2), kMedium,
           "Tiered storage: local size limit; -2 means use retention.bytes.")
      .synonym("log.local.retention.bytes");
  d.define("local.retention.ms", T::int64, "-2", at_least(-2), kMedium,
           "Tiered storage: local time limit; -2 means use retention.ms.")
      .synonym("log.local.retention.ms");
  d.define("max.compaction.lag.ms", T::int64, long_max(), at_least(1), kMedium,
           "Longest a record may stay uncompacted in a compacted topic.")
      .synonym("log.cleaner.max.compaction.lag.ms");
  d.define("max.message.bytes", T::int32, "1048588", at_least(0), kMedium,
           "Largest record batch the topic accepts, after compression.")
      .synonym("message.max.bytes");
  define_kafka_compat_topic_key(d, "message.downconversion.enable");
  define_kafka_compat_topic_key(d, "message.format.version");
  d.define("message.timestamp.after.max.ms", T::int64, "3600000", at_least(0), kMedium,
           "With CreateTime, batches whose timestamp is more than this ahead of the broker's "
           "clock are refused.")
      .synonym("log.message.timestamp.after.max.ms");
  d.define("message.timestamp.before.max.ms", T::int64, long_max(), at_least(0), kMedium,
           "With CreateTime, batches whose timestamp is more than this behind the broker's "
           "clock are refused.")
      .synonym("log.message.timestamp.before.max.ms");
  define_kafka_compat_topic_key(d, "message.timestamp.difference.max.ms");
  d.define("message.timestamp.type", T::string, "CreateTime",
           one_of({"CreateTime", "LogAppendTime"}), kMedium,
           "Which timestamp records keep: the producer's (CreateTime) or the time the broker "
           "appended them (LogAppendTime).")
      .synonym("log.message.timestamp.type");
  d.define("min.cleanable.dirty.ratio", T::float64, "0.5", between(0, 1), kMedium,
           "Compaction starts once the uncompacted part of the log exceeds this share.")
      .synonym("log.cleaner.min.cleanable.ratio");
  d.define("min.compaction.lag.ms", T::int64, "0", at_least(0), kMedium,
           "Shortest time a record stays uncompacted.")
      .synonym("log.cleaner.min.compaction.lag.ms");
  d.define("min.insync.replicas", T::int32, "1", at_least(1), kMedium,
           "Replicas that must have a write before an acks=all produce succeeds.")
      .synonym("min.insync.replicas");
  d.define("preallocate", T::boolean, "false", no_validator(), kMedium,
           "Allocate a new segment's full size on disk when it is created.")
      .synonym("log.preallocate");
  d.define("remote.log.copy.disable", T::boolean, "false", no_validator(), kMedium,
           "Tiered storage: stop copying segments to remote storage (not supported by kfk).");
  d.define("remote.log.delete.on.disable", T::boolean, "false", no_validator(), kMedium,
           "Tiered storage: delete remote data when tiering is turned off (not supported by "
           "kfk).");
  d.define("remote.storage.enable", T::boolean, "false", no_validator(), kMedium,
           "Tiered storage for the topic; kfk has none, so only false is accepted.");
  d.define("retention.bytes", T::int64, "-1", no_validator(), kMedium,
           "Size limit of each partition's log before old segments go; -1 means no limit.")
      .synonym("log.retention.bytes");
  d.define("retention.ms", T::int64, "604800000", at_least(-1), kMedium,
           "Time limit before old segments go; -1 means no limit.")
      .synonym("log.retention.ms")
      .synonym("log.retention.minutes", kMinute)
      .synonym("log.retention.hours", kHour);
  d.define("segment.bytes", T::int32, "1073741824", at_least(1024 * 1024), kMedium,
           "Size at which a partition's active segment is rolled.")
      .synonym("log.segment.bytes");
  d.define("segment.index.bytes", T::int32, "10485760", at_least(4), kMedium,
           "Size of each segment's offset index.")
      .synonym("log.index.size.max.bytes");
  d.define("segment.jitter.ms", T::int64, "0", at_least(0), kMedium,
           "Random amount up to this value subtracted from segment.ms, to spread rolls.")
      .synonym("log.roll.jitter.ms")
      .synonym("log.roll.jitter.hours", kHour);
  d.define("segment.ms", T::int64, "604800000", at_least(1), kMedium,
           "Age at which the active segment is rolled even if not full, so retention and "
           "compaction can act on it.")
      .synonym("log.roll.ms")
      .synonym("log.roll.hours", kHour);
  d.define("unclean.leader.election.enable", T::boolean, "false", no_validator(), kMedium,
           "Let an out-of-sync replica become leader as a last resort, at the cost of data loss.")
      .synonym("unclean.leader.election.enable");
  return d;
}

// One broker-level candidate for a topic setting.
struct Candidate {
  const ConfigKey* broker_key;
  int64_t scale;
  ConfigValue value;  // as the broker key parses it
  std::string text;
  ConfigSource source;
};

// Broker values for the synonyms of a topic key, in Kafka's order.
std::vector<Candidate> broker_candidates(const BrokerLayers& layers,
                                         const std::vector<Synonym>& synonyms) {
  const ConfigDef& bdef = broker_config_def();
  std::vector<Candidate> out;
  auto from_map = [&](const std::map<std::string, std::string>& map, ConfigSource source) {
    for (const auto& s : synonyms) {
      const ConfigKey* key = bdef.find(s.name);
      auto it = map.find(s.name);
      if (key == nullptr || it == map.end()) continue;
      auto parsed = bdef.parse_value(*key, it->second);
      if (!parsed.ok()) continue;  // refused when it was set; never used
      out.push_back({key, s.scale, std::move(parsed).value(), it->second, source});
    }
  };
  from_map(layers.dynamic_broker, ConfigSource::dynamic_broker_config);
  from_map(layers.dynamic_default, ConfigSource::dynamic_default_broker_config);
  for (const auto& s : synonyms) {
    const ConfigKey* key = bdef.find(s.name);
    if (key == nullptr || layers.static_config == nullptr || !layers.static_config->is_set(s.name))
      continue;
    const ConfigValue& v = layers.static_config->get(s.name);
    out.push_back({key, s.scale, v, format_value(v, key->type).value_or(""),
                   ConfigSource::static_broker_config});
  }
  for (const auto& s : synonyms) {
    const ConfigKey* key = bdef.find(s.name);
    if (key == nullptr || key->default_value.is_null()) continue;
    out.push_back({key, s.scale, key->default_value,
                   format_value(key->default_value, key->type).value_or(""),
                   ConfigSource::default_config});
  }
  return out;
}

// A broker value in the topic key's unit.
ConfigValue to_topic_value(const ConfigKey& topic_key, const Candidate& c) {
  ConfigValue v = c.value;
  if (v.is_int() && c.scale != 1) v = ConfigValue::integer(v.as_int() * c.scale);
  // Kafka turns any negative broker retention time into "unlimited".
  if (topic_key.name == "retention.ms" && v.is_int() && v.as_int() < 0) {
    v = ConfigValue::integer(-1);
  }
  return v;
}

struct Effective {
  const ConfigKey* key;
  ConfigValue value;
  ConfigSource source;
  std::vector<ConfigSynonymEntry> synonyms;
  std::string error;  // set when an override or broker value is not valid for the topic key
};

std::vector<Effective> resolve_all(const BrokerLayers& layers,
                                   const std::map<std::string, std::string>& overrides) {
  const ConfigDef& tdef = topic_config_def();
  std::vector<Effective> out;
  out.reserve(tdef.keys().size());
  for (const ConfigKey& key : tdef.keys()) {
    Effective e{&key, key.default_value, ConfigSource::default_config, {}, {}};
    bool overridden = false;
    if (auto it = overrides.find(key.name); it != overrides.end()) {
      auto parsed = tdef.parse_value(key, it->second);
      if (parsed.ok()) {
        e.value = std::move(parsed).value();
        e.source = ConfigSource::dynamic_topic_config;
        e.synonyms.push_back({key.name, format_value(e.value, key.type), e.source});
        overridden = true;
      } else {
        e.error = parsed.error_text();
      }
    }
    const auto candidates = broker_candidates(layers, key.synonyms);
    for (const auto& c : candidates) {
      e.synonyms.push_back({c.broker_key->name, c.text, c.source});
    }
    if (!overridden && !candidates.empty()) {
      const Candidate& c = candidates.front();
      e.value = to_topic_value(key, c);
      e.source = c.source;
      std::string why = key.validator.validate(e.value);
      if (!why.empty() && e.error.empty()) {
        e.error = fmt::format(
            "invalid value {} for configuration {} (used for {}): {}; "
            "accepted: {}",
            c.text, c.broker_key->name, key.name, why, key.validator.describe());
      }
    }
    if (key.sensitive()) {
      for (auto& s : e.synonyms) s.value.reset();
    }
    out.push_back(std::move(e));
  }
  return out;
}

TopicConfig to_typed(const std::vector<Effective>& values) {
  TopicConfig t;
  for (const auto& e : values) {
    const std::string& n = e.key->name;
    const ConfigValue& v = e.value;
    auto i32 = [&] { return static_cast<int32_t>(v.as_int()); };
    if (n == "cleanup.policy") {
      t.cleanup_delete = t.cleanup_compact = false;
      for (const auto& p : v.as_list()) {
        if (p == "delete") t.cleanup_delete = true;
        if (p == "compact") t.cleanup_compact = true;
      }
    } else if (n == "compression.gzip.level") {
      t.compression_gzip_level = i32();
    } else if (n == "compression.lz4.level") {
      t.compression_lz4_level = i32();
    } else if (n == "compression.type") {
      t.compression = record::parse_compression(v.as_string());  // "producer" -> nullopt
    } else if (n == "compression.zstd.level") {
      t.compression_zstd_level = i32();
    } else if (n == "delete.retention.ms") {
      t.delete_retention_ms = v.as_int();
    } else if (n == "file.delete.delay.ms") {
      t.file_delete_delay_ms = v.as_int();
    } else if (n == "flush.messages") {
      t.flush_messages = v.as_int();
    } else if (n == "flush.ms") {
      t.flush_ms = v.as_int();
    } else if (n == "follower.replication.throttled.replicas") {
      t.follower_replication_throttled_replicas = v.as_list();
    } else if (n == "index.interval.bytes") {
      t.index_interval_bytes = i32();
    } else if (n == "leader.replication.throttled.replicas") {
      t.leader_replication_throttled_replicas = v.as_list();
    } else if (n == "local.retention.bytes") {
      t.local_retention_bytes = v.as_int();
    } else if (n == "local.retention.ms") {
      t.local_retention_ms = v.as_int();
    } else if (n == "max.compaction.lag.ms") {
      t.max_compaction_lag_ms = v.as_int();
    } else if (n == "max.message.bytes") {
      t.max_message_bytes = i32();
    } else if (n == "message.timestamp.after.max.ms") {
      t.message_timestamp_after_max_ms = v.as_int();
    } else if (n == "message.timestamp.before.max.ms") {
      t.message_timestamp_before_max_ms = v.as_int();
    } else if (n == "message.timestamp.type") {
      t.message_timestamp_type = v.as_string() == "LogAppendTime" ? TimestampType::log_append_time
                                                                  : TimestampType::create_time;
    } else if (n == "min.cleanable.dirty.ratio") {
      t.min_cleanable_dirty_ratio = v.as_double();
    } else if (n == "min.compaction.lag.ms") {
      t.min_compaction_lag_ms = v.as_int();
    } else if (n == "min.insync.replicas") {
      t.min_insync_replicas = i32();
    } else if (n == "preallocate") {
      t.preallocate = v.as_bool();
    } else if (n == "remote.log.copy.disable") {
      t.remote_log_copy_disable = v.as_bool();
    } else if (n == "remote.log.delete.on.disable") {
      t.remote_log_delete_on_disable = v.as_bool();
    } else if (n == "remote.storage.enable") {
      t.remote_storage_enable = v.as_bool();
    } else if (n == "retention.bytes") {
      t.retention_bytes = v.as_int();
    } else if (n == "retention.ms") {
      t.retention_ms = v.as_int();
    } else if (n == "segment.bytes") {
      t.segment_bytes = i32();
    } else if (n == "segment.index.bytes") {
      t.segment_index_bytes = i32();
    } else if (n == "segment.jitter.ms") {
      t.segment_jitter_ms = v.as_int();
    } else if (n == "segment.ms") {
      t.segment_ms = v.as_int();
    } else if (n == "unclean.leader.election.enable") {
      t.unclean_leader_election_enable = v.as_bool();
    }
  }
  return t;
}

}  // namespace

Validator gzip_level_validator() {
  return custom("-1 (the codec's default) or [1,...,9]", [](const ConfigValue& v) -> std::string {
    const int64_t l = v.as_int();
    if (l == -1 || (l >= 1 && l <= 9)) return {};
    return "must be -1 or between 1 and 9";
  });
}

std::vector<ConfigSynonymEntry> broker_synonyms(const BrokerLayers& broker,
                                                const std::vector<Synonym>& names) {
  std::vector<ConfigSynonymEntry> out;
  for (const auto& c : broker_candidates(broker, names)) {
    out.push_back({c.broker_key->name,
                   c.broker_key->sensitive() ? std::nullopt : std::optional<std::string>(c.text),
                   c.source});
  }
  return out;
}

const ConfigDef& topic_config_def() {
  static const ConfigDef def = build_topic_def();
  return def;
}

std::vector<ConfigEntry> describe_topic_config(
    const BrokerLayers& broker, const std::map<std::string, std::string>& overrides) {
  std::vector<ConfigEntry> out;
  for (auto& e : resolve_all(broker, overrides)) {
    ConfigEntry entry;
    entry.name = e.key->name;
    entry.value = e.key->sensitive() ? std::nullopt : format_value(e.value, e.key->type);
    entry.source = e.source;
    entry.read_only = false;  // every topic setting can be altered
    entry.sensitive = e.key->sensitive();
    entry.type = e.key->type;
    entry.documentation = e.key->doc;
    entry.synonyms = std::move(e.synonyms);
    out.push_back(std::move(entry));
  }
  return out;
}

Result<TopicConfig> resolve_topic_config(const BrokerLayers& broker,
                                         const std::map<std::string, std::string>& overrides) {
  const auto values = resolve_all(broker, overrides);
  std::vector<std::string> errors;
  for (const auto& name_value : overrides) {
    if (topic_config_def().find(name_value.first) == nullptr) {
      errors.push_back(topic_config_def().unknown_message(name_value.first));
    }
  }
  for (const auto& e : values) {
    if (!e.error.empty()) errors.push_back(e.error);
  }
  if (!errors.empty()) return Result<TopicConfig>::failure(std::move(errors));
  return to_typed(values);
}

ConfigStatus validate_topic_overrides(const std::map<std::string, std::string>& overrides,
                                      const BrokerLayers& broker) {
  std::vector<std::string> errors;
  for (const auto& name_value : overrides)
    if (const ConfigKey* key = topic_config_def().find(name_value.first); key && key->no_effect)
      warn_deprecated_once(*key);
  auto typed = resolve_topic_config(broker, overrides);
  if (!typed.ok()) {
    errors = typed.errors();
  } else {
    const TopicConfig& t = typed.value();
    if (t.min_compaction_lag_ms > t.max_compaction_lag_ms) {
      errors.push_back(
          fmt::format("conflicting topic settings: min.compaction.lag.ms ({}) is greater than "
                      "max.compaction.lag.ms ({})",
                      t.min_compaction_lag_ms, t.max_compaction_lag_ms));
    }
    if (t.remote_storage_enable) {
      errors.push_back("remote.storage.enable=true is not supported: kfk has no tiered storage");
    }
  }
  if (errors.empty()) return {};
  std::string message;
  for (const auto& e : errors) {
    if (!message.empty()) message += "; ";
    message += e;
  }
  return {protocol::ErrorCode::invalid_config, std::move(message)};
}

}  // namespace kfk::config

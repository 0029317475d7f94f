#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>

#include "core/config/broker_config.h"
#include "core/config/kafka_compat_configs.h"
#include "core/config/topic_config.h"

using namespace kfk::config;
using kfk::protocol::ErrorCode;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

const ConfigEntry& entry(const std::vector<ConfigEntry>& entries, std::string_view name) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const ConfigEntry& e) { return e.name == name; });
  REQUIRE(it != entries.end());
  return *it;
}

BrokerConfig broker(const std::map<std::string, std::string>& settings) {
  auto r = make_broker_config(settings);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("config: topic config names, types and defaults are Kafka's") {
  const ConfigDef& d = topic_config_def();
  auto check = [&](std::string_view name, ConfigType type, std::string_view def,
                   std::string_view first_synonym) {
    CAPTURE(name);
    const ConfigKey* k = d.find(name);
    REQUIRE(k != nullptr);
    CHECK(k->type == type);
    CHECK(k->default_text == std::string(def));
    if (first_synonym.empty()) {
      CHECK(k->synonyms.empty());
    } else {
      REQUIRE(!k->synonyms.empty());
      CHECK(k->synonyms[0].name == first_synonym);
      CHECK(broker_config_def().find(first_synonym) != nullptr);
    }
  };
  const std::string long_max = std::to_string(std::numeric_limits<int64_t>::max());
  check("cleanup.policy", ConfigType::list, "delete", "log.cleanup.policy");
  check("compression.type", ConfigType::string, "producer", "compression.type");
  check("delete.retention.ms", ConfigType::int64, "86400000", "log.cleaner.delete.retention.ms");
  check("file.delete.delay.ms", ConfigType::int64, "60000", "log.segment.delete.delay.ms");
  check("flush.messages", ConfigType::int64, long_max, "log.flush.interval.messages");
  check("flush.ms", ConfigType::int64, long_max, "log.flush.interval.ms");
  check("index.interval.bytes", ConfigType::int32, "4096", "log.index.interval.bytes");
  check("max.compaction.lag.ms", ConfigType::int64, long_max, "log.cleaner.max.compaction.lag.ms");
  check("max.message.bytes", ConfigType::int32, "1048588", "message.max.bytes");
  check("message.timestamp.type", ConfigType::string, "CreateTime", "log.message.timestamp.type");
  check("message.timestamp.before.max.ms", ConfigType::int64, long_max,
        "log.message.timestamp.before.max.ms");
  check("message.timestamp.after.max.ms", ConfigType::int64, "3600000",
        "log.message.timestamp.after.max.ms");
  check("min.cleanable.dirty.ratio", ConfigType::float64, "0.5", "log.cleaner.min.cleanable.ratio");
  check("min.compaction.lag.ms", ConfigType::int64, "0", "log.cleaner.min.compaction.lag.ms");
  check("min.insync.replicas", ConfigType::int32, "1", "min.insync.replicas");
  check("preallocate", ConfigType::boolean, "false", "log.preallocate");
  check("retention.bytes", ConfigType::int64, "-1", "log.retention.bytes");
  check("retention.ms", ConfigType::int64, "604800000", "log.retention.ms");
  check("segment.bytes", ConfigType::int32, "1073741824", "log.segment.bytes");
  check("segment.index.bytes", ConfigType::int32, "10485760", "log.index.size.max.bytes");
  check("segment.jitter.ms", ConfigType::int64, "0", "log.roll.jitter.ms");
  check("segment.ms", ConfigType::int64, "604800000", "log.roll.ms");
  check("unclean.leader.election.enable", ConfigType::boolean, "false",
        "unclean.leader.election.enable");
  check("local.retention.ms", ConfigType::int64, "-2", "log.local.retention.ms");
  check("local.retention.bytes", ConfigType::int64, "-2", "log.local.retention.bytes");
  check("remote.storage.enable", ConfigType::boolean, "false", "");
  // Every synonym of every topic key is a broker key.
  for (const ConfigKey& k : d.keys()) {
    for (const Synonym& s : k.synonyms) {
      CAPTURE(s.name);
      CHECK(broker_config_def().find(s.name) != nullptr);
    }
  }
  // Sorted by name, as DescribeConfigs lists them.
  CHECK(std::is_sorted(d.keys().begin(), d.keys().end(),
                       [](const ConfigKey& a, const ConfigKey& b) { return a.name < b.name; }));
}

TEST_CASE("config: topic effective config with sources and synonyms") {
  const BrokerConfig b = broker({{"log.retention.hours", "24"}, {"log.segment.bytes", "2097152"}});
  BrokerLayers layers = b.layers();
  layers.dynamic_default["message.max.bytes"] = "3000000";
  layers.dynamic_broker["message.max.bytes"] = "4000000";
  const std::map<std::string, std::string> overrides = {{"cleanup.policy", "compact"},
                                                        {"segment.bytes", "4194304"}};
  const auto entries = describe_topic_config(layers, overrides);
  CHECK(entries.size() == topic_config_def().keys().size());

  // A topic override.
  const ConfigEntry& cleanup = entry(entries, "cleanup.policy");
  CHECK(cleanup.value == "compact");
  CHECK(cleanup.source == ConfigSource::dynamic_topic_config);
  CHECK(cleanup.type == ConfigType::list);
  CHECK(!cleanup.read_only);
  CHECK(!cleanup.sensitive);
  CHECK(!cleanup.documentation.empty());
  REQUIRE(cleanup.synonyms.size() == 2);
  CHECK(cleanup.synonyms[0] ==
        ConfigSynonymEntry{"cleanup.policy", "compact", ConfigSource::dynamic_topic_config});
  CHECK(cleanup.synonyms[1] ==
        ConfigSynonymEntry{"log.cleanup.policy", "delete", ConfigSource::default_config});

  // An override hides a static broker value, which stays in the chain.
  const ConfigEntry& seg = entry(entries, "segment.bytes");
  CHECK(seg.value == "4194304");
  REQUIRE(seg.synonyms.size() == 3);
  CHECK(seg.synonyms[1] ==
        ConfigSynonymEntry{"log.segment.bytes", "2097152", ConfigSource::static_broker_config});
  CHECK(seg.synonyms[2] ==
        ConfigSynonymEntry{"log.segment.bytes", "1073741824", ConfigSource::default_config});

  // From a static broker setting in another unit.
  const ConfigEntry& ret = entry(entries, "retention.ms");
  CHECK(ret.value == "86400000");
  CHECK(ret.source == ConfigSource::static_broker_config);
  REQUIRE(ret.synonyms.size() == 2);
  CHECK(ret.synonyms[0] ==
        ConfigSynonymEntry{"log.retention.hours", "24", ConfigSource::static_broker_config});
  CHECK(ret.synonyms[1] ==
        ConfigSynonymEntry{"log.retention.hours", "168", ConfigSource::default_config});

  // Dynamic per-broker beats the dynamic cluster default.
  const ConfigEntry& mmb = entry(entries, "max.message.bytes");
  CHECK(mmb.value == "4000000");
  CHECK(mmb.source == ConfigSource::dynamic_broker_config);
  REQUIRE(mmb.synonyms.size() == 3);
  CHECK(mmb.synonyms[0].source == ConfigSource::dynamic_broker_config);
  CHECK(mmb.synonyms[1] == ConfigSynonymEntry{"message.max.bytes", "3000000",
                                              ConfigSource::dynamic_default_broker_config});
  CHECK(mmb.synonyms[2].source == ConfigSource::default_config);

  // Plain defaults.
  const ConfigEntry& ratio = entry(entries, "min.cleanable.dirty.ratio");
  CHECK(ratio.value == "0.5");
  CHECK(ratio.source == ConfigSource::default_config);
  const ConfigEntry& remote = entry(entries, "remote.storage.enable");
  CHECK(remote.value == "false");
  CHECK(remote.source == ConfigSource::default_config);
  CHECK(remote.synonyms.empty());
  CHECK(entry(entries, "flush.messages").value ==
        std::to_string(std::numeric_limits<int64_t>::max()));
  CHECK(entry(entries, "follower.replication.throttled.replicas").value == "");
}

TEST_CASE("config: topic synonyms follow ms > minutes > hours within and across layers") {
  BrokerLayers layers;  // defaults only
  auto retention = [&](const std::map<std::string, std::string>& overrides = {}) {
    auto r = resolve_topic_config(layers, overrides);
    REQUIRE_MESSAGE(r.ok(), r.error_text());
    return r.value().retention_ms;
  };
  CHECK(retention() == 604'800'000);
  layers.dynamic_default["log.retention.ms"] = "1000";
  CHECK(retention() == 1000);
  layers.dynamic_broker["log.retention.ms"] = "2000";
  CHECK(retention() == 2000);
  CHECK(retention({{"retention.ms", "3000"}}) == 3000);
  layers.dynamic_broker["log.retention.ms"] = "-7";
  CHECK(retention() == -1);

  const BrokerConfig b = broker({{"log.retention.minutes", "10"}, {"log.roll.hours", "1"}});
  BrokerLayers s = b.layers();
  auto t = resolve_topic_config(s, {});
  REQUIRE(t.ok());
  CHECK(t.value().retention_ms == 600'000);
  CHECK(t.value().segment_ms == 3'600'000);
  s.dynamic_default["log.roll.ms"] = "1234";
  CHECK(resolve_topic_config(s, {}).value().segment_ms == 1234);
  const auto e = describe_topic_config(s, {});
  const ConfigEntry& seg = entry(e, "segment.ms");
  CHECK(seg.source == ConfigSource::dynamic_default_broker_config);
  REQUIRE(seg.synonyms.size() == 3);
  CHECK(seg.synonyms[0].name == "log.roll.ms");
  CHECK(seg.synonyms[1] ==
        ConfigSynonymEntry{"log.roll.hours", "1", ConfigSource::static_broker_config});
  CHECK(seg.synonyms[2] ==
        ConfigSynonymEntry{"log.roll.hours", "168", ConfigSource::default_config});
  const ConfigEntry& flush = entry(e, "flush.ms");
  REQUIRE(flush.synonyms.size() == 1);
  CHECK(flush.synonyms[0].name == "log.flush.scheduler.interval.ms");
}

TEST_CASE("config: typed topic config from overrides") {
  auto r = resolve_topic_config({}, {{"cleanup.policy", "compact,delete"},
                                     {"compression.type", "lz4"},
                                     {"compression.lz4.level", "12"},
                                     {"message.timestamp.type", "LogAppendTime"},
                                     {"min.insync.replicas", "2"},
                                     {"retention.bytes", "1000000"},
                                     {"segment.jitter.ms", "10"},
                                     {"unclean.leader.election.enable", "true"},
                                     {"leader.replication.throttled.replicas", "0:1,1:2"}});
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  const TopicConfig& t = r.value();
  CHECK(t.cleanup_compact);
  CHECK(t.cleanup_delete);
  CHECK(t.compression == kfk::record::Compression::lz4);
  CHECK(t.compression_lz4_level == 12);
  CHECK(t.message_timestamp_type == TimestampType::log_append_time);
  CHECK(t.min_insync_replicas == 2);
  CHECK(t.retention_bytes == 1000000);
  CHECK(t.segment_jitter_ms == 10);
  CHECK(t.unclean_leader_election_enable);
  CHECK(t.leader_replication_throttled_replicas == std::vector<std::string>{"0:1", "1:2"});
  // An empty cleanup policy means neither.
  auto none = resolve_topic_config({}, {{"cleanup.policy", ""}});
  REQUIRE(none.ok());
  CHECK(!none.value().cleanup_delete);
  CHECK(!none.value().cleanup_compact);
  // Defaults of the struct match the definitions.
  auto defaults = resolve_topic_config({}, {});
  REQUIRE(defaults.ok());
  const TopicConfig d = defaults.value();
  const TopicConfig plain;
  CHECK(d.retention_ms == plain.retention_ms);
  CHECK(d.segment_bytes == plain.segment_bytes);
  CHECK(d.message_timestamp_after_max_ms == plain.message_timestamp_after_max_ms);
  CHECK(d.flush_ms == plain.flush_ms);
  CHECK(d.max_compaction_lag_ms == plain.max_compaction_lag_ms);
  CHECK(d.local_retention_ms == plain.local_retention_ms);
  CHECK(d.compression == plain.compression);
}

TEST_CASE("config: topic overrides are validated for CreateTopics and AlterConfigs") {
  CHECK(validate_topic_overrides({}).ok());
  CHECK(validate_topic_overrides({{"retention.ms", "-1"}, {"cleanup.policy", "compact"}}).ok());

  auto unknown = validate_topic_overrides({{"retention.msec", "1"}});
  CHECK(unknown.code == ErrorCode::invalid_config);
  CHECK(unknown.message == "unknown configuration retention.msec (did you mean retention.ms?)");

  auto broker_name = validate_topic_overrides({{"log.retention.ms", "1"}});
  CHECK(broker_name.message ==
        "unknown configuration log.retention.ms (did you mean retention.ms?)");

  auto bad = validate_topic_overrides({{"retention.ms", "-2"}});
  CHECK(bad.code == ErrorCode::invalid_config);
  CHECK(bad.message ==
        "invalid value -2 for configuration retention.ms: must be at least -1; accepted: "
        "[-1,...]");

  CHECK(contains(validate_topic_overrides({{"cleanup.policy", "compact,delet"}}).message,
                 "'delet' is not an accepted value; accepted: [compact, delete]"));
  CHECK(contains(validate_topic_overrides({{"compression.type", "lz5"}}).message,
                 "accepted: [uncompressed, zstd, lz4, snappy, gzip, producer]"));
  CHECK(contains(validate_topic_overrides({{"message.timestamp.type", "createtime"}}).message,
                 "case matters: CreateTime"));
  CHECK(contains(validate_topic_overrides({{"segment.bytes", "1024"}}).message,
                 "must be at least 1048576"));
  CHECK(contains(validate_topic_overrides({{"min.cleanable.dirty.ratio", "1.01"}}).message,
                 "accepted: [0,...,1]"));
  CHECK(contains(validate_topic_overrides({{"compression.gzip.level", "0"}}).message,
                 "must be -1 or between 1 and 9"));
  CHECK(validate_topic_overrides({{"compression.gzip.level", "-1"}}).ok());
  CHECK(contains(
      validate_topic_overrides({{"leader.replication.throttled.replicas", "0:1,x"}}).message,
      "'x' is not a partition:broker pair"));
  CHECK(validate_topic_overrides({{"follower.replication.throttled.replicas", "*"}}).ok());

  auto lag =
      validate_topic_overrides({{"min.compaction.lag.ms", "100"}, {"max.compaction.lag.ms", "50"}});
  CHECK(lag.message ==
        "conflicting topic settings: min.compaction.lag.ms (100) is greater than "
        "max.compaction.lag.ms (50)");
  // The conflict also counts broker-supplied values.
  const BrokerConfig b = broker({{"log.cleaner.max.compaction.lag.ms", "50"}});
  CHECK(!validate_topic_overrides({{"min.compaction.lag.ms", "100"}}, b.layers()).ok());

  CHECK(contains(validate_topic_overrides({{"remote.storage.enable", "true"}}).message,
                 "no tiered storage"));

  // Every problem at once.
  auto many = validate_topic_overrides({{"a.b", "1"}, {"retention.ms", "x"}});
  CHECK(contains(many.message, "unknown configuration a.b"));
  CHECK(contains(many.message, "; invalid value x for configuration retention.ms"));
}

TEST_CASE("config: Kafka 3.x topic settings are accepted without effect") {
  // message.format.version and its kin, as Kafka 3.x tools still send them.
  CHECK(validate_topic_overrides({{"message.format.version", "2.8"}}).ok());
  CHECK(validate_topic_overrides({{"message.format.version", "3.0-IV1"}}).ok());
  CHECK(validate_topic_overrides({{"message.format.version", "0.10.2"}}).ok());
  CHECK(validate_topic_overrides({{"message.downconversion.enable", "false"}}).ok());
  CHECK(validate_topic_overrides({{"message.timestamp.difference.max.ms", "60000"}}).ok());
  // Still type-checked.
  auto bad = validate_topic_overrides({{"message.format.version", "banana"}});
  CHECK(bad.code == ErrorCode::invalid_config);
  CHECK(contains(bad.message, "invalid value banana for configuration message.format.version"));
  CHECK(!validate_topic_overrides({{"message.downconversion.enable", "sometimes"}}).ok());
  CHECK(!validate_topic_overrides({{"message.format.version", "3.0-XX"}}).ok());

  for (const auto& name : kafka_compat_topic_key_names()) {
    CAPTURE(name);
    const ConfigKey* k = topic_config_def().find(name);
    REQUIRE(k != nullptr);
    CHECK(k->no_effect);
    CHECK(k->deprecated);
    REQUIRE(!k->synonyms.empty());
    CHECK(broker_config_def().find(k->synonyms[0].name) != nullptr);
  }

  // Described as Kafka 3.x did, following the broker setting; the typed config is unchanged.
  const auto entries = describe_topic_config({}, {{"message.format.version", "2.8"}});
  auto find = [&](std::string_view name) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const ConfigEntry& e) { return e.name == name; });
    REQUIRE(it != entries.end());
    return *it;
  };
  CHECK(find("message.format.version").value == "2.8");
  CHECK(find("message.format.version").source == ConfigSource::dynamic_topic_config);
  CHECK(find("message.downconversion.enable").value == "true");
  const BrokerConfig b = broker({{"log.message.format.version", "2.1"}});
  const auto from_broker = describe_topic_config(b.layers(), {});
  auto it = std::find_if(from_broker.begin(), from_broker.end(),
                         [](const ConfigEntry& e) { return e.name == "message.format.version"; });
  REQUIRE(it != from_broker.end());
  CHECK(it->value == "2.1");
  CHECK(it->source == ConfigSource::static_broker_config);
  // Name order is kept.
  CHECK(std::is_sorted(entries.begin(), entries.end(),
                       [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; }));
}

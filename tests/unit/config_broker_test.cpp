#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>

#include "core/config/broker_config.h"
#include "core/config/kafka_compat_configs.h"

using namespace kfk::config;

namespace {

BrokerConfig make_ok(const std::map<std::string, std::string>& settings) {
  auto r = make_broker_config(settings);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  return std::move(r).value();
}

std::string make_error(const std::map<std::string, std::string>& settings) {
  auto r = make_broker_config(settings);
  REQUIRE(!r.ok());
  return r.error_text();
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

const ConfigEntry& entry(const std::vector<ConfigEntry>& entries, std::string_view name) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const ConfigEntry& e) { return e.name == name; });
  REQUIRE(it != entries.end());
  return *it;
}

}  // namespace

TEST_CASE("config: broker defaults") {
  const BrokerConfig c = default_broker_config();
  CHECK(c.node_id == 1);
  CHECK(c.has_role(ProcessRole::broker));
  CHECK(c.has_role(ProcessRole::controller));
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].name == "PLAINTEXT");
  CHECK(c.listeners[0].host == "127.0.0.1");
  CHECK(c.listeners[0].port == 9092);
  CHECK(c.listeners[0].protocol == SecurityProtocol::plaintext);
  CHECK(c.advertised_listeners == c.listeners);
  CHECK(c.listener_security_protocol_map.size() == 4);
  CHECK(c.log_dirs == std::vector<std::string>{"./kfk-data"});
  CHECK(c.metadata_log_dir == "./kfk-data");
  CHECK(!c.cluster_id);
  CHECK(!c.broker_rack);
  CHECK(c.num_partitions == 1);
  CHECK(c.default_replication_factor == 1);
  CHECK(c.auto_create_topics_enable);
  CHECK(c.delete_topic_enable);
  CHECK(c.socket_request_max_bytes == 104857600);
  CHECK(c.socket_send_buffer_bytes == 102400);
  CHECK(c.socket_receive_buffer_bytes == 102400);
  CHECK(c.num_reactor_threads == 0);
  CHECK(c.reactor_threads() >= 1);
  CHECK(c.connections_max_idle_ms == 600000);
  CHECK(c.fetch_max_bytes == 57671680);
  CHECK(c.log_retention_check_interval_ms == 300000);
  CHECK(c.log_flush_scheduler_interval_ms == std::numeric_limits<int64_t>::max());
  CHECK(c.log_cleaner_enable);
  CHECK(c.log_cleaner_threads == 1);
  CHECK(c.log_cleaner_dedupe_buffer_size == 134217728);
  CHECK(c.log_cleaner_io_max_bytes_per_second == std::numeric_limits<double>::max());
  CHECK(c.log_cleaner_backoff_ms == 15000);
  CHECK(c.offsets_topic_num_partitions == 50);
  CHECK(c.offsets_topic_replication_factor == 1);
  CHECK(c.offsets_retention_ms == 10080LL * 60 * 1000);
  CHECK(c.group_initial_rebalance_delay_ms == 3000);
  CHECK(c.group_min_session_timeout_ms == 6000);
  CHECK(c.group_max_session_timeout_ms == 1800000);
  CHECK(c.group_max_size == std::numeric_limits<int32_t>::max());
  CHECK(c.producer_id_expiration_ms == 86400000);
  CHECK(c.transactional_id_expiration_ms == 604800000);
  // Topic defaults from broker settings.
  CHECK(c.log_retention_ms() == 168LL * 3600 * 1000);
  CHECK(c.log_roll_ms() == 168LL * 3600 * 1000);
  CHECK(c.log_roll_jitter_ms() == 0);
  CHECK(c.log_flush_interval_ms() == std::numeric_limits<int64_t>::max());
  CHECK(c.log_defaults.retention_bytes == -1);
  CHECK(c.log_defaults.segment_bytes == 1073741824);
  CHECK(c.log_defaults.max_message_bytes == 1048588);
  CHECK(c.log_defaults.flush_messages == std::numeric_limits<int64_t>::max());
  CHECK(c.log_defaults.cleanup_delete);
  CHECK(!c.log_defaults.cleanup_compact);
  CHECK(!c.log_defaults.compression);  // producer
  CHECK(c.log_defaults.message_timestamp_type == TimestampType::create_time);
  CHECK(c.log_defaults.min_insync_replicas == 1);
  CHECK(!c.log_defaults.unclean_leader_election_enable);
}

TEST_CASE("config: log retention synonyms: ms beats minutes beats hours") {
  CHECK(make_ok({{"log.retention.hours", "1"}}).log_retention_ms() == 3'600'000);
  CHECK(
      make_ok({{"log.retention.hours", "1"}, {"log.retention.minutes", "2"}}).log_retention_ms() ==
      120'000);
  CHECK(make_ok({{"log.retention.hours", "1"},
                 {"log.retention.minutes", "2"},
                 {"log.retention.ms", "1234"}})
            .log_retention_ms() == 1234);
  CHECK(make_ok({{"log.retention.minutes", "3"}}).log_retention_ms() == 180'000);
  // Any negative time means no limit.
  CHECK(make_ok({{"log.retention.ms", "-1"}}).log_retention_ms() == -1);
  CHECK(make_ok({{"log.retention.hours", "-1"}}).log_retention_ms() == -1);
  CHECK(make_ok({{"log.retention.minutes", "-5"}}).log_retention_ms() == -1);
  CHECK(contains(make_error({{"log.retention.ms", "0"}}), "log retention time is 0"));
  // Roll and flush synonyms.
  CHECK(make_ok({{"log.roll.hours", "2"}}).log_roll_ms() == 7'200'000);
  CHECK(make_ok({{"log.roll.hours", "2"}, {"log.roll.ms", "5000"}}).log_roll_ms() == 5000);
  CHECK(make_ok({{"log.roll.jitter.hours", "1"}}).log_roll_jitter_ms() == 3'600'000);
  CHECK(make_ok({{"log.flush.scheduler.interval.ms", "3000"}}).log_flush_interval_ms() == 3000);
  CHECK(make_ok({{"log.flush.scheduler.interval.ms", "3000"}, {"log.flush.interval.ms", "10"}})
            .log_flush_interval_ms() == 10);
  // A broker value the topic setting cannot take.
  CHECK(make_error({{"log.roll.ms", "0"}}) ==
        "invalid value 0 for configuration log.roll.ms (used for segment.ms): must be at least "
        "1; accepted: [1,...]");
  CHECK(contains(make_error({{"log.roll.hours", "0"}}), "must be at least 1"));
}

TEST_CASE("config: broker settings feed topic defaults") {
  const BrokerConfig c = make_ok({{"log.segment.bytes", "1048576"},
                                  {"log.cleanup.policy", "compact,delete"},
                                  {"compression.type", "zstd"},
                                  {"message.max.bytes", "2000000"},
                                  {"log.message.timestamp.type", "LogAppendTime"},
                                  {"log.cleaner.min.cleanable.ratio", "0.25"},
                                  {"min.insync.replicas", "2"},
                                  {"log.preallocate", "TRUE"}});
  CHECK(c.log_defaults.segment_bytes == 1048576);
  CHECK(c.log_defaults.cleanup_compact);
  CHECK(c.log_defaults.cleanup_delete);
  CHECK(c.log_defaults.compression == kfk::record::Compression::zstd);
  CHECK(c.log_defaults.max_message_bytes == 2000000);
  CHECK(c.log_defaults.message_timestamp_type == TimestampType::log_append_time);
  CHECK(c.log_defaults.min_cleanable_dirty_ratio == 0.25);
  CHECK(c.log_defaults.min_insync_replicas == 2);
  CHECK(c.log_defaults.preallocate);
  CHECK(make_ok({{"compression.type", "uncompressed"}}).log_defaults.compression ==
        kfk::record::Compression::none);
  CHECK(contains(make_error({{"log.segment.bytes", "1000"}}),
                 "invalid value 1000 for configuration log.segment.bytes: must be at least "
                 "1048576; accepted: [1048576,...]"));
  CHECK(contains(make_error({{"compression.type", "ZSTD"}}), "case matters: zstd"));
  CHECK(contains(make_error({{"log.cleanup.policy", "compact,remove"}}),
                 "'remove' is not an accepted value"));
}

TEST_CASE("config: log dirs") {
  CHECK(make_ok({{"log.dir", "/data/one"}}).log_dirs == std::vector<std::string>{"/data/one"});
  const BrokerConfig c = make_ok({{"log.dir", "/ignored"}, {"log.dirs", "/a, /b"}});
  CHECK(c.log_dirs == std::vector<std::string>{"/a", "/b"});
  CHECK(c.metadata_log_dir == "/a");
  CHECK(make_ok({{"log.dirs", "/a"}, {"metadata.log.dir", "/meta"}}).metadata_log_dir == "/meta");
  CHECK(contains(make_error({{"log.dirs", ""}}), "log.dirs is empty"));
  CHECK(contains(make_error({{"log.dirs", "/a,,/b"}}), "contains an empty entry"));
  CHECK(contains(make_error({{"log.dirs", "/a,/a"}}), "'/a' is listed twice"));
  CHECK(contains(make_error({{"log.dir", ""}}), "must not be empty"));
}

TEST_CASE("config: listeners") {
  const SecurityProtocolMap map = {{"PLAINTEXT", SecurityProtocol::plaintext},
                                   {"SSL", SecurityProtocol::ssl},
                                   {"INTERNAL", SecurityProtocol::sasl_plaintext}};
  auto parse = [&](std::vector<std::string> entries) { return parse_listeners(entries, map); };

  auto r = parse({"PLAINTEXT://localhost:0", "ssl://:9093", "INTERNAL://[::1]:9094",
                  "internal2://10.0.0.1:1"});
  CHECK(!r.ok());  // internal2 has no protocol
  CHECK(contains(r.error_text(), "listener INTERNAL2 in listeners has no security protocol"));

  r = parse({"PLAINTEXT://localhost:0", "ssl://:9093", "INTERNAL://[::1]:9094"});
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  const auto& l = r.value();
  REQUIRE(l.size() == 3);
  CHECK(l[0] == Listener{"PLAINTEXT", "localhost", 0, SecurityProtocol::plaintext});
  CHECK(l[1] == Listener{"SSL", "", 9093, SecurityProtocol::ssl});
  CHECK(l[2] == Listener{"INTERNAL", "::1", 9094, SecurityProtocol::sasl_plaintext});
  CHECK(l[2].is_ipv6());
  CHECK(l[2].to_string() == "INTERNAL://[::1]:9094");
  CHECK(l[1].to_string() == "SSL://:9093");

  auto bad = [&](std::string entry, std::string_view why) {
    CAPTURE(entry);
    auto b = parse({entry});
    REQUIRE(!b.ok());
    CHECK(contains(b.error_text(), why));
  };
  bad("localhost:9092", "missing '://'");
  bad("PLAINTEXT://localhost", "missing ':port'");
  bad("PLAINTEXT://localhost:", "the port must be a number from 0 to 65535");
  bad("PLAINTEXT://localhost:65536", "the port must be a number from 0 to 65535");
  bad("PLAINTEXT://localhost:-1", "the port must be a number");
  bad("PLAINTEXT://::1:9092", "an IPv6 address must be in brackets");
  bad("PLAINTEXT://[::1:9092", "missing ']'");
  bad("PLAINTEXT://[::1]9092", "missing ':port'");
  bad("PLAINTEXT://[localhost]:9092", "brackets must hold an IPv6 address");
  bad("PLAIN TEXT://h:1", "the listener name must be");
  bad("://h:1", "the listener name must be");
  bad("PLAINTEXT://ho st:1", "the host contains a character not allowed");
  CHECK(parse({"PLAINTEXT://a:1"}).value()[0].port == 1);
  CHECK(parse({"PLAINTEXT://a:65535"}).value()[0].port == 65535);

  auto dup_name = parse({"PLAINTEXT://a:1", "plaintext://b:2"});
  CHECK(contains(dup_name.error_text(), "names listener PLAINTEXT twice"));
  auto dup_port = parse({"PLAINTEXT://a:9092", "SSL://b:9092"});
  CHECK(contains(dup_port.error_text(), "use the same port 9092"));
  CHECK(parse({"PLAINTEXT://127.0.0.1:9092", "SSL://[::1]:9092"}).ok());
  CHECK(parse({"PLAINTEXT://a:0", "SSL://b:0"}).ok());
  CHECK(parse_listeners({"PLAINTEXT://a:9092", "SSL://b:9092"}, map, "advertised.listeners", false)
            .ok());
}

TEST_CASE("config: listener settings in the broker config") {
  const BrokerConfig c =
      make_ok({{"listeners", "PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093"},
               {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:plaintext"},
               {"advertised.listeners", "PLAINTEXT://broker.example:9092"},
               {"controller.listener.names", "controller"}});
  REQUIRE(c.listeners.size() == 2);
  CHECK(c.listeners[1].name == "CONTROLLER");
  REQUIRE(c.advertised_listeners.size() == 1);
  CHECK(c.advertised_listeners[0].host == "broker.example");
  CHECK(c.controller_listener_names == std::vector<std::string>{"CONTROLLER"});

  CHECK(contains(make_error({{"listeners", "CLIENT://:9092"}}),
                 "listener CLIENT in listeners has no security protocol"));
  CHECK(contains(make_error({{"listener.security.protocol.map", "PLAINTEXT:TLS"}}),
                 "unknown security protocol"));
  CHECK(
      contains(make_error({{"listener.security.protocol.map", "PLAINTEXT"}}), "expected one ':'"));
  CHECK(contains(make_error({{"advertised.listeners", "PLAINTEXT://0.0.0.0:9092"}}),
                 "wildcard address"));
  CHECK(contains(make_error({{"advertised.listeners", "SSL://h:9093"}}),
                 "listener SSL is not one of the listeners"));
  CHECK(contains(make_error({{"controller.listener.names", "CONTROLLER"}}),
                 "CONTROLLER is not one of the listeners"));
  CHECK(contains(make_error({{"listeners", ""}}), "must not be empty"));
}

TEST_CASE("config: process roles and node id") {
  const BrokerConfig b = make_ok({{"process.roles", "broker"}, {"node.id", "7"}});
  CHECK(b.has_role(ProcessRole::broker));
  CHECK(!b.has_role(ProcessRole::controller));
  CHECK(b.node_id == 7);
  CHECK(contains(make_error({{"process.roles", ""}}), "must not be empty"));
  CHECK(contains(make_error({{"process.roles", "broker,worker"}}), "'worker' is not"));
  CHECK(contains(make_error({{"process.roles", "broker,broker"}}), "lists broker twice"));
  CHECK(contains(make_error({{"node.id", "-1"}}), "must be at least 0"));
}

TEST_CASE("config: every error is reported at once") {
  auto r = make_broker_config(std::map<std::string, std::string>{
      {"num.partitions", "0"}, {"log.dirz", "/x"}, {"auto.create.topics.enable", "yes"}});
  REQUIRE(!r.ok());
  CHECK(r.errors().size() == 3);
  CHECK(contains(r.error_text(), "unknown configuration log.dirz (did you mean log.dirs?)"));
  CHECK(contains(r.error_text(), "invalid value 0 for configuration num.partitions"));
  CHECK(contains(r.error_text(),
                 "invalid value yes for configuration auto.create.topics.enable: not a boolean"));
}

TEST_CASE("config: Kafka thread settings are accepted and kfk's reactor count is used") {
  const BrokerConfig c = make_ok(
      {{"num.network.threads", "5"}, {"num.io.threads", "16"}, {"num.reactor.threads", "3"}});
  CHECK(c.num_reactor_threads == 3);
  CHECK(c.reactor_threads() == 3);
}

TEST_CASE("config: describe broker config with sources and synonyms") {
  const BrokerConfig c = make_ok({{"log.retention.hours", "24"}, {"num.partitions", "3"}});
  BrokerLayers layers = c.layers();
  layers.dynamic_default["log.retention.ms"] = "5000";
  layers.dynamic_broker["message.max.bytes"] = "2000000";
  const auto entries = describe_broker_config(layers);

  const ConfigEntry& parts = entry(entries, "num.partitions");
  CHECK(parts.value == "3");
  CHECK(parts.source == ConfigSource::static_broker_config);
  CHECK(parts.read_only);
  CHECK(parts.type == ConfigType::int32);
  REQUIRE(parts.synonyms.size() == 2);
  CHECK(parts.synonyms[0] ==
        ConfigSynonymEntry{"num.partitions", "3", ConfigSource::static_broker_config});
  CHECK(parts.synonyms[1] ==
        ConfigSynonymEntry{"num.partitions", "1", ConfigSource::default_config});

  const ConfigEntry& ms = entry(entries, "log.retention.ms");
  CHECK(ms.value == "5000");
  CHECK(ms.source == ConfigSource::dynamic_default_broker_config);
  CHECK(!ms.read_only);
  REQUIRE(ms.synonyms.size() == 3);
  CHECK(ms.synonyms[1] ==
        ConfigSynonymEntry{"log.retention.hours", "24", ConfigSource::static_broker_config});
  CHECK(ms.synonyms[2] ==
        ConfigSynonymEntry{"log.retention.hours", "168", ConfigSource::default_config});

  // Describing hours drops the group members ranked above it.
  const ConfigEntry& hours = entry(entries, "log.retention.hours");
  CHECK(hours.value == "24");
  CHECK(hours.source == ConfigSource::static_broker_config);
  REQUIRE(hours.synonyms.size() == 2);
  CHECK(hours.synonyms[0].name == "log.retention.hours");

  const ConfigEntry& minutes = entry(entries, "log.retention.minutes");
  CHECK(!minutes.value);
  CHECK(minutes.source == ConfigSource::default_config);
  CHECK(minutes.synonyms.empty());

  const ConfigEntry& mmb = entry(entries, "message.max.bytes");
  CHECK(mmb.value == "2000000");
  CHECK(mmb.source == ConfigSource::dynamic_broker_config);

  const ConfigEntry& listeners = entry(entries, "listeners");
  CHECK(listeners.value == "PLAINTEXT://127.0.0.1:9092");
  CHECK(listeners.source == ConfigSource::default_config);
  CHECK(!listeners.read_only);
  CHECK(entry(entries, "log.cleaner.io.max.bytes.per.second").value == "1.7976931348623157E308");
}

TEST_CASE("config: dynamic broker updates") {
  CHECK(validate_dynamic_broker_update({{"log.retention.ms", "1000"}}, true).ok());
  CHECK(validate_dynamic_broker_update({{"log.retention.ms", std::nullopt}}, false).ok());
  CHECK(validate_dynamic_broker_update({{"listeners", "PLAINTEXT://:9092"}}, false).ok());

  auto ro = validate_dynamic_broker_update({{"num.partitions", "3"}, {"log.dirs", "/x"}}, false);
  CHECK(ro.code == kfk::protocol::ErrorCode::invalid_request);
  CHECK(ro.message == "cannot be changed without a restart (read-only): log.dirs, num.partitions");

  auto cluster = validate_dynamic_broker_update({{"listeners", "PLAINTEXT://:9092"}}, true);
  CHECK(!cluster.ok());
  CHECK(contains(cluster.message, "not cluster-wide: listeners"));

  auto bad = validate_dynamic_broker_update({{"message.max.bytes", "-5"}}, false);
  CHECK(contains(bad.message, "invalid value -5 for configuration message.max.bytes"));
  auto unknown = validate_dynamic_broker_update({{"retention.ms", "5"}}, false);
  CHECK(contains(unknown.message, "did you mean log.retention.ms?"));
}

TEST_CASE("config: every Kafka broker setting is accepted, typed, without effect") {
  // A Kafka 3.x server.properties keeps loading: SASL, SSL, ZooKeeper, quotas, ...
  const BrokerConfig c = make_ok({{"sasl.kerberos.min.time.before.relogin", "120000"},
                                  {"ssl.client.auth", "required"},
                                  {"zookeeper.connect", "zk1:2181/kafka"},
                                  {"log.message.format.version", "2.8"},
                                  {"inter.broker.protocol.version", "3.6-IV2"},
                                  {"background.threads", "4"}});
  CHECK(c.values.get_long("sasl.kerberos.min.time.before.relogin") == 120000);
  CHECK(settings_without_effect(c.values) ==
        std::vector<std::string>{
            "background.threads", "inter.broker.protocol.version", "log.message.format.version",
            "sasl.kerberos.min.time.before.relogin", "ssl.client.auth", "zookeeper.connect"});
  // kfk's own settings are never listed.
  CHECK(settings_without_effect(make_ok({{"num.partitions", "3"}}).values).empty());

  // Types are Kafka's, and checked.
  const ConfigDef& d = broker_config_def();
  auto type_of = [&](std::string_view name) {
    const ConfigKey* k = d.find(name);
    REQUIRE_MESSAGE(k != nullptr, std::string(name));
    CHECK(k->no_effect);
    return k->type;
  };
  CHECK(type_of("sasl.kerberos.min.time.before.relogin") == ConfigType::int64);
  CHECK(type_of("sasl.kerberos.ticket.renew.jitter") == ConfigType::float64);
  CHECK(type_of("sasl.enabled.mechanisms") == ConfigType::list);
  CHECK(type_of("ssl.keystore.password") == ConfigType::password);
  CHECK(type_of("authorizer.class.name") == ConfigType::string);
  CHECK(type_of("offsets.commit.required.acks") == ConfigType::int16);
  CHECK(!d.find("num.partitions")->no_effect);
  CHECK(contains(make_error({{"sasl.kerberos.min.time.before.relogin", "soon"}}),
                 "sasl.kerberos.min.time.before.relogin"));
  CHECK(contains(make_error({{"log.message.format.version", "banana"}}),
                 "log.message.format.version"));
  CHECK(contains(make_error({{"auto.leader.rebalance.enable", "maybe"}}),
                 "auto.leader.rebalance.enable"));
  // A name Kafka does not know is still unknown.
  CHECK(contains(make_error({{"no.such.setting", "1"}}), "unknown configuration no.such.setting"));
  CHECK(d.definition_errors().empty());
}

TEST_CASE("config: Kafka broker settings are described with Kafka's defaults") {
  const BrokerConfig c = make_ok({{"ssl.client.auth", "requested"}});
  const auto entries = describe_broker_config(c.layers());
  const ConfigEntry& relogin = entry(entries, "sasl.kerberos.min.time.before.relogin");
  CHECK(relogin.value == "60000");
  CHECK(relogin.source == ConfigSource::default_config);
  CHECK(relogin.type == ConfigType::int64);
  CHECK(!relogin.read_only);  // per-broker in Kafka
  CHECK(contains(relogin.documentation, "no effect in kfk"));
  const ConfigEntry& auth = entry(entries, "ssl.client.auth");
  CHECK(auth.value == "requested");
  CHECK(auth.source == ConfigSource::static_broker_config);
  CHECK(entry(entries, "log.message.format.version").value == "3.0-IV1");
  CHECK(entry(entries, "zookeeper.connect").read_only);
  CHECK(!entry(entries, "zookeeper.connect").value);
  const ConfigEntry& secret = entry(entries, "ssl.keystore.password");
  CHECK(secret.sensitive);
  CHECK(!secret.value);
}

TEST_CASE("config: dynamic updates of Kafka settings follow Kafka's update modes") {
  CHECK(validate_dynamic_broker_update({{"sasl.kerberos.min.time.before.relogin", "30000"}}, false)
            .ok());
  CHECK(validate_dynamic_broker_update({{"background.threads", "4"}}, true).ok());
  auto per_broker =
      validate_dynamic_broker_update({{"sasl.kerberos.min.time.before.relogin", "30000"}}, true);
  CHECK(contains(per_broker.message, "not cluster-wide: sasl.kerberos.min.time.before.relogin"));
  auto ro = validate_dynamic_broker_update({{"zookeeper.connect", "zk:2181"}}, false);
  CHECK(ro.code == kfk::protocol::ErrorCode::invalid_request);
  CHECK(ro.message == "cannot be changed without a restart (read-only): zookeeper.connect");
  auto bad =
      validate_dynamic_broker_update({{"sasl.kerberos.min.time.before.relogin", "soon"}}, false);
  CHECK(contains(bad.message,
                 "invalid value soon for configuration "
                 "sasl.kerberos.min.time.before.relogin"));
  auto unknown = validate_dynamic_broker_update({{"no.such.setting", "1"}}, false);
  CHECK(contains(unknown.message, "unknown configuration no.such.setting"));
}

// The table of Kafka 3.9 settings kfk accepts without effect (see kafka_compat_configs.h).
// Facts transcribed from Kafka's configuration reference: name, type, default, update mode.
#include "core/config/kafka_compat_configs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <set>

namespace kfk::config {

namespace {

using T = ConfigType;
constexpr auto kReadOnly = UpdateMode::read_only;
constexpr auto kPerBroker = UpdateMode::per_broker;
constexpr auto kCluster = UpdateMode::cluster_wide;
constexpr bool kDeprecated = true;

struct CompatKey {
  const char* name;
  ConfigType type;
  const char* default_text;  // nullptr: null
  UpdateMode mode;
  bool deprecated = false;  // deprecated in Kafka 3.x, gone in 4.0
};

// Broker settings, in name order.
constexpr CompatKey kBrokerKeys[] = {
    {"alter.config.policy.class.name", T::class_name, nullptr, kReadOnly},
    {"alter.config.policy.kraft.compatibility.enable", T::boolean, "false", kReadOnly},
    {"alter.log.dirs.replication.quota.window.num", T::int32, "11", kReadOnly},
    {"alter.log.dirs.replication.quota.window.size.seconds", T::int32, "1", kReadOnly},
    {"authorizer.class.name", T::string, "", kReadOnly},
    {"auto.include.jmx.reporter", T::boolean, "true", kReadOnly, kDeprecated},
    {"auto.leader.rebalance.enable", T::boolean, "true", kReadOnly},
    {"background.threads", T::int32, "10", kCluster},
    {"broker.heartbeat.interval.ms", T::int32, "2000", kReadOnly},
    {"broker.id", T::int32, "-1", kReadOnly},
    {"broker.id.generation.enable", T::boolean, "true", kReadOnly, kDeprecated},
    {"broker.session.timeout.ms", T::int32, "9000", kReadOnly},
    {"client.quota.callback.class", T::class_name, nullptr, kReadOnly},
    {"connection.failed.authentication.delay.ms", T::int32, "100", kReadOnly},
    {"connections.max.reauth.ms", T::int64, "0", kReadOnly},
    {"control.plane.listener.name", T::string, nullptr, kReadOnly, kDeprecated},
    {"controlled.shutdown.enable", T::boolean, "true", kReadOnly},
    {"controlled.shutdown.max.retries", T::int32, "3", kReadOnly, kDeprecated},
    {"controlled.shutdown.retry.backoff.ms", T::int64, "5000", kReadOnly, kDeprecated},
    {"controller.quorum.append.linger.ms", T::int32, "25", kReadOnly},
    {"controller.quorum.bootstrap.servers", T::list, "", kReadOnly},
    {"controller.quorum.election.backoff.max.ms", T::int32, "1000", kReadOnly},
    {"controller.quorum.election.timeout.ms", T::int32, "1000", kReadOnly},
    {"controller.quorum.fetch.timeout.ms", T::int32, "2000", kReadOnly},
    {"controller.quorum.request.timeout.ms", T::int32, "2000", kReadOnly},
    {"controller.quorum.retry.backoff.ms", T::int32, "20", kReadOnly},
    {"controller.quorum.voters", T::list, "", kReadOnly},
    {"controller.quota.window.num", T::int32, "11", kReadOnly},
    {"controller.quota.window.size.seconds", T::int32, "1", kReadOnly},
    {"controller.socket.timeout.ms", T::int32, "30000", kReadOnly},
    {"create.topic.policy.class.name", T::class_name, nullptr, kReadOnly},
    {"delegation.token.expiry.check.interval.ms", T::int64, "3600000", kReadOnly},
    {"delegation.token.expiry.time.ms", T::int64, "86400000", kReadOnly},
    {"delegation.token.master.key", T::password, nullptr, kReadOnly, kDeprecated},
    {"delegation.token.max.lifetime.ms", T::int64, "604800000", kReadOnly},
    {"delegation.token.secret.key", T::password, nullptr, kReadOnly},
    {"delete.records.purgatory.purge.interval.requests", T::int32, "1", kReadOnly},
    {"early.start.listeners", T::string, nullptr, kReadOnly},
    {"eligible.leader.replicas.enable", T::boolean, "false", kReadOnly},
    {"fetch.purgatory.purge.interval.requests", T::int32, "1000", kReadOnly},
    {"group.consumer.assignors", T::list,
     "org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator."
     "group.assignor.RangeAssignor",
     kReadOnly},
    {"group.consumer.heartbeat.interval.ms", T::int32, "5000", kReadOnly},
    {"group.consumer.max.heartbeat.interval.ms", T::int32, "15000", kReadOnly},
    {"group.consumer.max.session.timeout.ms", T::int32, "60000", kReadOnly},
    {"group.consumer.max.size", T::int32, "2147483647", kReadOnly},
    {"group.consumer.min.heartbeat.interval.ms", T::int32, "5000", kReadOnly},
    {"group.consumer.min.session.timeout.ms", T::int32, "45000", kReadOnly},
    {"group.consumer.session.timeout.ms", T::int32, "45000", kReadOnly},
    {"group.coordinator.append.linger.ms", T::int32, "10", kReadOnly},
    {"group.coordinator.rebalance.protocols", T::list, "classic", kReadOnly},
    {"group.coordinator.threads", T::int32, "1", kReadOnly},
    {"group.share.delivery.count.limit", T::int32, "5", kReadOnly},
    {"group.share.heartbeat.interval.ms", T::int32, "5000", kReadOnly},
    {"group.share.max.groups", T::int16, "10", kReadOnly},
    {"group.share.max.heartbeat.interval.ms", T::int32, "15000", kReadOnly},
    {"group.share.max.record.lock.duration.ms", T::int32, "60000", kReadOnly},
    {"group.share.max.session.timeout.ms", T::int32, "60000", kReadOnly},
    {"group.share.max.size", T::int16, "200", kReadOnly},
    {"group.share.min.heartbeat.interval.ms", T::int32, "5000", kReadOnly},
    {"group.share.min.record.lock.duration.ms", T::int32, "15000", kReadOnly},
    {"group.share.min.session.timeout.ms", T::int32, "45000", kReadOnly},
    {"group.share.partition.max.record.locks", T::int32, "200", kReadOnly},
    {"group.share.record.lock.duration.ms", T::int32, "30000", kReadOnly},
    {"group.share.session.timeout.ms", T::int32, "45000", kReadOnly},
    {"initial.broker.registration.timeout.ms", T::int32, "60000", kReadOnly},
    {"inter.broker.listener.name", T::string, nullptr, kReadOnly},
    {"inter.broker.protocol.version", T::string, "3.9-IV0", kReadOnly, kDeprecated},
    {"kafka.metrics.polling.interval.secs", T::int32, "10", kReadOnly},
    {"kafka.metrics.reporters", T::list, "", kReadOnly},
    {"leader.imbalance.check.interval.seconds", T::int64, "300", kReadOnly},
    {"leader.imbalance.per.broker.percentage", T::int32, "10", kReadOnly},
    {"log.dir.failure.timeout.ms", T::int64, "30000", kReadOnly},
    {"log.message.downconversion.enable", T::boolean, "true", kCluster, kDeprecated},
    {"log.message.format.version", T::string, "3.0-IV1", kReadOnly, kDeprecated},
    {"log.message.timestamp.difference.max.ms", T::int64, "9223372036854775807", kCluster,
     kDeprecated},
    {"max.connection.creation.rate", T::int32, "2147483647", kCluster},
    {"max.request.partition.size.limit", T::int32, "2000", kReadOnly},
    {"metadata.log.segment.ms", T::int64, "604800000", kReadOnly},
    {"metadata.max.idle.interval.ms", T::int32, "500", kReadOnly},
    {"metadata.max.retention.bytes", T::int64, "104857600", kReadOnly},
    {"metadata.max.retention.ms", T::int64, "604800000", kReadOnly},
    {"metric.reporters", T::list, "", kCluster},
    {"metrics.num.samples", T::int32, "2", kReadOnly},
    {"metrics.recording.level", T::string, "INFO", kReadOnly},
    {"metrics.sample.window.ms", T::int64, "30000", kReadOnly},
    {"num.replica.alter.log.dirs.threads", T::int32, nullptr, kReadOnly},
    {"num.replica.fetchers", T::int32, "1", kCluster},
    {"offsets.commit.required.acks", T::int16, "-1", kReadOnly, kDeprecated},
    {"offsets.load.buffer.size", T::int32, "5242880", kReadOnly},
    {"offsets.topic.compression.codec", T::int32, "0", kReadOnly},
    {"password.encoder.cipher.algorithm", T::string, "AES/CBC/PKCS5Padding", kReadOnly},
    {"password.encoder.iterations", T::int32, "4096", kReadOnly},
    {"password.encoder.key.length", T::int32, "128", kReadOnly},
    {"password.encoder.keyfactory.algorithm", T::string, nullptr, kReadOnly},
    {"password.encoder.old.secret", T::password, nullptr, kReadOnly},
    {"password.encoder.secret", T::password, nullptr, kReadOnly},
    {"principal.builder.class", T::class_name,
     "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", kPerBroker},
    {"producer.purgatory.purge.interval.requests", T::int32, "1000", kReadOnly},
    {"quota.window.num", T::int32, "11", kReadOnly},
    {"quota.window.size.seconds", T::int32, "1", kReadOnly},
    {"remote.fetch.max.wait.ms", T::int32, "500", kCluster},
    {"remote.log.index.file.cache.total.size.bytes", T::int64, "1073741824", kCluster},
    {"remote.log.manager.copier.thread.pool.size", T::int32, "-1", kReadOnly},
    {"remote.log.manager.copy.max.bytes.per.second", T::int64, "9223372036854775807", kCluster},
    {"remote.log.manager.copy.quota.window.num", T::int32, "11", kReadOnly},
    {"remote.log.manager.copy.quota.window.size.seconds", T::int32, "1", kReadOnly},
    {"remote.log.manager.expiration.thread.pool.size", T::int32, "-1", kReadOnly},
    {"remote.log.manager.fetch.max.bytes.per.second", T::int64, "9223372036854775807", kCluster},
    {"remote.log.manager.fetch.quota.window.num", T::int32, "11", kReadOnly},
    {"remote.log.manager.fetch.quota.window.size.seconds", T::int32, "1", kReadOnly},
    {"remote.log.manager.task.interval.ms", T::int64, "30000", kReadOnly},
    {"remote.log.manager.thread.pool.size", T::int32, "10", kReadOnly, kDeprecated},
    {"remote.log.metadata.custom.metadata.max.bytes", T::int32, "128", kReadOnly},
    {"remote.log.metadata.manager.class.name", T::string,
     "org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager",
     kReadOnly},
    {"remote.log.metadata.manager.class.path", T::string, nullptr, kReadOnly},
    {"remote.log.metadata.manager.impl.prefix", T::string, "rlmm.config.", kReadOnly},
    {"remote.log.metadata.manager.listener.name", T::string, nullptr, kReadOnly},
    {"remote.log.reader.max.pending.tasks", T::int32, "100", kReadOnly},
    {"remote.log.reader.threads", T::int32, "10", kReadOnly},
    {"remote.log.storage.manager.class.name", T::string, nullptr, kReadOnly},
    {"remote.log.storage.manager.class.path", T::string, nullptr, kReadOnly},
    {"remote.log.storage.manager.impl.prefix", T::string, "rsm.config.", kReadOnly},
    {"remote.log.storage.system.enable", T::boolean, "false", kReadOnly},
    {"replica.fetch.backoff.ms", T::int32, "1000", kReadOnly},
    {"replica.fetch.max.bytes", T::int32, "1048576", kReadOnly},
    {"replica.fetch.min.bytes", T::int32, "1", kReadOnly},
    {"replica.fetch.response.max.bytes", T::int32, "10485760", kReadOnly},
    {"replica.fetch.wait.max.ms", T::int32, "500", kReadOnly},
    {"replica.high.watermark.checkpoint.interval.ms", T::int64, "5000", kReadOnly},
    {"replica.lag.time.max.ms", T::int64, "30000", kReadOnly},
    {"replica.selector.class", T::string, nullptr, kReadOnly},
    {"replica.socket.receive.buffer.bytes", T::int32, "65536", kReadOnly},
    {"replica.socket.timeout.ms", T::int32, "30000", kReadOnly},
    {"replication.quota.window.num", T::int32, "11", kReadOnly},
    {"replication.quota.window.size.seconds", T::int32, "1", kReadOnly},
    {"request.timeout.ms", T::int32, "30000", kReadOnly},
    {"reserved.broker.max.id", T::int32, "1000", kReadOnly, kDeprecated},
    {"sasl.client.callback.handler.class", T::class_name, nullptr, kReadOnly},
    {"sasl.enabled.mechanisms", T::list, "GSSAPI", kPerBroker},
    {"sasl.jaas.config", T::password, nullptr, kPerBroker},
    {"sasl.kerberos.kinit.cmd", T::string, "/usr/bin/kinit", kPerBroker},
    {"sasl.kerberos.min.time.before.relogin", T::int64, "60000", kPerBroker},
    {"sasl.kerberos.principal.to.local.rules", T::list, "DEFAULT", kPerBroker},
    {"sasl.kerberos.service.name", T::string, nullptr, kPerBroker},
    {"sasl.kerberos.ticket.renew.jitter", T::float64, "0.05", kPerBroker},
    {"sasl.kerberos.ticket.renew.window.factor", T::float64, "0.8", kPerBroker},
    {"sasl.login.callback.handler.class", T::class_name, nullptr, kReadOnly},
    {"sasl.login.class", T::class_name, nullptr, kReadOnly},
    {"sasl.login.connect.timeout.ms", T::int32, nullptr, kReadOnly},
    {"sasl.login.read.timeout.ms", T::int32, nullptr, kReadOnly},
    {"sasl.login.refresh.buffer.seconds", T::int16, "300", kPerBroker},
    {"sasl.login.refresh.min.period.seconds", T::int16, "60", kPerBroker},
    {"sasl.login.refresh.window.factor", T::float64, "0.8", kPerBroker},
    {"sasl.login.refresh.window.jitter", T::float64, "0.05", kPerBroker},
    {"sasl.login.retry.backoff.max.ms", T::int64, "10000", kReadOnly},
    {"sasl.login.retry.backoff.ms", T::int64, "100", kReadOnly},
    {"sasl.mechanism.controller.protocol", T::string, "GSSAPI", kReadOnly},
    {"sasl.mechanism.inter.broker.protocol", T::string, "GSSAPI", kPerBroker},
    {"sasl.oauthbearer.clock.skew.seconds", T::int32, "30", kReadOnly},
    {"sasl.oauthbearer.expected.audience", T::list, nullptr, kReadOnly},
    {"sasl.oauthbearer.expected.issuer", T::string, nullptr, kReadOnly},
    {"sasl.oauthbearer.jwks.endpoint.refresh.ms", T::int64, "3600000", kReadOnly},
    {"sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", T::int64, "10000", kReadOnly},
    {"sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", T::int64, "100", kReadOnly},
    {"sasl.oauthbearer.jwks.endpoint.url", T::string, nullptr, kReadOnly},
    {"sasl.oauthbearer.scope.claim.name", T::string, "scope", kReadOnly},
    {"sasl.oauthbearer.sub.claim.name", T::string, "sub", kReadOnly},
    {"sasl.oauthbearer.token.endpoint.url", T::string, nullptr, kReadOnly},
    {"sasl.server.callback.handler.class", T::class_name, nullptr, kReadOnly},
    {"sasl.server.max.receive.size", T::int32, "524288", kReadOnly},
    {"security.inter.broker.protocol", T::string, "PLAINTEXT", kReadOnly},
    {"security.providers", T::string, nullptr, kReadOnly},
    {"socket.connection.setup.timeout.max.ms", T::int64, "30000", kReadOnly},
    {"socket.connection.setup.timeout.ms", T::int64, "10000", kReadOnly},
    {"ssl.allow.dn.changes", T::boolean, "false", kReadOnly},
    {"ssl.allow.san.changes", T::boolean, "false", kReadOnly},
    {"ssl.cipher.suites", T::list, "", kPerBroker},
    {"ssl.client.auth", T::string, "none", kPerBroker},
    {"ssl.enabled.protocols", T::list, "TLSv1.2", kPerBroker},
    {"ssl.endpoint.identification.algorithm", T::string, "https", kPerBroker},
    {"ssl.engine.factory.class", T::class_name, nullptr, kPerBroker},
    {"ssl.key.password", T::password, nullptr, kPerBroker},
    {"ssl.keymanager.algorithm", T::string, "SunX509", kPerBroker},
    {"ssl.keystore.certificate.chain", T::password, nullptr, kPerBroker},
    {"ssl.keystore.key", T::password, nullptr, kPerBroker},
    {"ssl.keystore.location", T::string, nullptr, kPerBroker},
    {"ssl.keystore.password", T::password, nullptr, kPerBroker},
    {"ssl.keystore.type", T::string, "JKS", kPerBroker},
    {"ssl.principal.mapping.rules", T::string, "DEFAULT", kReadOnly},
    {"ssl.protocol", T::string, "TLSv1.2", kPerBroker},
    {"ssl.provider", T::string, nullptr, kPerBroker},
    {"ssl.secure.random.implementation", T::string, nullptr, kPerBroker},
    {"ssl.trustmanager.algorithm", T::string, "PKIX", kPerBroker},
    {"ssl.truststore.certificates", T::password, nullptr, kPerBroker},
    {"ssl.truststore.location", T::string, nullptr, kPerBroker},
    {"ssl.truststore.password", T::password, nullptr, kPerBroker},
    {"ssl.truststore.type", T::string, "JKS", kPerBroker},
    {"telemetry.max.bytes", T::int32, "1048576", kReadOnly},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", T::int32, "10000", kReadOnly},
    {"transaction.partition.verification.enable", T::boolean, "true", kCluster},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", T::int32, "3600000", kReadOnly},
    {"transaction.state.log.load.buffer.size", T::int32, "5242880", kReadOnly},
    {"zookeeper.clientCnxnSocket", T::string, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.connect", T::string, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.connection.timeout.ms", T::int32, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.max.in.flight.requests", T::int32, "10", kReadOnly, kDeprecated},
    {"zookeeper.metadata.migration.enable", T::boolean, "false", kReadOnly, kDeprecated},
    {"zookeeper.session.timeout.ms", T::int32, "18000", kReadOnly, kDeprecated},
    {"zookeeper.set.acl", T::boolean, "false", kReadOnly, kDeprecated},
    {"zookeeper.ssl.cipher.suites", T::list, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.client.enable", T::boolean, "false", kReadOnly, kDeprecated},
    {"zookeeper.ssl.crl.enable", T::boolean, "false", kReadOnly, kDeprecated},
    {"zookeeper.ssl.enabled.protocols", T::list, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.endpoint.identification.algorithm", T::string, "HTTPS", kReadOnly, kDeprecated},
    {"zookeeper.ssl.keystore.location", T::string, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.keystore.password", T::password, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.keystore.type", T::string, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.ocsp.enable", T::boolean, "false", kReadOnly, kDeprecated},
    {"zookeeper.ssl.protocol", T::string, "TLSv1.2", kReadOnly, kDeprecated},
    {"zookeeper.ssl.truststore.location", T::string, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.truststore.password", T::password, nullptr, kReadOnly, kDeprecated},
    {"zookeeper.ssl.truststore.type", T::string, nullptr, kReadOnly, kDeprecated},
};

struct CompatTopicKey {
  CompatKey key;
  const char* broker_synonym;
};

constexpr CompatTopicKey kTopicKeys[] = {
    {{"message.downconversion.enable", T::boolean, "true", kCluster, kDeprecated},
     "log.message.downconversion.enable"},
    {{"message.format.version", T::string, "3.0-IV1", kCluster, kDeprecated},
     "log.message.format.version"},
    {{"message.timestamp.difference.max.ms", T::int64, "9223372036854775807", kCluster,
      kDeprecated},
     "log.message.timestamp.difference.max.ms"},
};

bool is_version_setting(std::string_view name) {
  return name == "message.format.version" || name == "log.message.format.version" ||
         name == "inter.broker.protocol.version";
}

// Kafka's version names: 0.10.0, 2.8, 3.0-IV1, 0.8.2.1, ...
Validator kafka_version() {
  return custom("a Kafka version such as 2.8 or 3.0-IV1", [](const ConfigValue& v) -> std::string {
    const std::string& s = v.as_string();
    const auto dash = s.find('-');
    const std::string numbers = s.substr(0, dash);
    int parts = 0;
    bool digit_seen = false;
    for (char c : numbers) {
      if (c >= '0' && c <= '9') {
        digit_seen = true;
      } else if (c == '.' && digit_seen) {
        ++parts;
        digit_seen = false;
      } else {
        return "is not a Kafka version";
      }
    }
    if (!digit_seen || parts < 1 || parts > 3) return "is not a Kafka version";
    if (dash != std::string::npos) {
      const std::string iv = s.substr(dash + 1);
      if (iv.size() < 3 || iv.compare(0, 2, "IV") != 0 ||
          !std::all_of(iv.begin() + 2, iv.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return "is not a Kafka version";
    }
    return {};
  });
}

ConfigKey& define_one(ConfigDef& def, const CompatKey& k) {
  std::string doc = k.deprecated ? "Deprecated Kafka setting, accepted for compatibility; it has "
                                   "no effect in kfk."
                                 : "Kafka setting accepted for compatibility; it has no effect in "
                                   "kfk.";
  if (is_version_setting(k.name))
    doc += " kfk always writes message format v2 (Kafka 3.0 and later).";
  const Default d = k.default_text ? Default(k.default_text) : kNullDefault;
  ConfigKey& key =
      def.define(k.name, k.type, d, is_version_setting(k.name) ? kafka_version() : no_validator(),
                 Importance::low, std::move(doc))
          .dynamic(k.mode);
  key.no_effect = true;
  key.deprecated = k.deprecated;
  return key;
}

}  // namespace

void define_kafka_compat_broker_keys(ConfigDef& def) {
  for (const CompatKey& k : kBrokerKeys)
    if (def.find(k.name) == nullptr) define_one(def, k);
}

void define_kafka_compat_topic_key(ConfigDef& def, std::string_view name) {
  for (const CompatTopicKey& t : kTopicKeys)
    if (name == t.key.name) define_one(def, t.key).synonym(t.broker_synonym);
}

const std::vector<std::string>& kafka_compat_topic_key_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const CompatTopicKey& t : kTopicKeys) out.emplace_back(t.key.name);
    return out;
  }();
  return names;
}

std::vector<std::string> settings_without_effect(const Config& values) {
  std::vector<std::string> out;
  if (values.def() == nullptr) return out;
  for (const ConfigKey& key : values.def()->keys())
    if (key.no_effect && values.is_set(key.name)) out.push_back(key.name);
  std::sort(out.begin(), out.end());
  return out;
}

void warn_deprecated_once(const ConfigKey& key) {
  if (!key.deprecated) return;
  static std::mutex mu;
  static std::set<std::string, std::less<>> warned;
  {
    std::lock_guard lock(mu);
    if (!warned.insert(key.name).second) return;
  }
  spdlog::warn(
      "{} is deprecated in Kafka 3.x and removed in 4.0; kfk accepts it for "
      "compatibility, but it has no effect",
      key.name);
}

}  // namespace kfk::config

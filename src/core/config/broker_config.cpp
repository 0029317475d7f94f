#include "core/config/broker_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>
#include <thread>

#include "core/config/kafka_compat_configs.h"
#include "core/config/toml_settings.h"

namespace kfk::config {

namespace {

using T = ConfigType;
constexpr auto kHigh = Importance::high;
constexpr auto kMedium = Importance::medium;
constexpr auto kLow = Importance::low;
constexpr auto kCluster = UpdateMode::cluster_wide;
constexpr auto kPerBroker = UpdateMode::per_broker;

std::string long_max() { return std::to_string(std::numeric_limits<int64_t>::max()); }
std::string int_max() { return std::to_string(std::numeric_limits<int32_t>::max()); }

}  // namespace

Result<std::map<std::string, int32_t>> parse_per_ip_overrides(std::string_view text) {
  std::map<std::string, int32_t> out;
  std::vector<std::string> errors;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view entry = text.substr(start, end - start);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.front())))
      entry.remove_prefix(1);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.back())))
      entry.remove_suffix(1);
    start = end + 1;
    if (entry.empty()) continue;
    const size_t colon = entry.rfind(':');
    std::string host(colon == std::string_view::npos ? entry : entry.substr(0, colon));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int64_t count = -1;
    if (colon != std::string_view::npos && colon + 1 < entry.size() && entry.size() - colon <= 11 &&
        std::all_of(entry.begin() + static_cast<ptrdiff_t>(colon) + 1, entry.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      count = std::stoll(std::string(entry.substr(colon + 1)));
    if (host.empty() || count < 0 || count > std::numeric_limits<int32_t>::max()) {
      errors.push_back(
          fmt::format("max.connections.per.ip.overrides: '{}' is not host:count (count 0..{})",
                      entry, std::numeric_limits<int32_t>::max()));
      continue;
    }
    out[host] = static_cast<int32_t>(count);
  }
  if (!errors.empty()) return Result<std::map<std::string, int32_t>>::failure(std::move(errors));
  return out;
}

namespace {

Validator per_ip_overrides() {
  return custom("host:count entries separated by commas", [](const ConfigValue& v) {
    auto parsed = parse_per_ip_overrides(v.as_string());
    return parsed.ok() ? std::string() : parsed.error_text();
  });
}

// A list with no empty element and no element twice.
Validator distinct_non_empty_items() {
  return custom("a comma-separated list of distinct, non-empty entries",
                [](const ConfigValue& v) -> std::string {
                  std::set<std::string> seen;
                  for (const auto& item : v.as_list()) {
                    if (item.empty()) return "contains an empty entry";
                    if (!seen.insert(item).second) return fmt::format("'{}' is listed twice", item);
                  }
                  return {};
                });
}

void define_node_and_network(ConfigDef& d) {
  d.define("node.id", T::int32, "1", at_least(0), kHigh,
           "This node's id in the cluster (kfk default 1; Kafka requires it to be set).");
  d.define("process.roles", T::list, "broker,controller",
           list_of({"broker", "controller"}, /*allow_empty=*/false), kHigh,
           "Roles this node plays: broker, controller or both (kfk default: both, a single "
           "node that is its own metadata quorum).");
  d.define("cluster.id", T::string, kNullDefault, non_empty(), kLow,
           "kfk only: the cluster id, normally read from meta.properties in the log dirs; set "
           "it to format new log dirs with a chosen id.");
  d.define("broker.rack", T::string, kNullDefault, no_validator(), kMedium,
           "Rack of this broker, reported to clients for rack-aware placement and fetching.");
  d.define("listeners", T::list, "PLAINTEXT://127.0.0.1:9092", non_empty(), kHigh,
           "Addresses to listen on, NAME://host:port separated by commas. An empty host "
           "binds every interface, port 0 picks a free port, IPv6 addresses go in brackets.")
      .dynamic(kPerBroker);
  d.define("advertised.listeners", T::list, kNullDefault, no_validator(), kHigh,
           "Addresses given to clients, same form as listeners; defaults to listeners.")
      .dynamic(kPerBroker);
  d.define("listener.security.protocol.map", T::list,
           "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
           no_validator(), kLow,
           "Security protocol of each listener name, NAME:PROTOCOL separated by commas.")
      .dynamic(kPerBroker);
  d.define("controller.listener.names", T::list, "", no_validator(), kHigh,
           "Listeners used by the metadata quorum; each must be in listeners. Not needed by "
           "a single node.");
  d.define("num.reactor.threads", T::int32, "0", at_least(0), kHigh,
           "kfk only: threads running connections and request work, each with its own event "
           "loop; 0 means one per CPU core. Replaces Kafka's network and I/O thread pools.");
  d.define("num.network.threads", T::int32, "3", at_least(1), kHigh,
           "Accepted so Kafka configuration files load; ignored (see num.reactor.threads).");
  d.define("num.io.threads", T::int32, "8", at_least(1), kHigh,
           "Accepted so Kafka configuration files load; ignored (see num.reactor.threads).");
  d.define("socket.request.max.bytes", T::int32, "104857600", at_least(1), kHigh,
           "Largest request the broker reads; bigger ones close the connection.");
  d.define("socket.send.buffer.bytes", T::int32, "102400", no_validator(), kHigh,
           "SO_SNDBUF of accepted sockets; -1 keeps the OS default.");
  d.define("socket.receive.buffer.bytes", T::int32, "102400", no_validator(), kHigh,
           "SO_RCVBUF of accepted sockets; -1 keeps the OS default.");
  d.define("socket.listen.backlog.size", T::int32, "50", at_least(1), kMedium,
           "Backlog of pending connections on each listening socket.");
  d.define("connections.max.idle.ms", T::int64, "600000", no_validator(), kMedium,
           "Connections without a request for longer are closed (and connections whose "
           "response the client does not read); 0 or less: never. A request must also arrive "
           "whole within 30 s of its first byte, or this when shorter.");
  d.define("max.connections", T::int32, int_max(), at_least(0), kMedium,
           "Most connections the broker accepts in total.")
      .dynamic(kCluster);
  d.define("max.connections.per.ip", T::int32, int_max(), at_least(0), kMedium,
           "Most connections the broker accepts from one address.")
      .dynamic(kCluster);
  d.define("max.connections.per.ip.overrides", T::string, "", per_ip_overrides(), kMedium,
           "Limits for given addresses instead of max.connections.per.ip, "
           "host:count separated by commas, e.g. 127.0.0.1:200,client.example:50.")
      .dynamic(kCluster);
  d.define("queued.max.request.bytes", T::int64, "104857600", at_least(-1), kMedium,
           "Bytes of requests the broker holds at once across all connections; when they are "
           "reached it reads no further requests until some are served. -1: no bound (kfk "
           "default 100 MiB; Kafka's is -1).");
  d.define("queued.max.requests", T::int32, "500", at_least(1), kHigh,
           "Requests a connection may have waiting before the broker stops reading from it.");
  d.define("fetch.max.bytes", T::int32, "57671680", at_least(1024), kMedium,
           "Most bytes the broker returns for one fetch request.");
  d.define("max.incremental.fetch.session.cache.slots", T::int32, "1000", at_least(0), kMedium,
           "Most incremental fetch sessions (KIP-227) the broker keeps.");
  d.define("min.incremental.fetch.session.eviction.ms", T::int32, "120000", at_least(0), kMedium,
           "How long a fetch session stays unused before another client may take its slot.");
}

void define_log(ConfigDef& d) {
  d.define("log.dir", T::string, "./kfk-data", non_empty(), kHigh,
           "Directory holding the log data when log.dirs is not set (kfk default "
           "./kfk-data).");
  d.define("log.dirs", T::list, kNullDefault, distinct_non_empty_items(), kHigh,
           "Directories holding the log data, separated by commas; when unset, log.dir.");
  d.define("metadata.log.dir", T::string, kNullDefault, non_empty(), kHigh,
           "Directory of the metadata log; when unset, the first log directory.");
  // kfk keeps 16 MiB rather than Kafka's 1 GiB: the metadata log is trimmed only by whole
  // segments below a snapshot, so smaller segments keep it near the snapshot interval in size.
  // The minimum (1 MiB) bounds the largest operation: one topic's records are one batch.
  d.define("metadata.log.segment.bytes", T::int32, "16777216", at_least(1024 * 1024), kHigh,
           "Size at which a metadata log segment is rolled (kfk default 16 MiB); it also caps "
           "the records of one operation, such as creating a topic with its partitions.");
  d.define("metadata.log.max.record.bytes.between.snapshots", T::int64, "20971520", at_least(1),
           kHigh,
           "Bytes appended to the metadata log after which the controller writes a snapshot of "
           "the metadata image.");
  d.define("metadata.log.max.snapshot.interval.ms", T::int64, "3600000", at_least(0), kHigh,
           "Age of the last metadata snapshot after which the next change writes a new one; "
           "0 disables snapshots by time.");
  d.define("num.partitions", T::int32, "1", at_least(1), kMedium,
           "Partitions of a topic created without a partition count.");
  d.define("default.replication.factor", T::int32, "1", no_validator(), kMedium,
           "Replication factor of a topic created without one.");
  d.define("auto.create.topics.enable", T::boolean, "true", no_validator(), kHigh,
           "Create a topic when a client asks for metadata or produces to one that is "
           "missing.");
  d.define("delete.topic.enable", T::boolean, "true", no_validator(), kHigh,
           "Allow topics to be deleted; when false, deletion requests are refused.");
  d.define("log.segment.bytes", T::int32, "1073741824", at_least(1024 * 1024), kHigh,
           "Size at which a segment is rolled (topic setting segment.bytes).")
      .dynamic(kCluster);
  d.define("log.roll.ms", T::int64, kNullDefault, no_validator(), kHigh,
           "Age at which a segment is rolled, in ms; when unset, log.roll.hours.")
      .dynamic(kCluster)
      .synonym("log.roll.ms")
      .synonym("log.roll.hours");
  d.define("log.roll.hours", T::int32, "168", at_least(1), kHigh,
           "Age at which a segment is rolled, in hours; log.roll.ms takes precedence.")
      .synonym("log.roll.ms")
      .synonym("log.roll.hours");
  d.define("log.roll.jitter.ms", T::int64, kNullDefault, no_validator(), kHigh,
           "Largest random amount taken off the roll time, in ms; when unset, "
           "log.roll.jitter.hours.")
      .dynamic(kCluster)
      .synonym("log.roll.jitter.ms")
      .synonym("log.roll.jitter.hours");
  d.define("log.roll.jitter.hours", T::int32, "0", at_least(0), kHigh,
           "Largest random amount taken off the roll time, in hours.")
      .synonym("log.roll.jitter.ms")
      .synonym("log.roll.jitter.hours");
  d.define("log.retention.ms", T::int64, kNullDefault, no_validator(), kHigh,
           "How long segments are kept, in ms; -1 keeps them forever. When unset, "
           "log.retention.minutes, then log.retention.hours.")
      .dynamic(kCluster)
      .synonym("log.retention.ms")
      .synonym("log.retention.minutes")
      .synonym("log.retention.hours");
  d.define("log.retention.minutes", T::int32, kNullDefault, no_validator(), kHigh,
           "How long segments are kept, in minutes; log.retention.ms takes precedence.")
      .synonym("log.retention.ms")
      .synonym("log.retention.minutes")
      .synonym("log.retention.hours");
  d.define("log.retention.hours", T::int32, "168", no_validator(), kHigh,
           "How long segments are kept, in hours; the ms and minutes settings take "
           "precedence.")
      .synonym("log.retention.ms")
      .synonym("log.retention.minutes")
      .synonym("log.retention.hours");
  d.define("log.retention.bytes", T::int64, "-1", no_validator(), kHigh,
           "Size limit of a partition's log; -1 means none.")
      .dynamic(kCluster);
  d.define("log.retention.check.interval.ms", T::int64, "300000", at_least(1), kMedium,
           "How often logs are checked for segments past their retention.");
  d.define("log.cleanup.policy", T::list, "delete", list_of({"compact", "delete"}), kMedium,
           "Default cleanup policy of topics: delete, compact or both.")
      .dynamic(kCluster);
  d.define("log.index.size.max.bytes", T::int32, "10485760", at_least(4), kMedium,
           "Size of each segment's offset index.")
      .dynamic(kCluster);
  d.define("log.index.interval.bytes", T::int32, "4096", at_least(0), kMedium,
           "Bytes of log between two offset index entries.")
      .dynamic(kCluster);
  d.define("log.flush.interval.messages", T::int64, long_max(), at_least(1), kHigh,
           "Messages written to a partition before it is forced to disk.")
      .dynamic(kCluster);
  d.define("log.flush.interval.ms", T::int64, kNullDefault, no_validator(), kHigh,
           "Age of the oldest unflushed message that forces a flush; when unset, "
           "log.flush.scheduler.interval.ms.")
      .dynamic(kCluster)
      .synonym("log.flush.interval.ms")
      .synonym("log.flush.scheduler.interval.ms");
  d.define("log.flush.scheduler.interval.ms", T::int64, long_max(), no_validator(), kHigh,
           "How often the flusher checks whether a log needs flushing.");
  d.define("log.flush.offset.checkpoint.interval.ms", T::int32, "60000", at_least(0), kHigh,
           "How often the recovery point of each log is saved.");
  d.define("log.flush.start.offset.checkpoint.interval.ms", T::int32, "60000", at_least(0), kHigh,
           "How often the log start offset of each log is saved.");
  d.define("log.segment.delete.delay.ms", T::int64, "60000", at_least(0), kHigh,
           "Delay before a removed segment's files are deleted.")
      .dynamic(kCluster);
  d.define("log.preallocate", T::boolean, "false", no_validator(), kMedium,
           "Allocate a segment's full size when it is created.")
      .dynamic(kCluster);
  d.define("num.recovery.threads.per.data.dir", T::int32, "2", at_least(1), kHigh,
           "Threads per log directory that recover logs at start-up and flush at shutdown.")
      .dynamic(kCluster);
  d.define("log.message.timestamp.type", T::string, "CreateTime",
           one_of({"CreateTime", "LogAppendTime"}), kMedium,
           "Default timestamp type of topics: CreateTime or LogAppendTime.")
      .dynamic(kCluster);
  d.define("log.message.timestamp.before.max.ms", T::int64, long_max(), at_least(0), kMedium,
           "With CreateTime, how far behind the broker clock a batch timestamp may be.")
      .dynamic(kCluster);
  d.define("log.message.timestamp.after.max.ms", T::int64, "3600000", at_least(0), kMedium,
           "With CreateTime, how far ahead of the broker clock a batch timestamp may be.")
      .dynamic(kCluster);
  d.define("log.local.retention.ms", T::int64, "-2", at_least(-2), kMedium,
           "Tiered storage: local time limit; -2 means log.retention.ms.")
      .dynamic(kCluster);
  d.define("log.local.retention.bytes", T::int64, "-2", at_least(-2), kMedium,
           "Tiered storage: local size limit; -2 means log.retention.bytes.")
      .dynamic(kCluster);
  d.define("message.max.bytes", T::int32, "1048588", at_least(0), kHigh,
           "Largest record batch a topic accepts, after compression (topic setting "
           "max.message.bytes).")
      .dynamic(kCluster);
  d.define("compression.type", T::string, "producer",
           one_of({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}), kHigh,
           "Default codec of topics; producer keeps the producer's codec.")
      .dynamic(kCluster);
  d.define("compression.gzip.level", T::int32, "-1", gzip_level_validator(), kMedium,
           "Default gzip level of topics.")
      .dynamic(kCluster);
  d.define("compression.lz4.level", T::int32, "9", between(1, 17), kMedium,
           "Default lz4 level of topics.")
      .dynamic(kCluster);
  d.define("compression.zstd.level", T::int32, "3", between(-131072, 22), kMedium,
           "Default zstd level of topics.")
      .dynamic(kCluster);
  d.define("min.insync.replicas", T::int32, "1", at_least(1), kHigh,
           "Replicas that must have a write before an acks=all produce succeeds.")
      .dynamic(kCluster);
  d.define("unclean.leader.election.enable", T::boolean, "false", no_validator(), kHigh,
           "Let an out-of-sync replica become leader as a last resort, losing data.")
      .dynamic(kCluster);
}

void define_cleaner(ConfigDef& d) {
  d.define("log.cleaner.enable", T::boolean, "true", no_validator(), kMedium,
           "Run the log cleaner, which compacts topics with cleanup.policy compact.");
  d.define("log.cleaner.threads", T::int32, "1", at_least(0), kMedium, "Threads compacting logs.")
      .dynamic(kCluster);
  d.define("log.cleaner.dedupe.buffer.size", T::int64, "134217728", no_validator(), kMedium,
           "Memory for the key maps of all cleaner threads together.")
      .dynamic(kCluster);
  d.define("log.cleaner.io.buffer.size", T::int32, "524288", at_least(0), kMedium,
           "I/O buffer memory of all cleaner threads together.")
      .dynamic(kCluster);
  d.define("log.cleaner.io.buffer.load.factor", T::float64, "0.9", no_validator(), kMedium,
           "How full a cleaner key map may get.")
      .dynamic(kCluster);
  d.define("log.cleaner.io.max.bytes.per.second", T::float64, "1.7976931348623157E308",
           no_validator(), kMedium, "Cap on the cleaner's combined read and write rate.")
      .dynamic(kCluster);
  d.define("log.cleaner.backoff.ms", T::int64, "15000", at_least(0), kMedium,
           "Pause of a cleaner thread that found nothing to clean.")
      .dynamic(kCluster);
  d.define("log.cleaner.delete.retention.ms", T::int64, "86400000", at_least(0), kMedium,
           "How long tombstones stay in compacted topics.")
      .dynamic(kCluster);
  d.define("log.cleaner.min.cleanable.ratio", T::float64, "0.5", between(0, 1), kMedium,
           "Share of uncompacted log that makes a log eligible for cleaning.")
      .dynamic(kCluster);
  d.define("log.cleaner.min.compaction.lag.ms", T::int64, "0", at_least(0), kMedium,
           "Shortest time a record stays uncompacted.")
      .dynamic(kCluster);
  d.define("log.cleaner.max.compaction.lag.ms", T::int64, long_max(), at_least(1), kMedium,
           "Longest time a record may stay uncompacted.")
      .dynamic(kCluster);
}

void define_groups_and_transactions(ConfigDef& d) {
  d.define("offsets.topic.num.partitions", T::int32, "50", at_least(1), kHigh,
           "Partitions of __consumer_offsets; fixed once the topic exists.");
  d.define("offsets.topic.replication.factor", T::int16, "1", at_least(1), kHigh,
           "Replication factor of __consumer_offsets (kfk default 1, for a single node; "
           "Kafka's is 3).");
  // At least what segment.bytes allows: the topic is created with it.
  d.define("offsets.topic.segment.bytes", T::int32, "104857600", at_least(1024 * 1024), kHigh,
           "Segment size of __consumer_offsets, kept small for fast loading.");
  d.define("offsets.retention.minutes", T::int32, "10080", at_least(1), kHigh,
           "How long committed offsets of an empty group are kept.");
  d.define("offsets.retention.check.interval.ms", T::int64, "600000", at_least(1), kHigh,
           "How often expired offsets are looked for.");
  d.define("offsets.commit.timeout.ms", T::int32, "5000", at_least(1), kHigh,
           "How long an offset commit waits for the offsets topic write.");
  d.define("offset.metadata.max.bytes", T::int32, "4096", no_validator(), kHigh,
           "Largest metadata string accepted with an offset commit.");
  d.define("group.initial.rebalance.delay.ms", T::int32, "3000", no_validator(), kMedium,
           "How long the coordinator waits for more members before a new group's first "
           "rebalance.");
  d.define("group.min.session.timeout.ms", T::int32, "6000", no_validator(), kMedium,
           "Smallest session timeout a member may ask for.");
  d.define("group.max.session.timeout.ms", T::int32, "1800000", no_validator(), kMedium,
           "Largest session timeout a member may ask for.");
  d.define("group.max.size", T::int32, int_max(), at_least(1), kMedium,
           "Most members a group may have.");
  d.define("transaction.max.timeout.ms", T::int32, "900000", at_least(1), kHigh,
           "Largest transaction timeout a producer may ask for.");
  d.define("transactional.id.expiration.ms", T::int32, "604800000", at_least(1), kHigh,
           "How long an unused transactional id is kept.");
  d.define("transaction.state.log.num.partitions", T::int32, "50", at_least(1), kHigh,
           "Partitions of __transaction_state.");
  d.define("transaction.state.log.replication.factor", T::int16, "1", at_least(1), kHigh,
           "Replication factor of __transaction_state (kfk default 1; Kafka's is 3).");
  d.define("transaction.state.log.min.isr", T::int32, "1", at_least(1), kHigh,
           "min.insync.replicas of __transaction_state (kfk default 1; Kafka's is 2).");
  d.define("transaction.state.log.segment.bytes", T::int32, "104857600", at_least(1024 * 1024),
           kHigh, "Segment size of __transaction_state.");
  d.define("producer.id.expiration.ms", T::int32, "86400000", at_least(1), kLow,
           "How long the state of an idle producer id is kept.")
      .dynamic(kCluster);
  d.define("producer.id.expiration.check.interval.ms", T::int32, "600000", at_least(1), kLow,
           "How often idle producer ids are looked for.");
}

ConfigDef build_broker_def() {
  ConfigDef d;
  define_node_and_network(d);
  define_log(d);
  define_cleaner(d);
  define_groups_and_transactions(d);
  // Last: every other Kafka broker setting, accepted without effect.
  define_kafka_compat_broker_keys(d);
  return d;
}

// Cross-setting checks and the typed view.
Result<BrokerConfig> build(Config values) {
  BrokerConfig b;
  std::vector<std::string> errors;
  const Config& v = values;

  b.node_id = v.get_int("node.id");
  std::set<std::string> roles;
  for (const auto& r : v.get_list("process.roles")) {
    if (!roles.insert(r).second) {
      errors.push_back(fmt::format("process.roles lists {} twice", r));
      continue;
    }
    b.process_roles.push_back(r == "broker" ? ProcessRole::broker : ProcessRole::controller);
  }
  b.cluster_id = v.get_optional_string("cluster.id");
  b.broker_rack = v.get_optional_string("broker.rack");

  auto map = parse_security_protocol_map(v.get_list("listener.security.protocol.map"));
  if (map.ok()) {
    b.listener_security_protocol_map = map.value();
    auto listeners = parse_listeners(v.get_list("listeners"), map.value());
    if (listeners.ok()) {
      b.listeners = listeners.value();
    } else {
      errors.insert(errors.end(), listeners.errors().begin(), listeners.errors().end());
    }
    if (v.get("advertised.listeners").is_null()) {
      b.advertised_listeners = b.listeners;
    } else {
      auto adv = parse_listeners(v.get_list("advertised.listeners"), map.value(),
                                 "advertised.listeners", /*distinct_ports=*/false);
      if (adv.ok()) {
        b.advertised_listeners = adv.value();
      } else {
        errors.insert(errors.end(), adv.errors().begin(), adv.errors().end());
      }
      for (const auto& a : b.advertised_listeners) {
        if (a.host == "0.0.0.0" || a.host == "::") {
          errors.push_back(fmt::format(
              "advertised.listeners: {} advertises the wildcard address {}; clients need an "
              "address they can connect to",
              a.name, a.host));
        }
        const bool known = std::any_of(b.listeners.begin(), b.listeners.end(),
                                       [&](const Listener& l) { return l.name == a.name; });
        if (listeners.ok() && !known) {
          errors.push_back(
              fmt::format("advertised.listeners: listener {} is not one of the listeners", a.name));
        }
      }
    }
  } else {
    errors.insert(errors.end(), map.errors().begin(), map.errors().end());
  }
  for (const auto& name : v.get_list("controller.listener.names")) {
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    b.controller_listener_names.push_back(upper);
    const bool known = std::any_of(b.listeners.begin(), b.listeners.end(),
                                   [&](const Listener& l) { return l.name == upper; });
    if (!known) {
      errors.push_back(
          fmt::format("controller.listener.names: {} is not one of the listeners", name));
    }
  }
  b.num_reactor_threads = v.get_int("num.reactor.threads");
  b.socket_request_max_bytes = v.get_int("socket.request.max.bytes");
  b.socket_send_buffer_bytes = v.get_int("socket.send.buffer.bytes");
  b.socket_receive_buffer_bytes = v.get_int("socket.receive.buffer.bytes");
  b.socket_listen_backlog_size = v.get_int("socket.listen.backlog.size");
  b.connections_max_idle_ms = v.get_long("connections.max.idle.ms");
  b.max_connections = v.get_int("max.connections");
  b.max_connections_per_ip = v.get_int("max.connections.per.ip");
  if (auto overrides = parse_per_ip_overrides(v.get_string("max.connections.per.ip.overrides"));
      overrides.ok())
    b.max_connections_per_ip_overrides = overrides.value();
  b.queued_max_request_bytes = v.get_long("queued.max.request.bytes");
  b.queued_max_requests = v.get_int("queued.max.requests");
  b.fetch_max_bytes = v.get_int("fetch.max.bytes");
  b.max_incremental_fetch_session_cache_slots =
      v.get_int("max.incremental.fetch.session.cache.slots");
  b.min_incremental_fetch_session_eviction_ms =
      v.get_int("min.incremental.fetch.session.eviction.ms");

  if (v.get("log.dirs").is_null()) {
    b.log_dirs = {v.get_string("log.dir")};
  } else {
    b.log_dirs = v.get_list("log.dirs");
    if (b.log_dirs.empty()) {
      errors.push_back("log.dirs is empty; at least one log directory is needed");
    }
  }
  b.metadata_log_dir = v.get_optional_string("metadata.log.dir")
                           .value_or(b.log_dirs.empty() ? std::string() : b.log_dirs.front());
  b.metadata_log_segment_bytes = v.get_int("metadata.log.segment.bytes");
  b.metadata_log_max_record_bytes_between_snapshots =
      v.get_long("metadata.log.max.record.bytes.between.snapshots");
  b.metadata_log_max_snapshot_interval_ms = v.get_long("metadata.log.max.snapshot.interval.ms");
  b.log_retention_check_interval_ms = v.get_long("log.retention.check.interval.ms");
  b.log_flush_scheduler_interval_ms = v.get_long("log.flush.scheduler.interval.ms");
  b.log_flush_offset_checkpoint_interval_ms = v.get_int("log.flush.offset.checkpoint.interval.ms");
  b.log_flush_start_offset_checkpoint_interval_ms =
      v.get_int("log.flush.start.offset.checkpoint.interval.ms");
  b.num_recovery_threads_per_data_dir = v.get_int("num.recovery.threads.per.data.dir");
  b.log_cleaner_enable = v.get_bool("log.cleaner.enable");
  b.log_cleaner_threads = v.get_int("log.cleaner.threads");
  b.log_cleaner_dedupe_buffer_size = v.get_long("log.cleaner.dedupe.buffer.size");
  b.log_cleaner_io_buffer_size = v.get_int("log.cleaner.io.buffer.size");
  b.log_cleaner_io_buffer_load_factor = v.get_double("log.cleaner.io.buffer.load.factor");
  b.log_cleaner_io_max_bytes_per_second = v.get_double("log.cleaner.io.max.bytes.per.second");
  b.log_cleaner_backoff_ms = v.get_long("log.cleaner.backoff.ms");

  b.num_partitions = v.get_int("num.partitions");
  b.default_replication_factor = v.get_int("default.replication.factor");
  b.auto_create_topics_enable = v.get_bool("auto.create.topics.enable");
  b.delete_topic_enable = v.get_bool("delete.topic.enable");

  b.offsets_topic_num_partitions = v.get_int("offsets.topic.num.partitions");
  b.offsets_topic_replication_factor =
      static_cast<int16_t>(v.get_int("offsets.topic.replication.factor"));
  b.offsets_topic_segment_bytes = v.get_int("offsets.topic.segment.bytes");
  b.offsets_retention_ms = v.get_long("offsets.retention.minutes") * 60'000;
  b.offsets_retention_check_interval_ms = v.get_long("offsets.retention.check.interval.ms");
  b.offsets_commit_timeout_ms = v.get_int("offsets.commit.timeout.ms");
  b.offset_metadata_max_bytes = v.get_int("offset.metadata.max.bytes");
  b.group_initial_rebalance_delay_ms = v.get_int("group.initial.rebalance.delay.ms");
  b.group_min_session_timeout_ms = v.get_int("group.min.session.timeout.ms");
  b.group_max_session_timeout_ms = v.get_int("group.max.session.timeout.ms");
  b.group_max_size = v.get_int("group.max.size");

  b.transaction_max_timeout_ms = v.get_int("transaction.max.timeout.ms");
  b.transactional_id_expiration_ms = v.get_int("transactional.id.expiration.ms");
  b.transaction_state_log_num_partitions = v.get_int("transaction.state.log.num.partitions");
  b.transaction_state_log_replication_factor =
      static_cast<int16_t>(v.get_int("transaction.state.log.replication.factor"));
  b.transaction_state_log_min_isr = v.get_int("transaction.state.log.min.isr");
  b.transaction_state_log_segment_bytes = v.get_int("transaction.state.log.segment.bytes");
  b.producer_id_expiration_ms = v.get_int("producer.id.expiration.ms");
  b.producer_id_expiration_check_interval_ms =
      v.get_int("producer.id.expiration.check.interval.ms");

  b.values = std::move(values);
  auto topic = resolve_topic_config(b.layers(), {});
  if (topic.ok()) {
    b.log_defaults = topic.value();
    if (b.log_defaults.retention_ms == 0) {
      errors.push_back(
          "log retention time is 0 (from log.retention.ms, .minutes or .hours); accepted: -1 "
          "(no limit) or at least 1 ms");
    }
  } else {
    errors.insert(errors.end(), topic.errors().begin(), topic.errors().end());
  }
  if (!errors.empty()) return Result<BrokerConfig>::failure(std::move(errors));
  return b;
}

}  // namespace

const ConfigDef& broker_config_def() {
  static const ConfigDef def = build_broker_def();
  return def;
}

bool BrokerConfig::has_role(ProcessRole role) const {
  return std::find(process_roles.begin(), process_roles.end(), role) != process_roles.end();
}

int BrokerConfig::reactor_threads() const {
  if (num_reactor_threads > 0) return num_reactor_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

BrokerLayers BrokerConfig::layers() const {
  BrokerLayers l;
  l.static_config = &values;
  return l;
}

std::optional<ListenerSettingName> split_listener_setting(std::string_view name) {
  constexpr std::string_view kPrefix = "listener.name.";
  if (!name.starts_with(kPrefix)) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
  ListenerSettingName n;
  n.name = std::string(kPrefix) + std::string(name);
  for (char c : name.substr(0, dot))
    n.listener += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  n.setting = std::string(name.substr(dot + 1));
  return n;
}

std::string check_listener_setting(const ListenerSettingName& n, std::string_view value) {
  const ConfigDef& def = broker_config_def();
  std::string_view base = n.setting;
  // <mechanism>.sasl.jaas.config and kin: the SASL setting of one mechanism.
  if (const size_t dot = base.find('.');
      dot != std::string_view::npos && base.substr(dot + 1).starts_with("sasl."))
    base.remove_prefix(dot + 1);
  const std::string& full = n.name;
  const ConfigKey* key = def.find(base);
  if (key == nullptr) return fmt::format("{}: {}", full, def.unknown_message(base));
  const bool scoped = base == "max.connections" || base == "max.connection.creation.rate" ||
                      base == "connections.max.reauth.ms" || base.starts_with("ssl.") ||
                      base.starts_with("sasl.");
  if (!scoped)
    return fmt::format(
        "{}: {} cannot be set for one listener (Kafka allows max.connections, "
        "max.connection.creation.rate, connections.max.reauth.ms, ssl.* and sasl.* there)",
        full, base);
  if (auto parsed = def.parse_value(*key, value); !parsed.ok())
    return fmt::format("{}: {}", full, parsed.error_text());
  return {};
}

namespace {

// The broker settings, with the listener.name.* ones (which no ConfigDef key names) checked
// and kept apart.
Result<BrokerConfig> make_broker_config_from(std::vector<Setting> settings) {
  std::vector<Setting> plain;
  std::vector<std::pair<ListenerSettingName, std::string>> per_listener;
  std::vector<std::string> errors;
  for (auto& s : settings) {
    auto n = split_listener_setting(s.name);
    if (!n) {
      plain.push_back(std::move(s));
      continue;
    }
    if (auto err = check_listener_setting(*n, s.value); !err.empty()) {
      errors.push_back(s.origin.empty() ? err : s.origin + ": " + err);
      continue;
    }
    per_listener.emplace_back(std::move(*n), std::move(s.value));
  }
  auto parsed = broker_config_def().parse(plain);
  if (!parsed.ok()) errors.insert(errors.begin(), parsed.errors().begin(), parsed.errors().end());
  if (!errors.empty()) return Result<BrokerConfig>::failure(std::move(errors));
  auto built = build(std::move(parsed).value());
  if (!built.ok()) return built;
  for (auto& [n, value] : per_listener)
    built.value().listener_settings[n.listener][n.setting] = std::move(value);
  return built;
}

}  // namespace

Result<BrokerConfig> make_broker_config(std::span<const Setting> settings) {
  return make_broker_config_from(std::vector<Setting>(settings.begin(), settings.end()));
}

Result<BrokerConfig> make_broker_config(const std::map<std::string, std::string>& settings) {
  std::vector<Setting> list;
  for (const auto& [name, value] : settings) list.push_back(Setting{name, value, {}, {}});
  return make_broker_config_from(std::move(list));
}

BrokerConfig default_broker_config() {
  auto r = make_broker_config(std::map<std::string, std::string>{});
  return r.ok() ? std::move(r).value() : BrokerConfig{};
}

namespace {

Result<BrokerConfig> load(Result<std::vector<Setting>> file,
                          const std::vector<std::string>& overrides) {
  std::vector<std::string> errors;
  std::vector<Setting> settings;
  if (file.ok()) {
    settings = std::move(file).value();
  } else {
    errors = file.errors();
  }
  for (const auto& arg : overrides) {
    auto s = parse_setting_arg(arg, "--set");
    if (s.ok()) {
      settings.push_back(std::move(s).value());
    } else {
      errors.insert(errors.end(), s.errors().begin(), s.errors().end());
    }
  }
  if (!errors.empty()) return Result<BrokerConfig>::failure(std::move(errors));
  return make_broker_config(settings);
}

}  // namespace

Result<BrokerConfig> load_broker_config(const std::optional<std::string>& toml_path,
                                        const std::vector<std::string>& overrides) {
  if (!toml_path) return load(std::vector<Setting>{}, overrides);
  return load(read_toml_file(*toml_path), overrides);
}

Result<BrokerConfig> load_broker_config_from_string(std::string_view toml_text,
                                                    const std::vector<std::string>& overrides,
                                                    std::string_view source_name) {
  return load(read_toml_settings(toml_text, source_name), overrides);
}

std::vector<ConfigEntry> describe_broker_config(const BrokerLayers& broker) {
  const ConfigDef& def = broker_config_def();
  std::vector<ConfigEntry> out;
  for (const ConfigKey& key : def.keys()) {
    ConfigEntry e;
    e.name = key.name;
    e.read_only = key.read_only();
    e.sensitive = key.sensitive();
    e.type = key.type;
    e.documentation = key.doc;
    // Kafka drops the group members ranked above this key (log.retention.ms when describing
    // log.retention.hours).
    auto chain = broker_synonyms(
        broker, key.synonyms.empty() ? std::vector<Synonym>{{key.name, 1}} : key.synonyms);
    auto first = std::find_if(chain.begin(), chain.end(),
                              [&](const ConfigSynonymEntry& s) { return s.name == key.name; });
    e.synonyms.assign(first, chain.end());
    // The key's own value, from the highest layer that sets it.
    if (!e.synonyms.empty()) {
      e.source = e.synonyms.front().source;
      e.value = e.synonyms.front().value;
      if (e.source == ConfigSource::dynamic_broker_config ||
          e.source == ConfigSource::dynamic_default_broker_config) {
        if (auto parsed = def.parse_value(key, e.value.value_or("")); parsed.ok()) {
          e.value = format_value(parsed.value(), key.type);
        }
      }
    } else {
      e.source = ConfigSource::default_config;
      e.value = std::nullopt;
    }
    if (e.sensitive) e.value.reset();
    out.push_back(std::move(e));
  }
  return out;
}

ConfigStatus validate_dynamic_broker_update(
    const std::map<std::string, std::optional<std::string>>& changes, bool cluster_default) {
  const ConfigDef& def = broker_config_def();
  std::vector<std::string> read_only;
  std::vector<std::string> per_broker_only;
  std::vector<std::string> errors;
  for (const auto& [name, value] : changes) {
    if (auto n = split_listener_setting(name)) {
      if (value) {
        if (auto err = check_listener_setting(*n, *value); !err.empty()) {
          errors.push_back(err);
          continue;
        }
      }
      // Of the per-listener settings only the connection limits change at runtime.
      if (n->setting != "max.connections" && n->setting != "max.connection.creation.rate")
        read_only.push_back(name);
      continue;
    }
    const ConfigKey* key = def.find(name);
    if (key == nullptr) {
      errors.push_back(def.unknown_message(name));
      continue;
    }
    if (key->read_only()) {
      read_only.push_back(name);
      continue;
    }
    if (key->no_effect && value) warn_deprecated_once(*key);
    if (cluster_default && key->update_mode == UpdateMode::per_broker) {
      per_broker_only.push_back(name);
      continue;
    }
    if (value) {
      auto parsed = def.parse_value(*key, *value);
      if (!parsed.ok()) errors.push_back(parsed.error_text());
    }
  }
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (!read_only.empty()) {
    errors.insert(errors.begin(),
                  "cannot be changed without a restart (read-only): " + join(read_only));
  }
  if (!per_broker_only.empty()) {
    errors.push_back("can only be changed for one broker, not cluster-wide: " +
                     join(per_broker_only));
  }
  if (errors.empty()) return {};
  return {protocol::ErrorCode::invalid_request, join(errors)};
}

}  // namespace kfk::config

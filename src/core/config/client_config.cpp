#include "core/config/client_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "core/config/toml_settings.h"
#include "core/config/topic_config.h"

namespace kfk::config {

namespace {

using T = ConfigType;
constexpr auto kHigh = Importance::high;
constexpr auto kMedium = Importance::medium;
constexpr auto kLow = Importance::low;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "host:port" or "[v6]:port", port 1-65535.
bool valid_server(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == s.npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == s.npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != host.npos) return false;
  }
  if (host.empty()) return false;
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
          c == '%' || c == ':')) {
      return false;
    }
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  return !port.empty() && ec == std::errc() && ptr == port.data() + port.size() && p >= 1 &&
         p <= 65535;
}

std::optional<Assignor> parse_assignor(std::string_view name) {
  std::string n = lower(name);
  constexpr std::string_view kPackage = "org.apache.kafka.clients.consumer.";
  if (n.starts_with(kPackage)) n = n.substr(kPackage.size());
  if (n == "range" || n == "rangeassignor") return Assignor::range;
  if (n == "roundrobin" || n == "roundrobinassignor") return Assignor::roundrobin;
  if (n == "cooperative-sticky" || n == "cooperativestickyassignor") {
    return Assignor::cooperative_sticky;
  }
  return std::nullopt;
}

std::optional<std::pair<OffsetReset, int64_t>> parse_offset_reset(std::string_view text) {
  const std::string t = lower(text);
  if (t == "earliest") return std::pair{OffsetReset::earliest, int64_t{0}};
  if (t == "latest") return std::pair{OffsetReset::latest, int64_t{0}};
  if (t == "none") return std::pair{OffsetReset::none, int64_t{0}};
  constexpr std::string_view kPrefix = "by_duration:";
  if (t.starts_with(kPrefix)) {
    auto ms = parse_iso_duration_ms(std::string_view(text).substr(kPrefix.size()));
    if (ms && *ms >= 0) return std::pair{OffsetReset::by_duration, *ms};
  }
  return std::nullopt;
}

const std::vector<std::string>& partitioner_names() {
  static const std::vector<std::string> names = {
      "murmur2_random", "murmur2",      "consistent_random", "consistent", "random",
      "fnv1a",          "fnv1a_random", "round_robin",       "sticky"};
  return names;
}

void define_common(ConfigDef& d) {
  d.define("bootstrap.servers", T::list, "",
           custom("host:port entries separated by commas",
                  [](const ConfigValue& v) -> std::string {
                    for (const auto& s : v.as_list()) {
                      if (!valid_server(s)) return fmt::format("'{}' is not host:port", s);
                    }
                    return {};
                  }),
           kHigh, "Brokers to connect to first, host:port separated by commas.");
  d.define("client.id", T::string, "", no_validator(), kLow,
           "Name sent with every request, for the broker's logs and quotas.");
  d.define("client.rack", T::string, "", no_validator(), kLow,
           "Rack of the client, for fetching from the closest replica.");
  d.define("security.protocol", T::string, "PLAINTEXT",
           one_of({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, CaseRule::insensitive),
           kMedium, "Protocol used to talk to brokers.");
  d.define("request.timeout.ms", T::int32, "30000", at_least(0), kMedium,
           "How long to wait for a response before retrying or failing the request.");
  d.define("default.api.timeout.ms", T::int32, "60000", at_least(0), kMedium,
           "Time limit of client operations that take no explicit timeout.");
  d.define("socket.connection.setup.timeout.ms", T::int64, "10000", no_validator(), kMedium,
           "How long a connection attempt may take before it is abandoned.");
  d.define("socket.connection.setup.timeout.max.ms", T::int64, "30000", no_validator(), kMedium,
           "Cap on the connection timeout as it grows after repeated failures.");
  d.define("connections.max.idle.ms", T::int64, "540000", no_validator(), kMedium,
           "Idle connections are closed after this long.");
  d.define("metadata.max.age.ms", T::int64, "300000", at_least(0), kLow,
           "Metadata is refreshed at least this often.");
  d.define("reconnect.backoff.ms", T::int64, "50", at_least(0), kLow,
           "First wait before reconnecting to a broker.");
  d.define("reconnect.backoff.max.ms", T::int64, "1000", at_least(0), kLow,
           "Longest wait before reconnecting, as the wait grows.");
  d.define("retry.backoff.ms", T::int64, "100", at_least(0), kLow,
           "First wait before retrying a failed request.");
  d.define("retry.backoff.max.ms", T::int64, "1000", at_least(0), kLow,
           "Longest wait before retrying, as the wait grows.");
}

void define_producer(ConfigDef& d) {
  d.define("acks", T::string, "all", one_of({"all", "-1", "0", "1"}), kLow,
           "Acknowledgement a produce waits for: 0 none, 1 the leader, all (-1) every in-sync "
           "replica.");
  d.define("compression.type", T::string, "none", one_of({"none", "gzip", "snappy", "lz4", "zstd"}),
           kHigh, "Codec for the batches the producer sends.");
  d.define("compression.gzip.level", T::int32, "-1", gzip_level_validator(), kMedium,
           "gzip level.");
  d.define("compression.lz4.level", T::int32, "9", between(1, 17), kMedium, "lz4 level.");
  d.define("compression.zstd.level", T::int32, "3", between(-131072, 22), kMedium, "zstd level.");
  d.define("linger.ms", T::int64, "5", at_least(0), kMedium,
           "How long a batch waits for more records before it is sent.");
  d.define("batch.size", T::int32, "16384", at_least(0), kMedium,
           "Size in bytes at which a partition's batch is sent without waiting.");
  d.define("buffer.memory", T::int64, "33554432", at_least(0), kHigh,
           "Memory for records waiting to be sent.");
  d.define("max.request.size", T::int32, "1048576", at_least(0), kMedium,
           "Largest produce request the producer builds.");
  d.define("max.block.ms", T::int64, "60000", at_least(0), kMedium,
           "How long send() may block for metadata or buffer space.");
  d.define("enable.idempotence", T::boolean, "true", no_validator(), kLow,
           "Let the broker drop duplicates from retries, keeping each partition in order.");
  d.define("max.in.flight.requests.per.connection", T::int32, "5", at_least(1), kLow,
           "Unanswered produce requests allowed per connection.");
  d.define("retries", T::int32, std::to_string(std::numeric_limits<int32_t>::max()),
           between(0, std::numeric_limits<int32_t>::max()), kHigh,
           "Retries of a failed produce; delivery.timeout.ms bounds them in time.");
  d.define("delivery.timeout.ms", T::int32, "120000", at_least(0), kMedium,
           "Time limit for a record from send() to success or failure, retries included.");
  d.define("transactional.id", T::string, kNullDefault, non_empty(), kLow,
           "Id that makes the producer transactional and fences older instances.");
  d.define("transaction.timeout.ms", T::int32, "60000", no_validator(), kLow,
           "How long a transaction may stay open before the coordinator aborts it.");
  d.define("partitioner", T::string, "murmur2_random", one_of(partitioner_names()), kMedium,
           "kfk: how keyed records pick a partition (librdkafka's names; murmur2_random "
           "matches the Java client).");
  d.define("partitioner.ignore.keys", T::boolean, "false", no_validator(), kMedium,
           "Spread records as if they had no key.");
}

void define_consumer(ConfigDef& d) {
  d.define("group.id", T::string, kNullDefault, no_validator(), kHigh,
           "Consumer group to join; needed for subscribing and committing offsets.");
  d.define("group.instance.id", T::string, kNullDefault, non_empty(), kMedium,
           "Static membership id, kept across restarts to avoid rebalances.");
  d.define("group.protocol", T::string, "classic",
           one_of({"classic", "consumer"}, CaseRule::insensitive), kHigh,
           "Group protocol: classic, or consumer (the broker-driven protocol).");
  d.define("auto.offset.reset", T::string, "latest",
           custom("earliest, latest, none or by_duration:<ISO-8601 duration>",
                  [](const ConfigValue& v) -> std::string {
                    return parse_offset_reset(v.as_string()) ? "" : "not an accepted value";
                  }),
           kMedium, "Where to start when there is no committed offset or it is out of range.");
  d.define("enable.auto.commit", T::boolean, "true", no_validator(), kMedium,
           "Commit consumed offsets in the background.");
  d.define("auto.commit.interval.ms", T::int32, "5000", at_least(0), kLow,
           "How often offsets are committed automatically.");
  d.define("session.timeout.ms", T::int32, "45000", no_validator(), kHigh,
           "How long the group waits for a silent member before removing it.");
  d.define("heartbeat.interval.ms", T::int32, "3000", no_validator(), kHigh,
           "How often a member tells the coordinator it is alive.");
  d.define("max.poll.interval.ms", T::int32, "300000", at_least(1), kMedium,
           "Longest time between polls before the member leaves the group.");
  d.define("max.poll.records", T::int32, "500", at_least(1), kMedium,
           "Most records one poll returns.");
  d.define("isolation.level", T::string, "read_uncommitted",
           one_of({"read_committed", "read_uncommitted"}), kMedium,
           "read_committed hides records of open and aborted transactions.");
  d.define("fetch.min.bytes", T::int32, "1", at_least(0), kHigh,
           "Bytes a fetch waits for before the broker answers.");
  d.define("fetch.max.wait.ms", T::int32, "500", at_least(0), kLow,
           "Longest the broker waits for fetch.min.bytes.");
  d.define("fetch.max.bytes", T::int32, "52428800", at_least(0), kMedium,
           "Most bytes one fetch returns (at least one batch is always returned).");
  d.define("max.partition.fetch.bytes", T::int32, "1048576", at_least(0), kHigh,
           "Most bytes one fetch returns per partition.");
  d.define("partition.assignment.strategy", T::list, "range,cooperative-sticky",
           custom("range, roundrobin, cooperative-sticky (or the Java class names)",
                  [](const ConfigValue& v) -> std::string {
                    if (v.as_list().empty()) return "must not be empty";
                    for (const auto& a : v.as_list()) {
                      if (!parse_assignor(a)) return fmt::format("'{}' is not an assignor", a);
                    }
                    return {};
                  }),
           kMedium, "Assignors offered to the group, preferred first (classic protocol).");
  d.define("check.crcs", T::boolean, "true", no_validator(), kLow,
           "Check the CRC of fetched batches.");
  d.define("allow.auto.create.topics", T::boolean, "true", no_validator(), kMedium,
           "Let subscribing create missing topics, when the broker allows it.");
  d.define("exclude.internal.topics", T::boolean, "true", no_validator(), kMedium,
           "Keep internal topics out of pattern subscriptions.");
}

ConfigDef build_client_def() {
  ConfigDef d;
  define_common(d);
  define_producer(d);
  define_consumer(d);
  return d;
}

Result<ClientConfig> build(Config values) {
  ClientConfig c;
  std::vector<std::string> errors;
  const Config& v = values;

  c.bootstrap_servers = v.get_list("bootstrap.servers");
  c.client_id = v.get_string("client.id");
  c.client_rack = v.get_string("client.rack");
  c.security_protocol = parse_security_protocol(v.get_string("security.protocol"))
                            .value_or(SecurityProtocol::plaintext);
  c.request_timeout_ms = v.get_int("request.timeout.ms");
  c.default_api_timeout_ms = v.get_int("default.api.timeout.ms");
  c.socket_connection_setup_timeout_ms = v.get_long("socket.connection.setup.timeout.ms");
  c.socket_connection_setup_timeout_max_ms = v.get_long("socket.connection.setup.timeout.max.ms");
  c.connections_max_idle_ms = v.get_long("connections.max.idle.ms");
  c.metadata_max_age_ms = v.get_long("metadata.max.age.ms");
  c.reconnect_backoff_ms = v.get_long("reconnect.backoff.ms");
  c.reconnect_backoff_max_ms = v.get_long("reconnect.backoff.max.ms");
  c.retry_backoff_ms = v.get_long("retry.backoff.ms");
  c.retry_backoff_max_ms = v.get_long("retry.backoff.max.ms");

  const std::string& acks = v.get_string("acks");
  c.acks = static_cast<int16_t>(acks == "0" ? 0 : acks == "1" ? 1 : -1);
  c.compression = record::parse_compression(v.get_string("compression.type"))
                      .value_or(record::Compression::none);
  c.compression_gzip_level = v.get_int("compression.gzip.level");
  c.compression_lz4_level = v.get_int("compression.lz4.level");
  c.compression_zstd_level = v.get_int("compression.zstd.level");
  c.linger_ms = v.get_long("linger.ms");
  c.batch_size = v.get_int("batch.size");
  c.buffer_memory = v.get_long("buffer.memory");
  c.max_request_size = v.get_int("max.request.size");
  c.max_block_ms = v.get_long("max.block.ms");
  c.max_in_flight_requests_per_connection = v.get_int("max.in.flight.requests.per.connection");
  c.retries = v.get_int("retries");
  c.transactional_id = v.get_optional_string("transactional.id");
  c.transaction_timeout_ms = v.get_int("transaction.timeout.ms");
  const auto& pnames = partitioner_names();
  const auto pit = std::find(pnames.begin(), pnames.end(), v.get_string("partitioner"));
  c.partitioner = static_cast<Partitioner>(pit == pnames.end() ? 0 : pit - pnames.begin());
  c.partitioner_ignore_keys = v.get_bool("partitioner.ignore.keys");

  // Idempotence: turned off quietly when left at its default, refused when asked for.
  c.enable_idempotence = v.get_bool("enable.idempotence");
  const bool idempotence_explicit = v.is_set("enable.idempotence");
  if (c.enable_idempotence) {
    std::vector<std::string> conflicts;
    if (c.retries == 0) conflicts.push_back("retries must not be 0");
    if (c.acks != -1) conflicts.push_back("acks must be all");
    if (c.max_in_flight_requests_per_connection > 5) {
      conflicts.push_back("max.in.flight.requests.per.connection must be at most 5");
    }
    if (!conflicts.empty()) {
      if (idempotence_explicit) {
        for (const auto& why : conflicts) {
          errors.push_back("enable.idempotence=true needs other settings: " + why);
        }
      }
      c.enable_idempotence = false;
    }
  }
  if (c.transactional_id && !c.enable_idempotence && errors.empty()) {
    errors.push_back("transactional.id needs enable.idempotence=true");
  }

  const int64_t lower_bound = std::min<int64_t>(
      std::min<int64_t>(c.linger_ms, INT32_MAX) + c.request_timeout_ms, INT32_MAX);
  c.delivery_timeout_ms = v.get_int("delivery.timeout.ms");
  if (c.delivery_timeout_ms < lower_bound) {
    if (v.is_set("delivery.timeout.ms")) {
      errors.push_back(fmt::format(
          "delivery.timeout.ms ({}) must be at least linger.ms + request.timeout.ms ({})",
          c.delivery_timeout_ms, lower_bound));
    }
    c.delivery_timeout_ms = static_cast<int32_t>(lower_bound);
  }

  c.group_id = v.get_optional_string("group.id");
  c.group_instance_id = v.get_optional_string("group.instance.id");
  c.group_protocol = v.get_string("group.protocol") == "consumer" ? GroupProtocol::consumer
                                                                  : GroupProtocol::classic;
  const auto reset = parse_offset_reset(v.get_string("auto.offset.reset"));
  c.auto_offset_reset = reset ? reset->first : OffsetReset::latest;
  c.auto_offset_reset_duration_ms = reset ? reset->second : 0;
  c.enable_auto_commit = v.get_bool("enable.auto.commit");
  if (!c.group_id) {
    if (!v.is_set("enable.auto.commit")) {
      c.enable_auto_commit = false;
    } else if (c.enable_auto_commit) {
      errors.push_back("enable.auto.commit=true needs a group.id");
    }
  }
  c.auto_commit_interval_ms = v.get_int("auto.commit.interval.ms");
  c.session_timeout_ms = v.get_int("session.timeout.ms");
  c.heartbeat_interval_ms = v.get_int("heartbeat.interval.ms");
  if (c.group_id && c.heartbeat_interval_ms >= c.session_timeout_ms) {
    errors.push_back(
        fmt::format("heartbeat.interval.ms ({}) must be lower than session.timeout.ms ({})",
                    c.heartbeat_interval_ms, c.session_timeout_ms));
  }
  c.max_poll_interval_ms = v.get_int("max.poll.interval.ms");
  c.max_poll_records = v.get_int("max.poll.records");
  c.isolation_level = v.get_string("isolation.level") == "read_committed"
                          ? IsolationLevel::read_committed
                          : IsolationLevel::read_uncommitted;
  c.fetch_min_bytes = v.get_int("fetch.min.bytes");
  c.fetch_max_wait_ms = v.get_int("fetch.max.wait.ms");
  c.fetch_max_bytes = v.get_int("fetch.max.bytes");
  c.max_partition_fetch_bytes = v.get_int("max.partition.fetch.bytes");
  for (const auto& a : v.get_list("partition.assignment.strategy")) {
    if (auto parsed = parse_assignor(a)) c.partition_assignment_strategy.push_back(*parsed);
  }
  c.check_crcs = v.get_bool("check.crcs");
  c.allow_auto_create_topics = v.get_bool("allow.auto.create.topics");
  c.exclude_internal_topics = v.get_bool("exclude.internal.topics");

  c.values = std::move(values);
  if (!errors.empty()) return Result<ClientConfig>::failure(std::move(errors));
  return c;
}

// Reads an optionally signed decimal integer at the front of `s`.
bool take_number(std::string_view& s, int64_t& out) {
  size_t n = 0;
  if (n < s.size() && (s[n] == '+' || s[n] == '-')) ++n;
  const size_t digits_start = n;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  if (n == digits_start) return false;
  std::string_view num = s.substr(s[0] == '+' ? 1 : 0, n - (s[0] == '+' ? 1 : 0));
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), out);
  if (ec != std::errc() || ptr != num.data() + num.size()) return false;
  s.remove_prefix(n);
  return true;
}

}  // namespace

const ConfigDef& client_config_def() {
  static const ConfigDef def = build_client_def();
  return def;
}

std::optional<int64_t> parse_iso_duration_ms(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view s = upper;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() != 'P') return std::nullopt;
  s.remove_prefix(1);
  __int128 total = 0;  // ms
  bool any = false;
  bool in_time = false;
  char last_unit = 0;
  constexpr std::string_view kOrder = "DHMS";
  while (!s.empty()) {
    if (s.front() == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      s.remove_prefix(1);
      if (s.empty()) return std::nullopt;
      continue;
    }
    int64_t n = 0;
    if (!take_number(s, n)) return std::nullopt;
    int64_t frac_ms = 0;
    if (!s.empty() && (s.front() == '.' || s.front() == ',')) {
      s.remove_prefix(1);
      int digits = 0;
      int64_t scale = 100;
      while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
        if (digits < 3) frac_ms += (s.front() - '0') * scale;
        scale /= 10;
        ++digits;
        s.remove_prefix(1);
      }
      if (digits == 0 || digits > 9 || s.empty() || s.front() != 'S') return std::nullopt;
      if (n < 0) frac_ms = -frac_ms;
    }
    if (s.empty()) return std::nullopt;
    const char unit = s.front();
    s.remove_prefix(1);
    if (kOrder.find(unit) == std::string_view::npos ||
        (last_unit != 0 && kOrder.find(unit) <= kOrder.find(last_unit)) ||
        (unit == 'D') == in_time) {
      return std::nullopt;
    }
    last_unit = unit;
    const int64_t unit_ms = unit == 'D'   ? 86'400'000
                            : unit == 'H' ? 3'600'000
                            : unit == 'M' ? 60'000
                                          : 1000;
    total += static_cast<__int128>(n) * unit_ms + frac_ms;
    any = true;
  }
  if (!any) return std::nullopt;
  if (negative) total = -total;
  if (total > std::numeric_limits<int64_t>::max() || total < std::numeric_limits<int64_t>::min()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(total);
}

Result<ClientConfig> make_client_config(std::span<const Setting> settings) {
  auto parsed = client_config_def().parse(settings);
  if (!parsed.ok()) return Result<ClientConfig>::failure(parsed.errors());
  return build(std::move(parsed).value());
}

Result<ClientConfig> make_client_config(const std::map<std::string, std::string>& properties) {
  auto parsed = client_config_def().parse(properties);
  if (!parsed.ok()) return Result<ClientConfig>::failure(parsed.errors());
  return build(std::move(parsed).value());
}

Result<ClientConfig> parse_client_properties(const std::vector<std::string>& args) {
  std::vector<Setting> settings;
  std::vector<std::string> errors;
  for (const auto& arg : args) {
    auto s = parse_setting_arg(arg, "-X");
    if (s.ok()) {
      settings.push_back(std::move(s).value());
    } else {
      errors.insert(errors.end(), s.errors().begin(), s.errors().end());
    }
  }
  if (!errors.empty()) return Result<ClientConfig>::failure(std::move(errors));
  return make_client_config(settings);
}

}  // namespace kfk::config

#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "core/config/client_config.h"

using namespace kfk::config;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

ClientConfig client_ok(const std::vector<std::string>& args) {
  auto r = parse_client_properties(args);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  return std::move(r).value();
}

std::string client_error(const std::vector<std::string>& args) {
  auto r = parse_client_properties(args);
  REQUIRE(!r.ok());
  return r.error_text();
}

}  // namespace

TEST_CASE("config: client defaults are the Java client's") {
  const ClientConfig c = client_ok({});
  CHECK(c.bootstrap_servers.empty());
  CHECK(c.client_id.empty());
  CHECK(c.security_protocol == SecurityProtocol::plaintext);
  CHECK(c.request_timeout_ms == 30000);
  CHECK(c.acks == -1);
  CHECK(c.compression == kfk::record::Compression::none);
  CHECK(c.linger_ms == 5);
  CHECK(c.batch_size == 16384);
  CHECK(c.enable_idempotence);
  CHECK(c.max_in_flight_requests_per_connection == 5);
  CHECK(c.retries == std::numeric_limits<int32_t>::max());
  CHECK(c.retry_backoff_ms == 100);
  CHECK(c.retry_backoff_max_ms == 1000);
  CHECK(c.delivery_timeout_ms == 120000);
  CHECK(c.partitioner == Partitioner::murmur2_random);
  CHECK(!c.group_id);
  CHECK(c.auto_offset_reset == OffsetReset::latest);
  CHECK(!c.enable_auto_commit);  // no group.id
  CHECK(c.auto_commit_interval_ms == 5000);
  CHECK(c.session_timeout_ms == 45000);
  CHECK(c.heartbeat_interval_ms == 3000);
  CHECK(c.max_poll_interval_ms == 300000);
  CHECK(c.isolation_level == IsolationLevel::read_uncommitted);
  CHECK(c.fetch_min_bytes == 1);
  CHECK(c.fetch_max_wait_ms == 500);
  CHECK(c.fetch_max_bytes == 52428800);
  CHECK(c.max_partition_fetch_bytes == 1048576);
  CHECK(c.partition_assignment_strategy ==
        std::vector<Assignor>{Assignor::range, Assignor::cooperative_sticky});
  CHECK(c.group_protocol == GroupProtocol::classic);
}

TEST_CASE("config: client properties are parsed and checked") {
  const ClientConfig c =
      client_ok({"bootstrap.servers=a:9092, [::1]:9093", "client.id=kfk-test", "acks=1",
                 "enable.idempotence=false", "compression.type=zstd", "linger.ms=0", "group.id=g",
                 "auto.offset.reset=earliest", "isolation.level=read_committed",
                 "security.protocol=sasl_ssl", "partitioner=consistent_random",
                 "partition.assignment.strategy=roundrobin,"
                 "org.apache.kafka.clients.consumer.RangeAssignor",
                 "group.protocol=CONSUMER"});
  CHECK(c.bootstrap_servers == std::vector<std::string>{"a:9092", "[::1]:9093"});
  CHECK(c.client_id == "kfk-test");
  CHECK(c.acks == 1);
  CHECK(!c.enable_idempotence);
  CHECK(c.compression == kfk::record::Compression::zstd);
  CHECK(c.linger_ms == 0);
  CHECK(c.group_id == "g");
  CHECK(c.enable_auto_commit);
  CHECK(c.auto_offset_reset == OffsetReset::earliest);
  CHECK(c.isolation_level == IsolationLevel::read_committed);
  CHECK(c.security_protocol == SecurityProtocol::sasl_ssl);
  CHECK(c.values.get_string("security.protocol") == "SASL_SSL");
  CHECK(c.partitioner == Partitioner::consistent_random);
  CHECK(c.partition_assignment_strategy ==
        std::vector<Assignor>{Assignor::roundrobin, Assignor::range});
  CHECK(c.group_protocol == GroupProtocol::consumer);
  // kfk's own partitioners besides librdkafka's names.
  CHECK(client_ok({"partitioner=round_robin"}).partitioner == Partitioner::round_robin);
  CHECK(client_ok({"partitioner=sticky"}).partitioner == Partitioner::sticky);

  CHECK(client_error({"acks=2"}) ==
        "-X: invalid value 2 for configuration acks: not an accepted value; accepted: "
        "[all, -1, 0, 1]");
  CHECK(contains(client_error({"compression.type=uncompressed"}),
                 "accepted: [none, gzip, snappy, lz4, zstd]"));
  CHECK(contains(client_error({"isolation.level=READ_COMMITTED"}), "case matters"));
  CHECK(contains(client_error({"bootstrap.servers=localhost"}), "'localhost' is not host:port"));
  CHECK(contains(client_error({"bootstrap.servers=h:0"}), "'h:0' is not host:port"));
  CHECK(contains(client_error({"partition.assignment.strategy=sticky"}),
                 "'sticky' is not an assignor"));
  CHECK(contains(client_error({"linger.ms=-1"}), "must be at least 0"));
  CHECK(contains(client_error({"max.in.flight.requests.per.connection=0"}), "must be at least 1"));
  CHECK(client_error({"bootstrap.server=x:1"}) ==
        "-X: unknown configuration bootstrap.server (did you mean bootstrap.servers?)");
  CHECK(client_error({"oops"}) == "-X: expected key=value, got 'oops'");
}

TEST_CASE("config: idempotence follows the Java producer's rules") {
  // Left at its default, idempotence quietly turns off.
  CHECK(!client_ok({"acks=1"}).enable_idempotence);
  CHECK(!client_ok({"retries=0"}).enable_idempotence);
  CHECK(!client_ok({"max.in.flight.requests.per.connection=6"}).enable_idempotence);
  CHECK(client_ok({"acks=-1"}).enable_idempotence);
  // Asked for explicitly, the conflicts are errors.
  CHECK(contains(client_error({"enable.idempotence=true", "acks=0"}), "acks must be all"));
  CHECK(contains(client_error({"enable.idempotence=true", "retries=0"}), "retries must not be 0"));
  CHECK(contains(
      client_error({"enable.idempotence=true", "max.in.flight.requests.per.connection=10"}),
      "at most 5"));
  // Transactions need idempotence.
  CHECK(client_ok({"transactional.id=t"}).transactional_id == "t");
  CHECK(contains(client_error({"transactional.id=t", "enable.idempotence=false"}),
                 "transactional.id needs enable.idempotence=true"));
  CHECK(contains(client_error({"transactional.id=t", "acks=1"}),
                 "transactional.id needs enable.idempotence=true"));
  CHECK(contains(client_error({"transactional.id="}), "must not be empty"));
}

TEST_CASE("config: delivery timeout covers linger and request timeout") {
  CHECK(client_ok({"request.timeout.ms=200000"}).delivery_timeout_ms == 200005);
  CHECK(client_ok({"delivery.timeout.ms=30005"}).delivery_timeout_ms == 30005);
  CHECK(client_error({"delivery.timeout.ms=1000"}) ==
        "delivery.timeout.ms (1000) must be at least linger.ms + request.timeout.ms (30005)");
}

TEST_CASE("config: consumer group rules") {
  CHECK(client_error({"enable.auto.commit=true"}) == "enable.auto.commit=true needs a group.id");
  CHECK(!client_ok({"enable.auto.commit=false"}).enable_auto_commit);
  CHECK(client_ok({"group.id=g"}).enable_auto_commit);
  CHECK(contains(client_error({"group.id=g", "heartbeat.interval.ms=45000"}),
                 "heartbeat.interval.ms (45000) must be lower than session.timeout.ms (45000)"));
  CHECK(contains(client_error({"group.instance.id="}), "must not be empty"));
}

TEST_CASE("config: auto.offset.reset accepts by_duration") {
  const ClientConfig c = client_ok({"auto.offset.reset=by_duration:PT1H30M"});
  CHECK(c.auto_offset_reset == OffsetReset::by_duration);
  CHECK(c.auto_offset_reset_duration_ms == 5'400'000);
  CHECK(client_ok({"auto.offset.reset=none"}).auto_offset_reset == OffsetReset::none);
  CHECK(contains(client_error({"auto.offset.reset=by_duration:-PT1H"}), "not an accepted value"));
  CHECK(contains(client_error({"auto.offset.reset=smallest"}),
                 "accepted: earliest, latest, none or by_duration:<ISO-8601 duration>"));

  CHECK(parse_iso_duration_ms("PT1S") == 1000);
  CHECK(parse_iso_duration_ms("P2D") == 2LL * 86'400'000);
  CHECK(parse_iso_duration_ms("P1DT2H3M4.5S") == 86'400'000 + 7'200'000 + 180'000 + 4'500);
  CHECK(parse_iso_duration_ms("pt15m") == 900'000);
  CHECK(parse_iso_duration_ms("-PT1M") == -60'000);
  CHECK(parse_iso_duration_ms("PT0.001S") == 1);
  for (const char* bad :
       {"", "P", "PT", "1H", "PT1D", "P1H", "PT1M1H", "PT1.S", "PT1.5M", "PTS", "P1DT"}) {
    CAPTURE(bad);
    CHECK(!parse_iso_duration_ms(bad));
  }
}

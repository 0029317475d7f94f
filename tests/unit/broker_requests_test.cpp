// Every API and version the broker advertises answers a well-formed response, and requests
// it cannot serve are refused the way Kafka refuses them.
#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <optional>

#include "core/config/broker_config.h"
#include "core/protocol/api_keys.h"
#include "core/protocol/messages/api_versions.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"
#include "server/broker.h"
#include "server/handlers/handlers.h"
#include "storage_test_support.h"

using namespace kfk;
using kfk::storage::testing::TempDir;

namespace {

struct LiveBroker {
  TempDir tmp;
  // Where requests run; it outlives the broker, whose controller thread hands results to it.
  asio::io_context io;
  std::unique_ptr<server::Broker> broker;
  std::unique_ptr<server::BrokerDispatcher> dispatcher;

  LiveBroker() {
    auto config = config::load_broker_config(
        std::nullopt, {"listeners=PLAINTEXT://127.0.0.1:0", "log.dirs=" + tmp.path().string(),
                       "num.reactor.threads=1"});
    REQUIRE_MESSAGE(config, config.error_text());
    broker = std::make_unique<server::Broker>(std::move(config).value());
    REQUIRE(broker->start().empty());
    dispatcher = std::make_unique<server::BrokerDispatcher>(*broker);
  }
  ~LiveBroker() {
    dispatcher.reset();
    broker->stop();
  }

  server::RequestOutcome call(std::span<const uint8_t> frame) {
    server::ConnectionInfo conn{1, "127.0.0.1:1", "PLAINTEXT"};
    std::optional<server::RequestOutcome> outcome;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> { outcome = co_await dispatcher->dispatch(conn, frame); },
        asio::detached);
    io.restart();
    io.run();
    REQUIRE(outcome.has_value());
    return *outcome;
  }
};

protocol::Bytes frame(int16_t key, int16_t version, const protocol::Bytes& body,
                      int32_t correlation_id = 7) {
  protocol::RequestHeader header;
  header.request_api_key = key;
  header.request_api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = "test";
  protocol::Writer w;
  header.encode(w, protocol::request_header_version(key, version));
  w.write_raw(body);
  return w.take();
}

// Checks the correlation id and returns the body.
std::span<const uint8_t> response_body(const protocol::Bytes& response, int16_t key,
                                       int16_t version, int32_t correlation_id = 7) {
  protocol::Reader r(response);
  CHECK(r.read_int32("correlation id") == correlation_id);
  if (protocol::response_header_version(key, version) >= 1) {
    protocol::TaggedFields tags;
    r.read_tagged_fields(tags, [](uint32_t, protocol::Reader&) { return false; });
  }
  REQUIRE(r.ok());
  return r.rest();
}

}  // namespace

TEST_CASE("broker: every advertised API version answers a minimal request") {
  LiveBroker b;
  size_t calls = 0;
  for (const auto& api : server::supported_apis()) {
    for (int16_t v = api.min_version; v <= api.max_version; ++v) {
      CAPTURE(protocol::find_api(api.key)->name);
      CAPTURE(v);
      const auto request = frame(api.key, v, protocol::default_request_body(api.key, v));
      const auto outcome = b.call(request);
      CHECK_FALSE(outcome.close);
      if (!outcome.respond) continue;  // Produce with acks=0 owes no response
      protocol::Bytes again;
      protocol::DecodeError error;
      CHECK_MESSAGE(protocol::roundtrip_response_body(
                        api.key, v, response_body(outcome.response, api.key, v), again, error),
                    error.message());
      ++calls;
    }
  }
  CHECK(calls > 40);
}

TEST_CASE("broker: unsupported versions and keys are refused as Kafka refuses them") {
  LiveBroker b;
  // ApiVersions past the last version: a v0 response with UNSUPPORTED_VERSION and the list.
  {
    const auto outcome = b.call(frame(18, 99, {}));
    REQUIRE(outcome.respond);
    protocol::Reader r(outcome.response);
    CHECK(r.read_int32("correlation id") == 7);
    protocol::ApiVersionsResponse resp;
    REQUIRE(resp.decode(r, 0));
    CHECK(resp.error_code == 35);
    CHECK_FALSE(resp.api_keys.empty());
  }
  // Another API at a version it does not have: no response, the connection is closed.
  CHECK(b.call(frame(3, 99, {})).close);
  // Produce v0-2 are advertised (for librdkafka's sake) but refused.
  CHECK(b.call(frame(0, 2, {})).close);
  // An API this broker does not serve at all.
  CHECK(b.call(frame(1000, 0, {})).close);
  // A body cut short.
  auto truncated = frame(19, 5, protocol::default_request_body(19, 5));
  truncated.resize(truncated.size() - 3);
  CHECK(b.call(truncated).close);
  // A frame too short for a header.
  const protocol::Bytes tiny{0, 18};
  CHECK(b.call(tiny).close);
}

TEST_CASE("broker: ApiVersions checks the client software name (v3+)") {
  LiveBroker b;
  protocol::ApiVersionsRequest req;
  req.client_software_name = "bad name!";
  req.client_software_version = "1.0";
  protocol::Writer w;
  req.encode(w, 3);
  const auto outcome = b.call(frame(18, 3, w.take()));
  protocol::ApiVersionsResponse resp;
  protocol::Reader r(response_body(outcome.response, 18, 3));
  REQUIRE(resp.decode(r, 3));
  CHECK(resp.error_code == 42);

  req.client_software_name = "kfk-tests";
  protocol::Writer ok;
  req.encode(ok, 3);
  const auto good = b.call(frame(18, 3, ok.take()));
  protocol::Reader r2(response_body(good.response, 18, 3));
  REQUIRE(resp.decode(r2, 3));
  CHECK(resp.error_code == 0);
}

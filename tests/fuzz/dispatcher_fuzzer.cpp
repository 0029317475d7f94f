// Fuzzes the broker's request path: a whole request frame (header + body, without the size
// prefix) goes through the dispatcher of a live broker with a real data directory, as a
// client's bytes would. Every request must be answered or refused without a crash, a leak or
// a hang, and every answer must be a well-formed response of the request's API and version.
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/config/broker_config.h"
#include "core/protocol/api_keys.h"
#include "core/protocol/messages/fetch.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"
#include "server/broker.h"
#include "server/handlers/handlers.h"

using namespace kfk;

namespace {

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<server::Broker> broker;
  std::unique_ptr<server::BrokerDispatcher> dispatcher;

  Fixture() {
    // Every malformed request logs a warning; at fuzzing rates that is all the output.
    spdlog::set_level(spdlog::level::off);
    char pattern[] = "/tmp/kfk-dispatcher-fuzz-XXXXXX";
    dir = ::mkdtemp(pattern);
    auto config = config::load_broker_config(
        std::nullopt, {"listeners=PLAINTEXT://127.0.0.1:0", "log.dirs=" + dir.string(),
                       "num.partitions=2", "log.segment.bytes=1048576", "num.reactor.threads=1"});
    if (!config) abort();
    broker = std::make_unique<server::Broker>(std::move(config).value());
    if (!broker->start().empty()) abort();
    dispatcher = std::make_unique<server::BrokerDispatcher>(*broker);
  }
  ~Fixture() {
    dispatcher.reset();
    broker->stop();
    broker.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Long polls would make the fuzzer wait out max_wait_ms: cap it for Fetch requests that decode.
std::optional<protocol::Bytes> cap_fetch_wait(const uint8_t* data, size_t size, int16_t version) {
  protocol::Reader r(data, size);
  protocol::RequestHeader header;
  if (!header.decode(r, protocol::request_header_version(1, version))) return std::nullopt;
  const size_t header_size = size - r.rest().size();
  protocol::FetchRequest fetch;
  if (!fetch.decode(r, version)) return std::nullopt;
  if (fetch.max_wait_ms <= 5) return std::nullopt;
  fetch.max_wait_ms = 5;
  protocol::Writer w(size + 16);
  w.write_raw(std::span(data, header_size));
  fetch.encode(w, version);
  return w.take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = fixture();
  protocol::Reader peek(data, size);
  const int16_t key = peek.read_int16("api key");
  const int16_t version = peek.read_int16("api version");
  if (!peek.ok()) return 0;
  std::optional<protocol::Bytes> capped;
  if (key == 1) capped = cap_fetch_wait(data, size, version);
  std::span<const uint8_t> frame =
      capped ? std::span<const uint8_t>(*capped) : std::span<const uint8_t>(data, size);

  server::ConnectionInfo conn{1, "127.0.0.1:1", "PLAINTEXT"};
  asio::io_context io;
  std::optional<server::RequestOutcome> outcome;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { outcome = co_await f.dispatcher->dispatch(conn, frame); },
      asio::detached);
  io.run();
  if (!outcome) abort();  // the request never completed
  if (!outcome->respond) return 0;

  protocol::Bytes response = outcome->response;
  protocol::Reader r(response);
  r.read_int32("correlation id");
  if (protocol::response_header_version(key, version) >= 1) {
    protocol::TaggedFields tags;
    r.read_tagged_fields(tags, [](uint32_t, protocol::Reader&) { return false; });
  }
  if (!r.ok()) abort();
  protocol::Bytes again;
  protocol::DecodeError error;
  // ApiVersions answers an unsupported version with a v0 body.
  int16_t body_version = version;
  if (key == static_cast<int16_t>(protocol::ApiKey::api_versions)) {
    for (const auto& api : server::supported_apis())
      if (api.key == key && (version < api.min_version || version > api.max_version))
        body_version = 0;
  }
  if (!protocol::roundtrip_response_body(key, body_version, r.rest(), again, error)) abort();
  return 0;
}

// Fuzzes the broker's request path: a whole request frame (header + body, without the size
// prefix) goes through the dispatcher of a live broker with a real data directory, as a
// client's bytes would. Every request must be answered or refused without a crash, a leak or
// a hang, and every answer must be a well-formed response of the request's API and version.
#include <spdlog/spdlog.h>

#include <algorithm>
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
#include "core/protocol/messages/join_group.h"
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
        std::nullopt,
        {"listeners=PLAINTEXT://127.0.0.1:0", "log.dirs=" + dir.string(), "num.partitions=2",
         "log.segment.bytes=1048576", "num.reactor.threads=1", "offsets.topic.num.partitions=2",
         "group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1"});
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

// Requests that wait would make the fuzzer wait them out: Fetch long polls (max_wait_ms) and
// JoinGroup/SyncGroup rounds (bounded by the members' session and rebalance timeouts). Those
// are capped for requests that decode; `cap` returns false when nothing needs changing.
template <class Request, class Cap>
std::optional<protocol::Bytes> cap_waits(const uint8_t* data, size_t size, int16_t version,
                                         Cap cap) {
  protocol::Reader r(data, size);
  protocol::RequestHeader header;
  if (!header.decode(r, protocol::request_header_version(Request::api_key, version)))
    return std::nullopt;
  const size_t header_size = size - r.rest().size();
  Request request;
  if (!request.decode(r, version) || !cap(request)) return std::nullopt;
  protocol::Writer w(size + 16);
  w.write_raw(std::span(data, header_size));
  request.encode(w, version);
  return w.take();
}

std::optional<protocol::Bytes> cap_request(const uint8_t* data, size_t size, int16_t key,
                                           int16_t version) {
  if (key == protocol::FetchRequest::api_key && version >= protocol::FetchRequest::min_version &&
      version <= protocol::FetchRequest::max_version)
    return cap_waits<protocol::FetchRequest>(data, size, version, [](protocol::FetchRequest& f) {
      if (f.max_wait_ms <= 5) return false;
      f.max_wait_ms = 5;
      return true;
    });
  if (key == protocol::JoinGroupRequest::api_key &&
      version >= protocol::JoinGroupRequest::min_version &&
      version <= protocol::JoinGroupRequest::max_version)
    return cap_waits<protocol::JoinGroupRequest>(
        data, size, version, [](protocol::JoinGroupRequest& j) {
          if (j.session_timeout_ms <= 5 && j.rebalance_timeout_ms <= 5) return false;
          j.session_timeout_ms = std::min(j.session_timeout_ms, 5);
          j.rebalance_timeout_ms = std::min(j.rebalance_timeout_ms, 5);
          return true;
        });
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = fixture();
  protocol::Reader peek(data, size);
  const int16_t key = peek.read_int16("api key");
  const int16_t version = peek.read_int16("api version");
  if (!peek.ok()) return 0;
  std::optional<protocol::Bytes> capped;
  capped = cap_request(data, size, key, version);
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

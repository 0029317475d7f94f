// What an unauthenticated client cannot make the broker hold: the rate limits of the log, the
// request memory pool, connection quotas, the idle and request read timeouts of a connection,
// and the lock of a data directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <fstream>
#include <functional>

#include "core/config/broker_config.h"
#include "core/util/big_endian.h"
#include "server/log_rate_limit.h"
#include "server/network/connection.h"
#include "server/network/connection_quotas.h"
#include "server/network/request_memory_pool.h"
#include "server/storage/dir_lock.h"
#include "storage_test_support.h"

using namespace kfk;
using namespace kfk::server;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

class CallbackDispatcher : public Dispatcher {
 public:
  explicit CallbackDispatcher(std::function<void(std::span<const uint8_t>)> seen)
      : seen_(std::move(seen)) {}
  asio::awaitable<RequestOutcome> dispatch(const ConnectionInfo&,
                                           std::span<const uint8_t> frame) override {
    seen_(frame);
    RequestOutcome o;
    o.response = {1, 2, 3, 4};
    co_return o;
  }

 private:
  std::function<void(std::span<const uint8_t>)> seen_;
};

protocol::Bytes frame_of(uint8_t tag, size_t size) {
  protocol::Bytes f(4 + size, tag);
  kfk::store_be<uint32_t>(f.data(), static_cast<uint32_t>(size));
  return f;
}

// A client socket connected to a Connection served on `io`.
struct Served {
  asio::ip::tcp::socket client;
  std::shared_ptr<Connection> conn;
};

Served serve(asio::io_context& io, Dispatcher& dispatcher, ConnectionLimits limits,
             ConnectionResources resources = {}) {
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  auto conn =
      std::make_shared<Connection>(acceptor.accept(), ConnectionInfo{1, "test:1", "PLAINTEXT"},
                                   dispatcher, limits, std::move(resources));
  conn->start();
  return {std::move(client), conn};
}

// Runs `io` until the client sees its connection closed (or `limit` passes); returns the
// time it took.
Clock::duration time_until_closed(asio::io_context& io, asio::ip::tcp::socket& client,
                                  Clock::duration limit) {
  const auto t0 = Clock::now();
  bool closed = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        uint8_t byte;
        for (;;) {
          auto [ec, n] = co_await client.async_read_some(
              asio::buffer(&byte, 1), asio::experimental::as_tuple(asio::use_awaitable));
          if (ec) break;
        }
        closed = true;
      },
      asio::detached);
  while (!closed && Clock::now() - t0 < limit) io.run_for(10ms);
  return closed ? Clock::now() - t0 : Clock::duration::max();
}

}  // namespace

TEST_CASE("log rate limit: the first lines of a source pass, then a count of the rest") {
  LogRateLimiter limiter({3, 1000ms, 100});
  const auto t0 = Clock::now();
  uint64_t suppressed = 0;
  int written = 0;
  for (int i = 0; i < 1000; ++i)
    written += limiter.allow("1.2.3.4 api key", suppressed, t0) ? 1 : 0;
  CHECK(written == 3);
  // Another source has lines of its own.
  CHECK(limiter.allow("5.6.7.8 api key", suppressed, t0));
  CHECK(suppressed == 0);
  // The next interval: the first line carries the count held back.
  REQUIRE(limiter.allow("1.2.3.4 api key", suppressed, t0 + 1000ms));
  CHECK(suppressed == 997);
  CHECK(limiter.allow("1.2.3.4 api key", suppressed, t0 + 1001ms));
  CHECK(suppressed == 0);
}

TEST_CASE("log rate limit: sources are bounded") {
  LogRateLimiter limiter({1, 1000ms, 10});
  const auto t0 = Clock::now();
  uint64_t suppressed = 0;
  for (int i = 0; i < 10000; ++i)
    limiter.allow("source " + std::to_string(i), suppressed, t0 + std::chrono::milliseconds(i));
  CHECK(limiter.tracked_sources() <= 10);
}

TEST_CASE("log rate limit: peer_host drops the port") {
  CHECK(peer_host("10.0.0.1:4567") == "10.0.0.1");
  CHECK(peer_host("[::1]:4567") == "[::1]");
  CHECK(peer_host("unknown") == "unknown");
}

TEST_CASE("request memory pool: reservations are bounded; one oversized request fits alone") {
  RequestMemoryPool pool(1000);
  CHECK(pool.try_reserve(600));
  CHECK_FALSE(pool.try_reserve(600));
  CHECK(pool.try_reserve(400));
  CHECK(pool.used() == 1000);
  pool.release(600);
  pool.release(400);
  CHECK(pool.try_reserve(5000));  // the pool is empty: a request larger than it may go
  CHECK_FALSE(pool.try_reserve(1));
  pool.release(5000);
  RequestMemoryPool unbounded(-1);
  CHECK(unbounded.try_reserve(size_t{1} << 40));
}

TEST_CASE("connection quotas: total, per address and overrides") {
  ConnectionQuotaConfig c;
  c.max_connections = 5;
  c.max_connections_per_ip = 2;
  c.per_ip_overrides = {{"10.0.0.9", 4}, {"10.0.0.8", 0}};
  ConnectionQuotas q(c);
  using V = ConnectionQuotas::Verdict;
  const std::string l = "PLAINTEXT";
  CHECK(q.try_add("10.0.0.1", l) == V::accepted);
  CHECK(q.try_add("10.0.0.1", l) == V::accepted);
  CHECK(q.try_add("10.0.0.1", l) == V::too_many_from_address);
  CHECK(q.try_add("10.0.0.8", l) == V::too_many_from_address);
  CHECK(q.try_add("10.0.0.9", l) == V::accepted);
  CHECK(q.try_add("10.0.0.9", l) == V::accepted);
  CHECK(q.try_add("10.0.0.9", l) == V::accepted);
  CHECK(q.try_add("10.0.0.9", l) == V::too_many_connections);
  q.remove("10.0.0.1", l);
  CHECK(q.from("10.0.0.1") == 1);
  CHECK(q.try_add("10.0.0.9", l) == V::accepted);
  CHECK(q.total() == 5);
}

TEST_CASE("connection quotas: a listener's own max.connections, and new limits at runtime") {
  ConnectionQuotaConfig c;
  c.max_connections = 4;
  c.per_listener = {{"INTERNAL", 1}};
  ConnectionQuotas q(c);
  using V = ConnectionQuotas::Verdict;
  CHECK(q.try_add("10.0.0.1", "INTERNAL") == V::accepted);
  CHECK(q.try_add("10.0.0.2", "INTERNAL") == V::too_many_on_listener);
  CHECK(q.try_add("10.0.0.2", "CLIENT") == V::accepted);
  CHECK(q.try_add("10.0.0.3", "CLIENT") == V::accepted);
  CHECK(q.listener_limit("INTERNAL") == 1);
  CHECK(q.listener_limit("CLIENT") == INT32_MAX);
  q.remove("10.0.0.1", "INTERNAL");
  CHECK(q.try_add("10.0.0.1", "INTERNAL") == V::accepted);
  // Lower limits apply to the next connection; the open ones stay counted.
  c.max_connections = 3;
  c.per_listener.clear();
  q.update(c);
  CHECK(q.total() == 3);
  CHECK(q.try_add("10.0.0.4", "INTERNAL") == V::too_many_connections);
  q.remove("10.0.0.2", "CLIENT");
  CHECK(q.try_add("10.0.0.4", "INTERNAL") == V::accepted);
}

TEST_CASE("config: listener.name.<listener>.<setting>") {
  auto n = config::split_listener_setting("listener.name.internal.max.connections");
  REQUIRE(n);
  CHECK(n->listener == "INTERNAL");
  CHECK(n->setting == "max.connections");
  CHECK_FALSE(config::split_listener_setting("listener.name.internal"));
  CHECK_FALSE(config::split_listener_setting("listener.name..max.connections"));
  CHECK_FALSE(config::split_listener_setting("max.connections"));

  auto cfg = config::load_broker_config(
      std::nullopt, {"listener.name.plaintext.max.connections=7",
                     "listener.name.plaintext.ssl.keystore.location=/etc/kfk/keystore.jks",
                     "listener.name.plaintext.plain.sasl.jaas.config=x required;"});
  REQUIRE(cfg.ok());
  const auto& plaintext = cfg.value().listener_settings.at("PLAINTEXT");
  CHECK(plaintext.at("max.connections") == "7");
  CHECK(plaintext.at("ssl.keystore.location") == "/etc/kfk/keystore.jks");
  CHECK(plaintext.size() == 3);

  auto bad =
      config::load_broker_config(std::nullopt, {"listener.name.plaintext.max.connections=-2",
                                                "listener.name.plaintext.num.partitions=3",
                                                "listener.name.plaintext.max.connectoins=3"});
  REQUIRE_FALSE(bad.ok());
  const std::string text = bad.error_text();
  CHECK(text.find("listener.name.plaintext.max.connections: ") != std::string::npos);
  CHECK(text.find("num.partitions cannot be set for one listener") != std::string::npos);
  CHECK(text.find("did you mean max.connections?") != std::string::npos);
}

TEST_CASE("config: max.connections.per.ip.overrides and queued.max.request.bytes") {
  auto parsed = config::parse_per_ip_overrides(" 127.0.0.1:200, host.example:5,[::1]:7");
  REQUIRE(parsed.ok());
  CHECK(parsed.value() ==
        std::map<std::string, int32_t>{{"127.0.0.1", 200}, {"host.example", 5}, {"::1", 7}});
  CHECK_FALSE(config::parse_per_ip_overrides("127.0.0.1").ok());
  CHECK_FALSE(config::parse_per_ip_overrides("127.0.0.1:-1").ok());
  CHECK_FALSE(config::parse_per_ip_overrides("127.0.0.1:x").ok());
  auto cfg = config::load_broker_config(
      std::nullopt,
      {"max.connections.per.ip.overrides=10.1.1.1:3", "queued.max.request.bytes=5000"});
  REQUIRE(cfg.ok());
  CHECK(cfg.value().max_connections_per_ip_overrides.at("10.1.1.1") == 3);
  CHECK(cfg.value().queued_max_request_bytes == 5000);
  auto defaults = config::load_broker_config(std::nullopt, {});
  REQUIRE(defaults.ok());
  CHECK(defaults.value().queued_max_request_bytes == 104857600);
  CHECK_FALSE(
      config::load_broker_config(std::nullopt, {"max.connections.per.ip.overrides=x"}).ok());
}

TEST_CASE("connection: a connection without a request is closed after the idle time") {
  CallbackDispatcher dispatcher([](std::span<const uint8_t>) {});
  asio::io_context io;
  ConnectionLimits limits;
  limits.idle_ms = 200;
  limits.request_read_timeout_ms = 200;
  auto s = serve(io, dispatcher, limits);
  const auto took = time_until_closed(io, s.client, 10s);
  CHECK(took >= 150ms);
  CHECK(took < 5s);
}

TEST_CASE("connection: a request trickling in is closed after the request read timeout") {
  int served = 0;
  CallbackDispatcher dispatcher([&](std::span<const uint8_t>) { ++served; });
  asio::io_context io;
  ConnectionLimits limits;
  limits.idle_ms = 60000;
  limits.request_read_timeout_ms = 300;
  auto s = serve(io, dispatcher, limits);
  // One byte every 50 ms: the connection is never idle, but its request never completes.
  const auto frame = frame_of(7, 1000);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (size_t i = 0; i < frame.size(); ++i) {
          auto [ec, n] =
              co_await asio::async_write(s.client, asio::buffer(&frame[i], 1),
                                         asio::experimental::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          asio::steady_timer t(io, 50ms);
          co_await t.async_wait(asio::use_awaitable);
        }
      },
      asio::detached);
  const auto took = time_until_closed(io, s.client, 10s);
  CHECK(took >= 250ms);
  CHECK(took < 5s);
  CHECK(served == 0);
}

TEST_CASE("connection: requests that keep coming keep the connection open") {
  int served = 0;
  CallbackDispatcher dispatcher([&](std::span<const uint8_t>) { ++served; });
  asio::io_context io;
  ConnectionLimits limits;
  limits.idle_ms = 300;
  limits.request_read_timeout_ms = 300;
  auto s = serve(io, dispatcher, limits);
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 8; ++i) {
          const auto f = frame_of(1, 8);
          co_await asio::async_write(s.client, asio::buffer(f), asio::use_awaitable);
          uint8_t response[8];
          co_await asio::async_read(s.client, asio::buffer(response), asio::use_awaitable);
          asio::steady_timer t(io, 150ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        done = true;
        s.client.close();
      },
      asio::detached);
  const auto t0 = Clock::now();
  while (!done && Clock::now() - t0 < 10s) io.run_for(10ms);
  CHECK(done);
  CHECK(served == 8);
}

TEST_CASE("connection: a full request memory pool pauses reading until bytes are released") {
  std::vector<uint8_t> order;
  CallbackDispatcher dispatcher([&](std::span<const uint8_t> frame) { order.push_back(frame[0]); });
  asio::io_context io;
  auto pool = std::make_shared<RequestMemoryPool>(100000);
  ConnectionLimits limits;
  auto a = serve(io, dispatcher, limits, {pool, nullptr, ""});
  auto b = serve(io, dispatcher, limits, {pool, nullptr, ""});
  // Both larger than the 16 KiB every connection's buffer holds without the pool.
  const auto big = frame_of(1, 80000);
  const auto small = frame_of(2, 50000);
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // A announces 80000 bytes and sends half; B's 50000 bytes do not fit beside them.
        co_await asio::async_write(a.client, asio::buffer(big.data(), 40004), asio::use_awaitable);
        asio::steady_timer t(io, 100ms);
        co_await t.async_wait(asio::use_awaitable);
        CHECK(pool->used() == 80000);
        co_await asio::async_write(b.client, asio::buffer(small), asio::use_awaitable);
        t.expires_after(200ms);
        co_await t.async_wait(asio::use_awaitable);
        CHECK(order.empty());  // B waits, it was not refused
        co_await asio::async_write(a.client, asio::buffer(big.data() + 40004, big.size() - 40004),
                                   asio::use_awaitable);
        uint8_t response[8];
        co_await asio::async_read(a.client, asio::buffer(response), asio::use_awaitable);
        co_await asio::async_read(b.client, asio::buffer(response), asio::use_awaitable);
        done = true;
        a.client.close();
        b.client.close();
      },
      asio::detached);
  const auto t0 = Clock::now();
  while (!done && Clock::now() - t0 < 10s) io.run_for(10ms);
  REQUIRE(done);
  CHECK(order == std::vector<uint8_t>{1, 2});
  while (pool->used() != 0 && Clock::now() - t0 < 10s) io.run_for(10ms);
  CHECK(pool->used() == 0);
}

TEST_CASE("dir lock: a second lock on a directory fails naming the holder's pid") {
  storage::testing::TempDir tmp;
  std::string error;
  auto first = storage::DirLock::acquire(tmp.path() / "logs", error);
  REQUIRE(first.locked());
  std::ifstream pid_file(tmp.path() / "logs" / ".lock");
  std::string pid;
  pid_file >> pid;
  CHECK(pid == std::to_string(::getpid()));
  // Another open file description conflicts as another process would.
  auto second = storage::DirLock::acquire(tmp.path() / "logs", error);
  CHECK_FALSE(second.locked());
  CHECK(error.find("in use by another broker") != std::string::npos);
  CHECK(error.find("pid " + std::to_string(::getpid())) != std::string::npos);
  first = storage::DirLock();
  auto third = storage::DirLock::acquire(tmp.path() / "logs", error);
  CHECK(third.locked());
}

// The connection's write path: responses sent at once from the reactor thread, the rest
// asynchronously when the socket buffer is full, in request order.
#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "core/util/big_endian.h"
#include "server/network/connection.h"

using namespace kfk;
using namespace kfk::server;
using Clock = std::chrono::steady_clock;

namespace {

// Answers each request with make(the request's frame).
class EchoDispatcher : public Dispatcher {
 public:
  explicit EchoDispatcher(std::function<RequestOutcome(std::span<const uint8_t>)> make)
      : make_(std::move(make)) {}
  asio::awaitable<RequestOutcome> dispatch(const ConnectionInfo&,
                                           std::span<const uint8_t> frame) override {
    co_return make_(frame);
  }

 private:
  std::function<RequestOutcome(std::span<const uint8_t>)> make_;
};

protocol::Bytes frame_of(uint8_t tag) {
  // A size prefix of 8, then 8 bytes starting with the tag.
  return {0, 0, 0, 8, tag, 0, 0, 0, 0, 0, 0, 0};
}

}  // namespace

TEST_CASE("connection: a response larger than the socket buffer arrives whole") {
  // 4 MiB with a pattern, through a server socket with a small send buffer: the first
  // non-blocking send takes only part of it and the connection sends the rest as the client
  // reads.
  protocol::Bytes big(4u << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7 + i / 251);
  EchoDispatcher dispatcher([&](std::span<const uint8_t>) {
    RequestOutcome o;
    o.response = big;
    return o;
  });
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  auto server_socket = acceptor.accept();
  server_socket.set_option(asio::socket_base::send_buffer_size(16 * 1024));
  auto conn =
      std::make_shared<Connection>(std::move(server_socket), ConnectionInfo{1, "test", "PLAINTEXT"},
                                   dispatcher, ConnectionLimits{});
  conn->start();
  protocol::Bytes body;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto request = frame_of(1);
        co_await asio::async_write(client, asio::buffer(request), asio::use_awaitable);
        // Let the connection fill the socket buffer before anything is read.
        asio::steady_timer pause(io, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::use_awaitable);
        uint8_t prefix[4];
        co_await asio::async_read(client, asio::buffer(prefix), asio::use_awaitable);
        body.resize(kfk::load_be<uint32_t>(prefix));
        co_await asio::async_read(client, asio::buffer(body), asio::use_awaitable);
        client.close();
        done = true;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(20));
  REQUIRE(done);
  CHECK(body.size() == big.size());
  CHECK(body == big);
}

TEST_CASE("connection: pipelined requests get their responses in order") {
  EchoDispatcher dispatcher([](std::span<const uint8_t> frame) {
    RequestOutcome o;
    // A response of a few hundred bytes naming the request by its first byte.
    o.response.assign(300 + frame[0], frame[0]);
    return o;
  });
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  auto conn = std::make_shared<Connection>(
      acceptor.accept(), ConnectionInfo{1, "test", "PLAINTEXT"}, dispatcher, ConnectionLimits{});
  conn->start();
  std::vector<uint8_t> order;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        protocol::Bytes requests;
        for (uint8_t tag = 1; tag <= 5; ++tag) {
          const auto f = frame_of(tag);
          requests.insert(requests.end(), f.begin(), f.end());
        }
        co_await asio::async_write(client, asio::buffer(requests), asio::use_awaitable);
        for (int i = 0; i < 5; ++i) {
          uint8_t prefix[4];
          co_await asio::async_read(client, asio::buffer(prefix), asio::use_awaitable);
          protocol::Bytes body(kfk::load_be<uint32_t>(prefix));
          co_await asio::async_read(client, asio::buffer(body), asio::use_awaitable);
          CHECK(body.size() == 300 + body.front());
          order.push_back(body.front());
        }
        client.close();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  CHECK(order == std::vector<uint8_t>{1, 2, 3, 4, 5});
}

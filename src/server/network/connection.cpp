#include "server/network/connection.h"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace kfk::server {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, ConnectionInfo info, Dispatcher& dispatcher,
                       ConnectionLimits limits)
    : socket_(std::move(socket)),
      info_(std::move(info)),
      dispatcher_(dispatcher),
      limits_(limits) {}

void Connection::start() {
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->serve(); },
      asio::detached);
}

void Connection::stop() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    asio::error_code ignored;
    self->socket_.shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
  });
}

asio::awaitable<void> Connection::serve() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  std::array<uint8_t, 4> size_prefix{};
  protocol::Bytes frame;
  for (;;) {
    auto [read_err, n] = co_await asio::async_read(socket_, asio::buffer(size_prefix), use_tuple);
    if (read_err) break;  // closed by the peer, or stop()
    const auto size = static_cast<int32_t>(load_be32(size_prefix.data()));
    if (size < 8 || size > limits_.max_request_bytes) {
      // Too large for socket.request.max.bytes, or too small for any request header.
      spdlog::warn(
          "closing connection from {}: request size {} is outside 8..{} "
          "(socket.request.max.bytes)",
          info_.peer, size, limits_.max_request_bytes);
      break;
    }
    frame.resize(static_cast<size_t>(size));
    auto [body_err, m] = co_await asio::async_read(socket_, asio::buffer(frame), use_tuple);
    if (body_err) break;

    RequestOutcome outcome = co_await dispatcher_.dispatch(info_, frame);
    if (outcome.respond) {
      std::array<uint8_t, 4> prefix;
      const auto len = static_cast<uint32_t>(outcome.response.size());
      prefix = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
      std::array<asio::const_buffer, 2> buffers{asio::buffer(prefix),
                                                asio::buffer(outcome.response)};
      auto [write_err, w] = co_await asio::async_write(socket_, buffers, use_tuple);
      if (write_err) break;
    }
    if (outcome.close) break;
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  spdlog::debug("connection {} from {} closed", info_.id, info_.peer);
}

}  // namespace kfk::server

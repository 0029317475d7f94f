#include "server/network/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <vector>

namespace kfk::server {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// The most buffers one write() sends with its first sendmsg (a size prefix and a body, or a
// few more pieces); the rest, if any, go out asynchronously.
constexpr size_t kMaxSendBuffers = 4;
}  // namespace

PlaintextTransport::PlaintextTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  // sendfile(2) on the socket must not block the reactor: it waits for writability instead.
  socket_.native_non_blocking(true, ignored);
}

asio::awaitable<size_t> PlaintextTransport::read_some(std::span<uint8_t> into,
                                                      std::error_code& error) {
  auto [err, n] =
      co_await socket_.async_read_some(asio::buffer(into.data(), into.size()), use_tuple);
  error = err;
  co_return err ? 0 : n;
}

asio::awaitable<bool> PlaintextTransport::write(std::span<const asio::const_buffer> buffers) {
  std::array<iovec, kMaxSendBuffers> iov{};
  size_t count = 0;
  size_t total = 0;
  for (const auto& b : buffers) {
    if (b.size() == 0) continue;
    if (count == iov.size()) break;
    iov[count++] = iovec{const_cast<void*>(b.data()), b.size()};
    total += b.size();
  }
  if (total == 0) co_return true;
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  ssize_t sent = -1;
  do {
    sent = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return false;
    sent = 0;
  }
  auto skip = static_cast<size_t>(sent);
  std::vector<asio::const_buffer> rest;
  for (const auto& b : buffers) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest.push_back(b + skip);
    skip = 0;
  }
  if (rest.empty()) co_return true;
  // The socket buffer is full (a large response, or a slow reader): the reactor waits for
  // room and sends the rest.
  auto [err, n] = co_await asio::async_write(socket_, rest, use_tuple);
  co_return !err;
}

asio::awaitable<int64_t> PlaintextTransport::send_file(int fd, off_t& offset, size_t length) {
  for (;;) {
    const ssize_t n = ::sendfile(socket_.native_handle(), fd, &offset, length);
    if (n >= 0) co_return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return -1;
    auto [err] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
    if (err) co_return -2;
  }
}

void PlaintextTransport::hold_partial_frames(bool on) {
  // TCP_CORK: the framing and the file bytes fill whole segments instead of leaving as small
  // packets (the socket has TCP_NODELAY).
  int v = on ? 1 : 0;
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

void PlaintextTransport::shutdown_receive() {
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
}

void PlaintextTransport::abort() {
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.cancel(ignored);
}

void PlaintextTransport::close() {
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace kfk::server

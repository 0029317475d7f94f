#include "server/network/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>

namespace kfk::server {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void store_be(uint8_t* p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

// Responses up to this size are assembled in memory (pread of the file regions) and sent with
// one write: for small fetches that is 2 system calls instead of the 5 of cork, write,
// sendfile, write, uncork, and a copy of a few KiB costs less than the calls it saves.
constexpr uint64_t kCopyResponseBelow = 64 * 1024;
// The read buffer's usual size; a larger request grows it for the time it is served.
constexpr size_t kReadBuffer = 16 * 1024;
constexpr size_t kKeepReadBuffer = 8 * 1024 * 1024;
// The most buffers one send_buffers() call takes (a size prefix and a body, or fewer).
constexpr size_t kMaxSendBuffers = 4;

// Appends the bytes of a splice to `out`: exactly splice.length bytes, ending with a
// partial-batch filler when a file was shortened. False when a read fails.
bool read_splice(const ResponseSplice& splice, protocol::Bytes& out) {
  uint64_t read = 0;
  for (const FileRegion& region : splice.regions) {
    uint64_t left = std::min(region.length, splice.length - read);
    uint64_t pos = region.position;
    while (left > 0) {
      const size_t old = out.size();
      out.resize(old + left);
      const ssize_t n = ::pread(region.fd, out.data() + old, left, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) {
        out.resize(old);
        continue;
      }
      if (n < 0) return false;
      out.resize(old + static_cast<size_t>(n));
      if (n == 0) break;  // truncated meanwhile
      left -= static_cast<uint64_t>(n);
      pos += static_cast<uint64_t>(n);
      read += static_cast<uint64_t>(n);
    }
    if (left > 0) break;
  }
  if (read < splice.length) {
    const auto filler = partial_batch_filler(splice.length - read);
    out.insert(out.end(), filler.begin(), filler.end());
  }
  return true;
}

// TCP_CORK while a response goes out in several writes, so the framing and the file bytes
// fill whole segments instead of leaving as small packets (the socket has TCP_NODELAY).
void set_cork(int fd, bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}
}  // namespace

uint64_t RequestOutcome::total_size() const {
  uint64_t n = response.size();
  for (const auto& s : splices) n += s.length;
  return n;
}

protocol::Bytes partial_batch_filler(uint64_t missing) {
  protocol::Bytes out(missing, 0);
  if (missing < 12) return out;  // less than offset + length: a partial batch as it is
  // A batch header whose length runs past the end of the records: baseOffset 0, then a
  // batchLength of at least 49 (librdkafka refuses less than a v2 header) and more than the
  // bytes left, a leader epoch of 0 and magic 2 (the Java client checks the magic byte).
  const uint64_t length = std::max<uint64_t>(49, missing - 11);
  store_be(out.data() + 8, std::min<uint64_t>(length, INT32_MAX), 4);
  if (missing > 16) out[16] = 2;
  return out;
}

Connection::Connection(asio::ip::tcp::socket socket, ConnectionInfo info, Dispatcher& dispatcher,
                       ConnectionLimits limits)
    : socket_(std::move(socket)), info_(std::move(info)), dispatcher_(dispatcher), limits_(limits) {
  info_.extras = &extras_;
}

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

asio::awaitable<bool> Connection::write_bytes(std::span<const uint8_t> bytes) {
  const asio::const_buffer buffer(bytes.data(), bytes.size());
  co_return co_await send_buffers(std::span(&buffer, 1));
}

asio::awaitable<bool> Connection::send_buffers(std::span<const asio::const_buffer> buffers) {
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

asio::awaitable<bool> Connection::send_splice(const ResponseSplice& splice) {
  const int sock = socket_.native_handle();
  uint64_t sent = 0;
  for (const FileRegion& region : splice.regions) {
    off_t offset = static_cast<off_t>(region.position);
    uint64_t left = std::min(region.length, splice.length - sent);
    bool eof = false;
    while (left > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, size_t{1} << 30));
      const ssize_t n = ::sendfile(sock, region.fd, &offset, chunk);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        sent += static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) {  // the file ends before the region does: it was truncated
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        auto [err] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
        if (err) co_return false;
        continue;
      }
      spdlog::warn("closing connection from {}: sendfile failed: {}", info_.peer,
                   std::strerror(errno));
      co_return false;
    }
    if (eof) break;
  }
  if (sent < splice.length) {
    spdlog::warn(
        "connection {} from {}: a segment file lost {} bytes while being sent; "
        "ending the records with a partial batch",
        info_.id, info_.peer, splice.length - sent);
    const auto filler = partial_batch_filler(splice.length - sent);
    co_return co_await write_bytes(filler);
  }
  co_return true;
}

asio::awaitable<bool> Connection::write_response(const RequestOutcome& outcome) {
  const uint64_t total = outcome.total_size();
  std::array<uint8_t, 4> prefix;
  store_be(prefix.data(), total, 4);
  if (outcome.splices.empty()) {
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(prefix),
                                                    asio::buffer(outcome.response)};
    co_return co_await send_buffers(buffers);
  }
  if (total <= kCopyResponseBelow) {
    protocol::Bytes whole;
    whole.reserve(4 + total);
    whole.insert(whole.end(), prefix.begin(), prefix.end());
    size_t pos = 0;
    for (const ResponseSplice& splice : outcome.splices) {
      const size_t at = std::min(splice.at, outcome.response.size());
      whole.insert(whole.end(), outcome.response.begin() + static_cast<ptrdiff_t>(pos),
                   outcome.response.begin() + static_cast<ptrdiff_t>(at));
      if (!read_splice(splice, whole)) {
        spdlog::warn("closing connection from {}: reading a segment failed: {}", info_.peer,
                     std::strerror(errno));
        co_return false;
      }
      pos = at;
    }
    whole.insert(whole.end(), outcome.response.begin() + static_cast<ptrdiff_t>(pos),
                 outcome.response.end());
    co_return co_await write_bytes(whole);
  }
  const int fd = socket_.native_handle();
  set_cork(fd, true);
  bool ok = true;
  size_t pos = 0;
  bool first = true;
  for (const ResponseSplice& splice : outcome.splices) {
    const size_t at = std::min(splice.at, outcome.response.size());
    std::span<const uint8_t> before(outcome.response.data() + pos, at - pos);
    if (first) {
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(prefix),
                                                      asio::buffer(before.data(), before.size())};
      ok = co_await send_buffers(buffers);
      first = false;
    } else {
      ok = co_await write_bytes(before);
    }
    if (!ok) break;
    ok = co_await send_splice(splice);
    if (!ok) break;
    pos = at;
  }
  if (ok)
    ok = co_await write_bytes(
        std::span<const uint8_t>(outcome.response.data() + pos, outcome.response.size() - pos));
  set_cork(fd, false);
  co_return ok;
}

asio::awaitable<bool> Connection::fill(size_t need) {
  if (in_end_ - in_begin_ >= need) co_return true;
  // Move the unread bytes to the front, and give back the room a large request took.
  if (in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  // Producers send requests of up to a few MiB again and again: keep such a buffer rather
  // than allocate and fault it in for every request; give back only the room an unusually
  // large request took.
  if (in_.size() > kKeepReadBuffer && in_end_ <= kReadBuffer && need <= kReadBuffer) {
    in_.resize(kReadBuffer);
    in_.shrink_to_fit();
  }
  if (need > in_.size()) in_.resize(need);
  while (in_end_ < need) {
    auto [err, n] = co_await socket_.async_read_some(
        asio::buffer(in_.data() + in_end_, in_.size() - in_end_), use_tuple);
    if (err) co_return false;
    in_end_ += n;
  }
  co_return true;
}

asio::awaitable<void> Connection::serve() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  // sendfile(2) on the socket must not block the reactor: it waits for writability instead.
  socket_.native_non_blocking(true, ignored);
  in_.resize(kReadBuffer);
  for (;;) {
    if (!co_await fill(4)) break;  // closed by the peer, or stop()
    const auto size = static_cast<int32_t>(load_be32(in_.data() + in_begin_));
    if (size < 8 || size > limits_.max_request_bytes) {
      // Too large for socket.request.max.bytes, or too small for any request header.
      spdlog::warn(
          "closing connection from {}: request size {} is outside 8..{} "
          "(socket.request.max.bytes)",
          info_.peer, size, limits_.max_request_bytes);
      break;
    }
    if (!co_await fill(4 + static_cast<size_t>(size))) break;
    // Valid until the next fill(): requests are served one at a time, and handlers keep
    // copies of what they need beyond the dispatch.
    const std::span<const uint8_t> frame(in_.data() + in_begin_ + 4, static_cast<size_t>(size));
    in_begin_ += 4 + static_cast<size_t>(size);

    extras_ = ResponseExtras{};
    RequestOutcome outcome = co_await dispatcher_.dispatch(info_, frame);
    if (outcome.respond && !extras_.splices.empty()) {
      for (auto& s : extras_.splices) outcome.splices.push_back(std::move(s));
    }
    const bool close = outcome.close || extras_.close;
    extras_ = ResponseExtras{};
    if (outcome.respond && !co_await write_response(outcome)) break;
    if (close) break;
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  spdlog::debug("connection {} from {} closed", info_.id, info_.peer);
}

}  // namespace kfk::server

#include "server/network/connection.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "core/util/big_endian.h"
#include "server/log_rate_limit.h"
#include "server/network/connection_quotas.h"
#include "server/network/request_memory_pool.h"
#include "server/network/transport.h"

namespace kfk::server {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Responses up to this size are assembled in memory (pread of the file regions) and sent with
// one write: for small fetches that is 2 system calls instead of the 5 of cork, write,
// sendfile, write, uncork, and a copy of a few KiB costs less than the calls it saves.
constexpr uint64_t kCopyResponseBelow = 64 * 1024;
// The read buffer's usual size; a larger request grows it for the time it is served.
constexpr size_t kReadBuffer = 16 * 1024;
constexpr size_t kKeepReadBuffer = 8 * 1024 * 1024;

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
  store_be<uint32_t>(out.data() + 8, static_cast<uint32_t>(std::min<uint64_t>(length, INT32_MAX)));
  if (missing > 16) out[16] = 2;
  return out;
}

Connection::Connection(std::unique_ptr<Transport> transport, ConnectionInfo info,
                       Dispatcher& dispatcher, ConnectionLimits limits,
                       ConnectionResources resources)
    : transport_(std::move(transport)),
      info_(std::move(info)),
      dispatcher_(dispatcher),
      limits_(limits),
      resources_(std::move(resources)),
      watchdog_(transport_->executor()),
      pool_wait_(std::make_shared<asio::steady_timer>(transport_->executor())) {
  info_.sends_files = transport_->sends_files();
}

Connection::Connection(asio::ip::tcp::socket socket, ConnectionInfo info, Dispatcher& dispatcher,
                       ConnectionLimits limits, ConnectionResources resources)
    : Connection(std::make_unique<PlaintextTransport>(std::move(socket)), std::move(info),
                 dispatcher, limits, std::move(resources)) {}

Connection::~Connection() {
  release_request_memory();
  if (resources_.quotas) resources_.quotas->remove(resources_.address, resources_.listener);
}

void Connection::start() {
  asio::co_spawn(
      transport_->executor(), [self = shared_from_this()] { return self->serve(); },
      asio::detached);
  if (limits_.idle_ms > 0 || limits_.request_read_timeout_ms > 0)
    asio::co_spawn(
        transport_->executor(), [self = shared_from_this()] { return self->watch(); },
        asio::detached);
}

void Connection::stop() {
  asio::post(transport_->executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    self->transport_->shutdown_receive();
    self->pool_wait_->cancel();
  });
}

Connection::Clock::time_point Connection::deadline() const {
  auto after = [this](int64_t ms) {
    return ms > 0 ? phase_since_ + std::chrono::milliseconds(ms) : Clock::time_point::max();
  };
  switch (phase_) {
    case Phase::waiting:
    case Phase::writing:
      return after(limits_.idle_ms);
    case Phase::reading:
      return after(limits_.request_read_timeout_ms);
    case Phase::paused:
    case Phase::serving:
      break;
  }
  return Clock::time_point::max();
}

asio::awaitable<void> Connection::watch() {
  // Waking at least this often keeps every deadline exact: a phase's deadline is never
  // nearer than this from the phase's start.
  int64_t period_ms = INT64_MAX;
  for (int64_t ms : {limits_.idle_ms, limits_.request_read_timeout_ms})
    if (ms > 0) period_ms = std::min(period_ms, ms);
  const auto period = std::chrono::milliseconds(std::max<int64_t>(period_ms, 10));
  while (!closed_) {
    const auto now = Clock::now();
    const auto due = deadline();
    if (now >= due) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - phase_since_).count();
      if (phase_ == Phase::waiting) {
        spdlog::debug("closing connection {} from {}: idle for {} ms (connections.max.idle.ms)",
                      info_.id, info_.peer, ms);
      } else if (phase_ == Phase::reading) {
        warn_limited(fmt::format("{} slow request", peer_host(info_.peer)),
                     "closing connection from {}: a request did not arrive whole within {} ms "
                     "({} bytes arrived)",
                     info_.peer, ms, in_end_ - in_begin_);
      } else {
        warn_limited(fmt::format("{} slow reader", peer_host(info_.peer)),
                     "closing connection from {}: its response made no progress for {} ms "
                     "(connections.max.idle.ms)",
                     info_.peer, ms);
      }
      transport_->abort();
      co_return;
    }
    watchdog_.expires_at(std::min(due, now + period));
    co_await watchdog_.async_wait(use_tuple);
  }
}

asio::awaitable<bool> Connection::reserve_request_memory(size_t bytes) {
  if (!resources_.memory) co_return true;
  if (!resources_.memory->try_reserve(bytes)) {
    const Phase before = phase_;
    const auto since = phase_since_;
    enter(Phase::paused);
    spdlog::debug("connection {} from {}: waiting for {} bytes of queued.max.request.bytes",
                  info_.id, info_.peer, bytes);
    for (;;) {
      if (stopped_ || closed_) co_return false;
      resources_.memory->wake_on_release(pool_wait_);
      if (resources_.memory->try_reserve(bytes)) break;
      // Woken by a release; the timeout only guards against a missed wake-up.
      pool_wait_->expires_after(std::chrono::milliseconds(100));
      co_await pool_wait_->async_wait(use_tuple);
    }
    // The read timeout counts from the end of the wait: the client was not at fault.
    phase_ = before;
    phase_since_ = before == Phase::reading ? Clock::now() : since;
  }
  reserved_ = bytes;
  co_return true;
}

void Connection::release_request_memory() {
  if (reserved_ == 0) return;
  resources_.memory->release(reserved_);
  reserved_ = 0;
}

asio::awaitable<bool> Connection::write_bytes(std::span<const uint8_t> bytes) {
  const asio::const_buffer buffer(bytes.data(), bytes.size());
  co_return co_await transport_->write(std::span(&buffer, 1));
}

asio::awaitable<bool> Connection::send_splice(const ResponseSplice& splice) {
  uint64_t sent = 0;
  for (const FileRegion& region : splice.regions) {
    off_t offset = static_cast<off_t>(region.position);
    uint64_t left = std::min(region.length, splice.length - sent);
    bool eof = false;
    while (left > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, size_t{1} << 30));
      const int64_t n = co_await transport_->send_file(region.fd, offset, chunk);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        sent += static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) {  // the file ends before the region does: it was truncated
        eof = true;
        break;
      }
      if (n == -1)
        warn_limited(fmt::format("{} sendfile", peer_host(info_.peer)),
                     "closing connection from {}: sendfile failed: {}", info_.peer,
                     std::strerror(errno));
      co_return false;
    }
    if (eof) break;
  }
  if (sent < splice.length) {
    warn_limited(fmt::format("{} truncated segment", peer_host(info_.peer)),
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
  store_be<uint32_t>(prefix.data(), static_cast<uint32_t>(total));
  if (outcome.splices.empty()) {
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(prefix),
                                                    asio::buffer(outcome.response)};
    co_return co_await transport_->write(buffers);
  }
  if (total <= kCopyResponseBelow || !transport_->sends_files()) {
    protocol::Bytes whole;
    whole.reserve(4 + total);
    whole.insert(whole.end(), prefix.begin(), prefix.end());
    size_t pos = 0;
    for (const ResponseSplice& splice : outcome.splices) {
      const size_t at = std::min(splice.at, outcome.response.size());
      whole.insert(whole.end(), outcome.response.begin() + static_cast<ptrdiff_t>(pos),
                   outcome.response.begin() + static_cast<ptrdiff_t>(at));
      if (!read_splice(splice, whole)) {
        warn_limited(fmt::format("{} segment read", peer_host(info_.peer)),
                     "closing connection from {}: reading a segment failed: {}", info_.peer,
                     std::strerror(errno));
        co_return false;
      }
      pos = at;
    }
    whole.insert(whole.end(), outcome.response.begin() + static_cast<ptrdiff_t>(pos),
                 outcome.response.end());
    co_return co_await write_bytes(whole);
  }
  transport_->hold_partial_frames(true);
  bool ok = true;
  size_t pos = 0;
  bool first = true;
  for (const ResponseSplice& splice : outcome.splices) {
    const size_t at = std::min(splice.at, outcome.response.size());
    std::span<const uint8_t> before(outcome.response.data() + pos, at - pos);
    if (first) {
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(prefix),
                                                      asio::buffer(before.data(), before.size())};
      ok = co_await transport_->write(buffers);
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
  transport_->hold_partial_frames(false);
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
  while (in_end_ < need) {
    // The buffer grows with the bytes that arrived (at most doubling when it is full), never
    // to the size a prefix announces: a client announcing 100 MB and sending 4 bytes costs
    // the broker no more than the bytes it sent. Large buffers are kept (above), so steady
    // producers do not grow it again.
    if (in_end_ == in_.size()) in_.resize(std::min(need, std::max(in_.size() * 2, kReadBuffer)));
    std::error_code err;
    const size_t n =
        co_await transport_->read_some(std::span(in_.data() + in_end_, in_.size() - in_end_), err);
    if (err) co_return false;
    if (phase_ == Phase::waiting) enter(Phase::reading);
    in_end_ += n;
  }
  co_return true;
}

asio::awaitable<void> Connection::serve() {
  in_.resize(kReadBuffer);
  for (;;) {
    enter(in_end_ > in_begin_ ? Phase::reading : Phase::waiting);
    if (!co_await fill(4)) break;  // closed by the peer, stop() or the watchdog
    const auto size = load_be<int32_t>(in_.data() + in_begin_);
    if (size < 8 || size > limits_.max_request_bytes) {
      // Too large for socket.request.max.bytes, or too small for any request header.
      warn_limited(fmt::format("{} request size", peer_host(info_.peer)),
                   "closing connection from {}: request size {} is outside 8..{} "
                   "(socket.request.max.bytes)",
                   info_.peer, size, limits_.max_request_bytes);
      break;
    }
    // A request that fits the buffer every connection has anyway takes nothing from the pool,
    // so Metadata, heartbeats and fetches are served while large produce requests wait.
    if (static_cast<size_t>(size) > kReadBuffer &&
        !co_await reserve_request_memory(static_cast<size_t>(size)))
      break;
    if (!co_await fill(4 + static_cast<size_t>(size))) break;
    // Valid until the next fill(): requests are served one at a time, and handlers keep
    // copies of what they need beyond the dispatch.
    const std::span<const uint8_t> frame(in_.data() + in_begin_ + 4, static_cast<size_t>(size));
    in_begin_ += 4 + static_cast<size_t>(size);

    enter(Phase::serving);
    RequestOutcome outcome = co_await dispatcher_.dispatch(info_, frame);
    release_request_memory();
    enter(Phase::writing);
    if (outcome.respond && !co_await write_response(outcome)) break;
    if (outcome.close) break;
  }
  closed_ = true;
  release_request_memory();
  watchdog_.cancel();
  pool_wait_->cancel();
  transport_->close();
  spdlog::debug("connection {} from {} closed", info_.id, info_.peer);
}

}  // namespace kfk::server

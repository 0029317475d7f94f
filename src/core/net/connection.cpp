#include "core/net/connection.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <deque>
#include <map>
#include <optional>

#include "core/protocol/api_keys.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/api_versions.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"
#include "core/util/big_endian.h"

namespace kfk::net {

using Clock = std::chrono::steady_clock;

struct IoContext::Impl {
  asio::io_context io;
};

IoContext::IoContext() : impl_(std::make_unique<Impl>()) {}
IoContext::~IoContext() = default;

namespace {

// Runs `io` until `done` turns true or the deadline passes; on a timeout calls `cancel` and
// keeps running until `done` (the cancelled handler still has to run, it refers to locals).
template <class Cancel>
bool run_until_done(asio::io_context& io, const bool& done, Clock::time_point deadline,
                    Cancel&& cancel) {
  while (!done) {
    if (io.stopped()) io.restart();
    if (Clock::now() >= deadline) {
      cancel();
      while (!done) {
        if (io.stopped()) io.restart();
        io.run_one();
      }
      return false;
    }
    io.run_one_until(deadline);
  }
  return true;
}

std::string millis(std::chrono::milliseconds d) { return fmt::format("{} ms", d.count()); }

}  // namespace

struct Connection::Impl : std::enable_shared_from_this<Connection::Impl> {
  struct Pending {
    int16_t api_key = 0;
    int16_t api_version = 0;
    Clock::time_point deadline;
    std::chrono::milliseconds timeout{0};
  };

  Impl(asio::io_context& context, std::string addr, ConnectOptions opts)
      : io(context), socket(context), address(std::move(addr)), options(std::move(opts)) {}

  asio::io_context& io;
  asio::ip::tcp::socket socket;
  std::string address;
  ConnectOptions options;
  std::vector<ApiVersionRange> broker;
  std::vector<int16_t> versions;  // by api key; -1 when not supported

  int32_t next_correlation = 1;
  std::map<int32_t, Pending> pending;
  std::map<int32_t, protocol::Bytes> done;
  std::deque<protocol::Bytes> writes;
  bool writing = false;
  bool reading = false;
  std::array<uint8_t, 4> size_buf{};
  protocol::Bytes frame;
  std::optional<NetError> failure;

  void fail(NetErrorKind kind, const std::string& message) {
    if (!failure) {
      spdlog::debug("{}", message);
      failure.emplace(kind, message);
    }
    asio::error_code ignored;
    socket.close(ignored);
  }

  void start_write() {
    if (writing || writes.empty() || failure) return;
    writing = true;
    asio::async_write(socket, asio::buffer(writes.front()),
                      [self = shared_from_this()](const asio::error_code& ec, size_t) {
                        self->writing = false;
                        if (ec) {
                          self->fail(NetErrorKind::closed,
                                     fmt::format("connection to {} lost while sending: {}",
                                                 self->address, ec.message()));
                          return;
                        }
                        self->writes.pop_front();
                        self->start_write();
                      });
  }

  void start_read() {
    if (reading || pending.empty() || failure) return;
    reading = true;
    asio::async_read(
        socket, asio::buffer(size_buf),
        [self = shared_from_this()](const asio::error_code& ec, size_t) { self->on_size(ec); });
  }

  void on_size(const asio::error_code& ec) {
    if (ec) {
      reading = false;
      fail(NetErrorKind::closed,
           ec == asio::error::eof
               ? fmt::format("connection closed by {} before it answered", address)
               : fmt::format("connection to {} lost while receiving: {}", address, ec.message()));
      return;
    }
    const auto size = load_be<int32_t>(size_buf.data());
    if (size < 4 || size > options.max_response_bytes) {
      reading = false;
      fail(NetErrorKind::protocol,
           fmt::format("{} sent a response frame of {} bytes (expected 4..{})", address, size,
                       options.max_response_bytes));
      return;
    }
    frame.resize(static_cast<size_t>(size));
    asio::async_read(
        socket, asio::buffer(frame),
        [self = shared_from_this()](const asio::error_code& e, size_t) { self->on_frame(e); });
  }

  void on_frame(const asio::error_code& ec) {
    reading = false;
    if (ec) {
      fail(NetErrorKind::closed,
           fmt::format("connection to {} lost while receiving: {}", address, ec.message()));
      return;
    }
    const auto correlation = load_be<int32_t>(frame.data());
    const auto it = pending.find(correlation);
    if (it == pending.end()) {
      fail(NetErrorKind::protocol,
           fmt::format("{} answered with correlation id {}, which matches no request", address,
                       correlation));
      return;
    }
    std::string error;
    const auto header =
        decode_response_header(frame, it->second.api_key, it->second.api_version, error);
    if (!header) {
      fail(NetErrorKind::protocol, fmt::format("malformed {} response from {}: {}",
                                               api_name(it->second.api_key), address, error));
      return;
    }
    done.emplace(
        correlation,
        protocol::Bytes(frame.begin() + static_cast<ptrdiff_t>(header->header_size), frame.end()));
    pending.erase(it);
    start_read();
  }

  int32_t send(int16_t api_key, int16_t api_version, std::span<const uint8_t> body,
               bool expect_response, std::chrono::milliseconds timeout) {
    if (failure) throw *failure;
    const int32_t correlation = next_correlation++;
    if (next_correlation == INT32_MAX) next_correlation = 1;
    protocol::Bytes bytes =
        encode_request_prefix(api_key, api_version, correlation, options.client_id, body.size());
    bytes.insert(bytes.end(), body.begin(), body.end());
    writes.push_back(std::move(bytes));
    if (expect_response) {
      if (timeout <= std::chrono::milliseconds::zero()) timeout = options.request_timeout;
      pending[correlation] = Pending{api_key, api_version, Clock::now() + timeout, timeout};
    }
    spdlog::trace("{}: sending {} v{} (correlation id {}, {} bytes)", address, api_name(api_key),
                  api_version, correlation, body.size());
    start_write();
    start_read();
    return correlation;
  }

  template <class Pred>
  void run(Pred&& ready, Clock::time_point deadline, const std::string& what,
           std::chrono::milliseconds timeout) {
    while (!ready()) {
      if (failure) throw *failure;
      if (Clock::now() >= deadline) {
        fail(NetErrorKind::timeout,
             fmt::format("{} timed out after {} waiting for {}", address, millis(timeout), what));
        throw *failure;
      }
      if (io.stopped()) io.restart();
      const size_t ran = io.run_one_until(deadline);
      if (ran == 0 && io.stopped() && !ready() && !failure) {
        fail(NetErrorKind::closed,
             fmt::format("connection to {} is idle while waiting for {}", address, what));
      }
    }
  }

  protocol::Bytes wait(int32_t correlation) {
    auto found = done.find(correlation);
    if (found == done.end()) {
      const auto it = pending.find(correlation);
      if (it == pending.end()) {
        if (failure) throw *failure;
        throw NetError(
            NetErrorKind::protocol,
            fmt::format("no request with correlation id {} on {}", correlation, address));
      }
      const std::string what = fmt::format("a {} response", api_name(it->second.api_key));
      run([&] { return done.count(correlation) > 0; }, it->second.deadline, what,
          it->second.timeout);
      found = done.find(correlation);
    }
    protocol::Bytes body = std::move(found->second);
    done.erase(found);
    return body;
  }

  void drain() {
    run([&] { return writes.empty(); }, Clock::now() + options.request_timeout,
        "requests to be sent", options.request_timeout);
  }

  void connect(const std::string& host, uint16_t port) {
    const auto deadline = Clock::now() + options.connect_timeout;
    asio::ip::tcp::resolver resolver(io);
    bool finished = false;
    asio::error_code error;
    asio::ip::tcp::resolver::results_type endpoints;
    resolver.async_resolve(
        host, std::to_string(port),
        [&](const asio::error_code& ec, asio::ip::tcp::resolver::results_type r) {
          error = ec;
          endpoints = std::move(r);
          finished = true;
        });
    if (!run_until_done(io, finished, deadline, [&] { resolver.cancel(); })) {
      throw NetError(NetErrorKind::timeout,
                     fmt::format("cannot connect to {}: resolving the host name timed out after {}",
                                 address, millis(options.connect_timeout)));
    }
    if (error) {
      throw NetError(NetErrorKind::connect,
                     fmt::format("cannot connect to {}: {}", address, error.message()));
    }
    finished = false;
    asio::async_connect(socket, endpoints,
                        [&](const asio::error_code& ec, const asio::ip::tcp::endpoint&) {
                          error = ec;
                          finished = true;
                        });
    if (!run_until_done(io, finished, deadline, [&] {
          asio::error_code ignored;
          socket.close(ignored);
        })) {
      throw NetError(NetErrorKind::timeout, fmt::format("cannot connect to {}: no answer within {}",
                                                        address, millis(options.connect_timeout)));
    }
    if (error) {
      throw NetError(NetErrorKind::connect,
                     fmt::format("cannot connect to {}: {}", address, error.message()));
    }
    asio::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }

  // ApiVersions: asks at our highest version; a broker that does not know it answers
  // UNSUPPORTED_VERSION in v0 with its own range, and we ask again at the highest common one.
  void negotiate() {
    int16_t version = protocol::ApiVersionsRequest::latest_stable_version;
    for (int attempt = 0; attempt < 2; ++attempt) {
      protocol::ApiVersionsRequest request;
      request.client_software_name = options.software_name;
      request.client_software_version = options.software_version;
      protocol::Writer w;
      request.encode(w, version);
      const protocol::Bytes body =
          wait(send(protocol::ApiVersionsRequest::api_key, version, w.bytes(), true, {}));
      protocol::Reader peek(body);
      const int16_t error_code = peek.read_int16("error_code");
      const int16_t decode_version =
          error_code == protocol::to_int(protocol::ErrorCode::unsupported_version) ? 0 : version;
      protocol::ApiVersionsResponse response;
      protocol::Reader r(body);
      if (!response.decode(r, decode_version) || !r.expect_end("ApiVersionsResponse")) {
        fail(NetErrorKind::protocol, fmt::format("malformed ApiVersions response from {}: {}",
                                                 address, r.error().message()));
        throw *failure;
      }
      broker.clear();
      for (const auto& api : response.api_keys) {
        broker.push_back(ApiVersionRange{api.api_key, api.min_version, api.max_version});
      }
      if (response.error_code == protocol::to_int(protocol::ErrorCode::unsupported_version)) {
        const int16_t next = negotiate_version(protocol::ApiVersionsRequest::api_key, broker);
        if (next < 0 || next >= version) break;
        version = next;
        continue;
      }
      if (response.error_code != 0) {
        fail(NetErrorKind::protocol, fmt::format("{} refused ApiVersions: {}", address,
                                                 protocol::describe_error(response.error_code)));
        throw *failure;
      }
      versions.assign(128, -1);
      for (const auto& api : protocol::all_apis()) {
        if (api.key >= 0 && static_cast<size_t>(api.key) < versions.size()) {
          versions[static_cast<size_t>(api.key)] = negotiate_version(api.key, broker);
        }
      }
      spdlog::debug("connected to {} (ApiVersions v{}, {} APIs)", address, version, broker.size());
      return;
    }
    fail(NetErrorKind::unsupported,
         fmt::format("{} supports no ApiVersions version this client knows", address));
    throw *failure;
  }
};

Connection::Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() {
  if (impl_) {
    asio::error_code ignored;
    impl_->socket.close(ignored);
  }
}

std::unique_ptr<Connection> Connection::open(IoContext& io, const std::string& host, uint16_t port,
                                             const ConnectOptions& options) {
  const std::string address = host.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", host, port)
                                  : fmt::format("{}:{}", host, port);
  auto impl = std::make_shared<Impl>(io.impl().io, address, options);
  std::unique_ptr<Connection> conn(new Connection(impl));
  impl->connect(host, port);
  impl->negotiate();
  return conn;
}

const std::string& Connection::address() const { return impl_->address; }
bool Connection::is_open() const { return !impl_->failure && impl_->socket.is_open(); }

void Connection::close() {
  impl_->fail(NetErrorKind::closed, fmt::format("connection to {} closed", impl_->address));
}

int16_t Connection::version(int16_t api_key) const {
  if (api_key < 0 || static_cast<size_t>(api_key) >= impl_->versions.size()) return -1;
  return impl_->versions[static_cast<size_t>(api_key)];
}

int16_t Connection::require_version(int16_t api_key) const {
  const int16_t v = version(api_key);
  if (v < 0) {
    throw NetError(NetErrorKind::unsupported,
                   fmt::format("the broker at {} does not support {} in any version this client "
                               "speaks",
                               impl_->address, api_name(api_key)));
  }
  return v;
}

std::span<const ApiVersionRange> Connection::broker_versions() const { return impl_->broker; }

int32_t Connection::send(int16_t api_key, int16_t api_version, std::span<const uint8_t> body,
                         bool expect_response, std::chrono::milliseconds timeout) {
  return impl_->send(api_key, api_version, body, expect_response, timeout);
}

protocol::Bytes Connection::wait(int32_t correlation_id) { return impl_->wait(correlation_id); }

void Connection::drain() { impl_->drain(); }

}  // namespace kfk::net

#include "server/network/listener.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <asio/post.hpp>
#include <cctype>
#include <cerrno>

#include "server/log_rate_limit.h"
#include "server/network/connection_quotas.h"

namespace kfk::server {

namespace {
constexpr std::chrono::milliseconds kFirstAcceptPause{100};

// Listener names are upper case; Kafka's listener.name.* settings spell them in lower case.
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
constexpr std::chrono::milliseconds kLongestAcceptPause{1000};

std::string host_port(const std::string& host, uint16_t port) {
  const std::string h = host.empty() ? "0.0.0.0" : host;
  return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(port);
}

// Failures that go away once descriptors or memory are freed; accepting again at once would
// fail again at once.
bool out_of_resources(const asio::error_code& ec) {
  const int e = ec.value();
  return ec.category() == asio::system_category() &&
         (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM);
}

uint64_t open_files_limit() {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}
}  // namespace

std::string listen_error(const std::string& host, uint16_t port, const asio::error_code& ec) {
  std::string reason;
  if (ec == asio::error::address_in_use)
    reason = "address in use (is another broker running?)";
  else if (ec.value() == EADDRNOTAVAIL && ec.category() == asio::system_category())
    reason = "address not available (it is not an address of this machine)";
  else if (ec == asio::error::access_denied)
    reason = "permission denied (ports below 1024 need privileges)";
  else
    reason = ec.message();
  return "cannot listen on " + host_port(host, port) + ": " + reason;
}

Listener::Listener(ListenerSpec spec, ReactorPool& reactors, Dispatcher& dispatcher,
                   ConnectionLimits limits, std::shared_ptr<RequestMemoryPool> memory,
                   std::shared_ptr<ConnectionQuotas> quotas)
    : spec_(std::move(spec)),
      reactors_(reactors),
      dispatcher_(dispatcher),
      limits_(limits),
      memory_(std::move(memory)),
      quotas_(std::move(quotas)),
      acceptor_(reactors.reactor(0)),
      accept_pause_(reactors.reactor(0)) {}

Listener::~Listener() {
  // The reactors no longer run (see the header): nothing else touches the acceptor, and
  // posting to them would queue work that never runs.
  asio::error_code ignored;
  acceptor_.close(ignored);
  accept_pause_.cancel();
}

std::string Listener::start() {
  asio::error_code ec;
  auto address = asio::ip::make_address(spec_.host == "" ? "0.0.0.0" : spec_.host, ec);
  if (ec) {
    asio::ip::tcp::resolver resolver(reactors_.reactor(0));
    auto results = resolver.resolve(spec_.host, std::to_string(spec_.port), ec);
    if (ec || results.empty())
      return "cannot resolve listener host '" + spec_.host + "': " + ec.message();
    address = results.begin()->endpoint().address();
  }
  asio::ip::tcp::endpoint endpoint(address, spec_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    asio::error_code ignored;
    acceptor_.close(ignored);
    return listen_error(spec_.host, spec_.port, ec);
  }
  bound_port_ = acceptor_.local_endpoint().port();
  accept_next();
  return {};
}

void Listener::accept_next() {
  acceptor_.async_accept(
      reactors_.next(), [this](asio::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (out_of_resources(ec)) {
          pause_accepting(ec);
          return;
        }
        pause_ = std::chrono::milliseconds(0);
        if (ec)
          warn_limited("accept " + spec_.name, "accept on {} failed: {}", spec_.name, ec.message());
        else
          accepted(std::move(socket));
        accept_next();
      });
}

void Listener::pause_accepting(const asio::error_code& ec) {
  pause_ = std::clamp(pause_ * 2, kFirstAcceptPause, kLongestAcceptPause);
  warn_limited("accept " + spec_.name,
               "accept on {} failed: {}; accepting again in {} ms (open files limit {})",
               spec_.name, ec.message(), pause_.count(), open_files_limit());
  accept_pause_.expires_after(pause_);
  accept_pause_.async_wait([this](asio::error_code wait_ec) {
    if (wait_ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    accept_next();
  });
}

void Listener::accepted(asio::ip::tcp::socket socket) {
  asio::error_code peer_ec;
  auto peer = socket.remote_endpoint(peer_ec);
  auto ip = peer.address();
  // A listener on "::" sees IPv4 clients as ::ffff:a.b.c.d; count them by their IPv4 address.
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  const std::string address = peer_ec ? "unknown" : ip.to_string();
  if (quotas_) {
    const auto verdict = quotas_->try_add(address, spec_.name);
    if (verdict != ConnectionQuotas::Verdict::accepted) {
      if (verdict == ConnectionQuotas::Verdict::too_many_connections)
        warn_limited("max.connections",
                     "refused a connection from {} on {}: the broker has max.connections ({}) "
                     "open",
                     address, spec_.name, quotas_->max_connections());
      else if (verdict == ConnectionQuotas::Verdict::too_many_on_listener)
        warn_limited(spec_.name + " max.connections",
                     "refused a connection from {} on {}: the listener has its "
                     "listener.name.{}.max.connections ({}) open",
                     address, spec_.name, lower(spec_.name), quotas_->listener_limit(spec_.name));
      else
        warn_limited(address + " max.connections.per.ip",
                     "refused a connection from {} on {}: it has {} open, its limit "
                     "(max.connections.per.ip or its override)",
                     address, spec_.name, quotas_->limit_for(address));
      asio::error_code ignored;
      socket.close(ignored);
      return;
    }
  }
  ConnectionInfo info;
  info.peer =
      peer_ec ? "unknown"
              : (ip.is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(peer.port());
  info.listener = spec_.name;
  ConnectionResources resources{memory_, quotas_, address, spec_.name};
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mutex_);
    info.id = next_id_++;
    conn = std::make_shared<Connection>(std::move(socket), info, dispatcher_, limits_,
                                        std::move(resources));
    connections_[info.id] = conn;
    // Forget connections that have closed, so the map does not grow without bound.
    for (auto it = connections_.begin(); it != connections_.end();)
      it = it->second.expired() ? connections_.erase(it) : std::next(it);
  }
  spdlog::debug("connection {} from {} on {}", info.id, info.peer, spec_.name);
  conn->start();
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
    accept_pause_.cancel();
  });
  std::lock_guard lock(mutex_);
  for (auto& [id, weak] : connections_)
    if (auto conn = weak.lock()) conn->stop();
}

size_t Listener::open_connections() {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (auto& [id, weak] : connections_) n += weak.expired() ? 0 : 1;
  return n;
}

}  // namespace kfk::server

#include "server/network/listener.h"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>

namespace kfk::server {

Listener::Listener(ListenerSpec spec, ReactorPool& reactors, Dispatcher& dispatcher,
                   ConnectionLimits limits)
    : spec_(std::move(spec)),
      reactors_(reactors),
      dispatcher_(dispatcher),
      limits_(limits),
      acceptor_(reactors.reactor(0)) {}

Listener::~Listener() { stop(); }

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
    return "cannot listen on " + spec_.host + ":" + std::to_string(spec_.port) + " (" + spec_.name +
           "): " + ec.message();
  }
  bound_port_ = acceptor_.local_endpoint().port();
  accept_next();
  return {};
}

void Listener::accept_next() {
  acceptor_.async_accept(
      reactors_.next(), [this](asio::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
          spdlog::warn("accept on {} failed: {}", spec_.name, ec.message());
        } else {
          asio::error_code peer_ec;
          auto peer = socket.remote_endpoint(peer_ec);
          ConnectionInfo info;
          info.peer =
              peer_ec ? "unknown" : peer.address().to_string() + ":" + std::to_string(peer.port());
          info.listener = spec_.name;
          std::shared_ptr<Connection> conn;
          {
            std::lock_guard lock(mutex_);
            info.id = next_id_++;
            conn = std::make_shared<Connection>(std::move(socket), info, dispatcher_, limits_);
            connections_[info.id] = conn;
            // Forget connections that have closed, so the map does not grow without bound.
            for (auto it = connections_.begin(); it != connections_.end();)
              it = it->second.expired() ? connections_.erase(it) : std::next(it);
          }
          spdlog::debug("connection {} from {} on {}", info.id, info.peer, spec_.name);
          conn->start();
        }
        accept_next();
      });
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
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

// Accepts connections on one listening socket and spreads them over the reactors.
//
// Accepted sockets are counted against the connection quotas (max.connections,
// max.connections.per.ip and its overrides) and closed at once beyond them. When the process
// runs out of file descriptors, accepting pauses (100 ms, doubling to 1 s) instead of
// spinning on a backlog it cannot take from.
//
// Lifetime: start() and stop() may be called while the reactors run; the destructor must run
// once the reactor threads have stopped (or never ran), as Broker does.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/network/connection.h"
#include "server/network/reactor_pool.h"

namespace kfk::server {

struct ListenerSpec {
  std::string name = "PLAINTEXT";
  std::string host = "127.0.0.1";
  uint16_t port = 9092;  // 0: the system picks a free port, see bound_port()
};

class Listener {
 public:
  Listener(ListenerSpec spec, ReactorPool& reactors, Dispatcher& dispatcher,
           ConnectionLimits limits, std::shared_ptr<RequestMemoryPool> memory = nullptr,
           std::shared_ptr<ConnectionQuotas> quotas = nullptr);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and starts accepting. Returns an error message ("cannot listen on HOST:PORT: ..."),
  // or an empty string.
  std::string start();
  // Stops accepting and asks every open connection to stop after its current request.
  void stop();

  const ListenerSpec& spec() const { return spec_; }
  uint16_t bound_port() const { return bound_port_; }
  size_t open_connections();

 private:
  void accept_next();
  void accepted(asio::ip::tcp::socket socket);
  // After an accept failed for want of descriptors or memory: waits, then accepts again.
  void pause_accepting(const asio::error_code& ec);

  ListenerSpec spec_;
  ReactorPool& reactors_;
  Dispatcher& dispatcher_;
  ConnectionLimits limits_;
  std::shared_ptr<RequestMemoryPool> memory_;
  std::shared_ptr<ConnectionQuotas> quotas_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer accept_pause_;
  std::chrono::milliseconds pause_{0};
  uint16_t bound_port_ = 0;
  uint64_t next_id_ = 1;
  std::mutex mutex_;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;
};

// "cannot listen on HOST:PORT: <reason>", with the likely cause of the usual failures.
std::string listen_error(const std::string& host, uint16_t port, const asio::error_code& ec);

}  // namespace kfk::server

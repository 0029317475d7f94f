// Accepts connections on one listening socket and spreads them over the reactors.
#pragma once

#include <asio/ip/tcp.hpp>
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
           ConnectionLimits limits);
  ~Listener();

  // Binds and starts accepting. Returns an error message, or an empty string.
  std::string start();
  // Stops accepting and asks every open connection to stop after its current request.
  void stop();

  const ListenerSpec& spec() const { return spec_; }
  uint16_t bound_port() const { return bound_port_; }
  size_t open_connections();

 private:
  void accept_next();

  ListenerSpec spec_;
  ReactorPool& reactors_;
  Dispatcher& dispatcher_;
  ConnectionLimits limits_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t bound_port_ = 0;
  uint64_t next_id_ = 1;
  std::mutex mutex_;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;
};

}  // namespace kfk::server

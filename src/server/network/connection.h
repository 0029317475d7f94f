// One client connection: reads size-prefixed request frames, hands each to the dispatcher,
// and writes the responses back. Requests are served one at a time, in order, as Kafka does
// (a connection is muted while its request is in flight), so responses keep request order.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/protocol/types.h"

namespace kfk::server {

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;      // "host:port" of the client
  std::string listener;  // listener name, e.g. PLAINTEXT
};

// What the dispatcher makes of one request.
struct RequestOutcome {
  protocol::Bytes response;  // response header + body, without the size prefix
  bool respond = true;       // false for Produce with acks=0
  bool close = false;        // close the connection after responding (malformed request)
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual asio::awaitable<RequestOutcome> dispatch(const ConnectionInfo& conn,
                                                   std::span<const uint8_t> frame) = 0;
};

struct ConnectionLimits {
  int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, ConnectionInfo info, Dispatcher& dispatcher,
             ConnectionLimits limits);

  // Serves the connection on its socket's executor until the peer closes or stop() is called.
  void start();
  // Stops reading new requests; a request being served still gets its response. Thread-safe.
  void stop();

  const ConnectionInfo& info() const { return info_; }

 private:
  asio::awaitable<void> serve();

  asio::ip::tcp::socket socket_;
  ConnectionInfo info_;
  Dispatcher& dispatcher_;
  ConnectionLimits limits_;
};

}  // namespace kfk::server

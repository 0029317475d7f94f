// A client connection to one Kafka broker: TCP with Kafka's size-prefixed frames, requests
// matched to responses by correlation id (several may be in flight), and the API versions
// negotiated with ApiVersions when the connection opens.
//
// The interface is blocking: send() queues a request, wait() runs the shared I/O context until
// that response arrives (making progress on every connection of the context meanwhile), so
// requests to several brokers proceed in parallel. asio stays inside connection.cpp. Not
// thread-safe: one thread uses a context and its connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/net/framing.h"
#include "core/net/net_error.h"
#include "core/protocol/types.h"

namespace kfk::net {

// Owns the asio::io_context the connections run on. Must outlive them.
class IoContext {
 public:
  IoContext();
  ~IoContext();
  IoContext(const IoContext&) = delete;
  IoContext& operator=(const IoContext&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct ConnectOptions {
  std::string client_id = "kfk";
  std::string software_name = "kfk";
  std::string software_version = KFK_VERSION;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  // Larger response frames close the connection (a broker never sends more than the fetch
  // limits the client asked for, plus framing).
  int32_t max_response_bytes = 256 << 20;
};

class Connection {
 public:
  // Connects, then negotiates API versions. Throws NetError (connect, timeout, closed,
  // protocol); the message names host:port.
  static std::unique_ptr<Connection> open(IoContext& io, const std::string& host, uint16_t port,
                                          const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& address() const;  // "host:port"
  bool is_open() const;
  void close();

  // The version negotiated for `api_key` (highest both sides support), or -1.
  int16_t version(int16_t api_key) const;
  // The same, throwing NetError(unsupported) naming the API and the broker when it is -1.
  int16_t require_version(int16_t api_key) const;
  std::span<const ApiVersionRange> broker_versions() const;

  // Queues a request whose body is already encoded. Returns its correlation id. Without
  // `expect_response` (Produce with acks=0) nothing is awaited. A non-zero `timeout` replaces
  // the request timeout for this request (JoinGroup may be held for a whole rebalance).
  int32_t send(int16_t api_key, int16_t api_version, std::span<const uint8_t> body,
               bool expect_response = true,
               std::chrono::milliseconds timeout = std::chrono::milliseconds::zero());
  // Blocks until the response to `correlation_id` arrives and returns its body (header
  // removed). Throws NetError; after a timeout or failure the connection is closed.
  protocol::Bytes wait(int32_t correlation_id);
  // Blocks until every queued request has been written (for requests without responses).
  void drain();

  struct Impl;

 private:
  explicit Connection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace kfk::net

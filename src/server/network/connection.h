// One client connection: reads size-prefixed request frames, hands each to the dispatcher,
// and writes the responses back. Requests are served one at a time, in order, as Kafka does
// (a connection is muted while its request is in flight), so responses keep request order.
//
// What a client cannot make the broker hold: a request's buffer grows with the bytes that
// arrive, never to the size a prefix announces; the bytes of requests in flight are bounded
// broker-wide (RequestMemoryPool, queued.max.request.bytes); a watchdog closes a connection
// without a request for connections.max.idle.ms, one whose request does not arrive whole
// within the request read timeout (a client trickling bytes), and one whose response makes no
// progress for connections.max.idle.ms (a client that stopped reading).
//
// A response may carry file bytes by reference (Fetch records): the connection writes the
// in-memory bytes up to each splice, then the splice's file regions with sendfile(2), then
// the rest, so record bytes go from the segment files to the socket without a copy.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/protocol/types.h"
#include "server/network/session.h"

namespace kfk::server {

// Bytes of an open file, kept open by `owner` until the response is sent.
struct FileRegion {
  std::shared_ptr<const void> owner;
  int fd = -1;
  uint64_t position = 0;
  uint64_t length = 0;
};

// File regions inserted into a response at byte `at` of RequestOutcome::response. `length`
// is what the response framing promises (the sum of the regions' lengths when they were
// read). Should a file have been shortened meanwhile (a truncation), the connection still
// sends exactly `length` bytes: the missing tail is replaced by the head of a batch longer
// than what is left, which clients take for the partial trailing batch a fetch response
// may end with, so the response stays well-formed.
struct ResponseSplice {
  size_t at = 0;
  uint64_t length = 0;
  std::vector<FileRegion> regions;
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;      // "host:port" of the client
  std::string listener;  // listener name, e.g. PLAINTEXT
  // The transport sends file regions (ResponseSplice) itself; elsewhere (tests, fuzzers,
  // and transports that must encrypt) handlers copy file bytes into the response instead.
  bool sends_files = false;
  Session session;
};

// What the dispatcher makes of one request.
struct RequestOutcome {
  protocol::Bytes response;  // response header + body, without the size prefix
  // File bytes inserted into `response`; the frame size counts them.
  std::vector<ResponseSplice> splices;
  bool respond = true;  // false for Produce with acks=0
  // Close the connection after responding (a malformed request; a failed acks=0 produce).
  bool close = false;

  // The size of the response on the wire, without the size prefix.
  uint64_t total_size() const;
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual asio::awaitable<RequestOutcome> dispatch(const ConnectionInfo& conn,
                                                   std::span<const uint8_t> frame) = 0;
};

struct ConnectionLimits {
  int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
  // connections.max.idle.ms: a connection with no request (and a response that makes no
  // progress) for this long is closed; < 0: never.
  int64_t idle_ms = 600000;
  // A request must arrive whole within this time of its first byte. Clients give up on a
  // request after their request.timeout.ms (30 s by default) anyway.
  int64_t request_read_timeout_ms = 30000;
};

class RequestMemoryPool;
class ConnectionQuotas;

// What connections share broker-wide; either may be null (no bound, nothing counted).
struct ConnectionResources {
  std::shared_ptr<RequestMemoryPool> memory;
  // Counted this connection when it was accepted; released when the connection ends.
  std::shared_ptr<ConnectionQuotas> quotas;
  std::string address;   // the client's address, a key of `quotas`
  std::string listener;  // the listener's name, the other key
};

class Transport;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::unique_ptr<Transport> transport, ConnectionInfo info, Dispatcher& dispatcher,
             ConnectionLimits limits, ConnectionResources resources = {});
  // A plaintext connection on `socket`.
  Connection(asio::ip::tcp::socket socket, ConnectionInfo info, Dispatcher& dispatcher,
             ConnectionLimits limits, ConnectionResources resources = {});
  ~Connection();

  // Serves the connection on its socket's executor until the peer closes or stop() is called.
  void start();
  // Stops reading new requests; a request being served still gets its response. Thread-safe.
  void stop();

  const ConnectionInfo& info() const { return info_; }

 private:
  asio::awaitable<void> serve();
  // Writes one response; false when the connection must close (write error).
  asio::awaitable<bool> write_response(const RequestOutcome& outcome);
  // sendfile(2) of one splice; fills what a truncated file no longer has.
  asio::awaitable<bool> send_splice(const ResponseSplice& splice);
  asio::awaitable<bool> write_bytes(std::span<const uint8_t> bytes);
  // Reads until `need` unread bytes are buffered; false when the peer closed or failed.
  asio::awaitable<bool> fill(size_t need);
  // Reserves a request's bytes in the memory pool, waiting while it is full; false when the
  // connection stops meanwhile.
  asio::awaitable<bool> reserve_request_memory(size_t bytes);
  void release_request_memory();
  // Closes the connection when a deadline of its phase passes.
  asio::awaitable<void> watch();

  using Clock = std::chrono::steady_clock;
  // What the connection is doing, for the watchdog.
  enum class Phase : uint8_t {
    waiting,  // for the first byte of a request: idle
    reading,  // a request, since its first byte
    paused,   // for room in the memory pool: no deadline
    serving,  // the handler has the request (long polls, joins): no deadline
    writing,  // the response
  };
  void enter(Phase phase) {
    phase_ = phase;
    phase_since_ = Clock::now();
  }
  // When the current phase times out; Clock::time_point::max() when it cannot.
  Clock::time_point deadline() const;

  std::unique_ptr<Transport> transport_;
  // Bytes read from the socket, [in_begin_, in_end_) not yet consumed. One read may bring
  // several pipelined requests, which then cost no further system call.
  protocol::Bytes in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  ConnectionInfo info_;
  Dispatcher& dispatcher_;
  ConnectionLimits limits_;
  ConnectionResources resources_;
  Phase phase_ = Phase::waiting;
  Clock::time_point phase_since_ = Clock::now();
  size_t reserved_ = 0;   // bytes of the current request reserved in the memory pool
  bool closed_ = false;   // serve() has ended
  bool stopped_ = false;  // stop() was called
  asio::steady_timer watchdog_;
  std::shared_ptr<asio::steady_timer> pool_wait_;
};

// The bytes standing in for `missing` bytes of a records field whose file was shortened
// after the response was framed: the head of a batch claiming more bytes than are left, so
// that Kafka clients stop at it as at any partial trailing batch. Exposed for tests.
protocol::Bytes partial_batch_filler(uint64_t missing);

}  // namespace kfk::server

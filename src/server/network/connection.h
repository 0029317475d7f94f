// One client connection: reads size-prefixed request frames, hands each to the dispatcher,
// and writes the responses back. Requests are served one at a time, in order, as Kafka does
// (a connection is muted while its request is in flight), so responses keep request order.
//
// A response may carry file bytes by reference (Fetch records): the connection writes the
// in-memory bytes up to each splice, then the splice's file regions with sendfile(2), then
// the rest, so record bytes go from the segment files to the socket without a copy.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/protocol/types.h"

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

// What a handler can hand its connection besides the response bytes. The connection clears
// it before each request.
struct ResponseExtras {
  std::vector<ResponseSplice> splices;  // in increasing `at` order
  bool close = false;                   // close once the response (if any) is written
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;      // "host:port" of the client
  std::string listener;  // listener name, e.g. PLAINTEXT
  // Set by connections that can send file regions and honour the extras; null elsewhere
  // (tests, fuzzers), where handlers copy file bytes into the response instead.
  ResponseExtras* extras = nullptr;
};

// What the dispatcher makes of one request.
struct RequestOutcome {
  protocol::Bytes response;  // response header + body, without the size prefix
  // File bytes inserted into `response`; the frame size counts them.
  std::vector<ResponseSplice> splices;
  bool respond = true;  // false for Produce with acks=0
  bool close = false;   // close the connection after responding (malformed request)

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
  // Writes one response; false when the connection must close (write error).
  asio::awaitable<bool> write_response(const RequestOutcome& outcome);
  // sendfile(2) of one splice; fills what a truncated file no longer has.
  asio::awaitable<bool> send_splice(const ResponseSplice& splice);
  asio::awaitable<bool> write_bytes(std::span<const uint8_t> bytes);
  // Writes the buffers (at most 4): first with one non-blocking sendmsg from the reactor
  // thread, then, only if the socket buffer is full, the rest asynchronously. A response
  // usually fits the socket buffer, and finishing it in the call saves the reactor a posted
  // completion and a poll for every response.
  asio::awaitable<bool> send_buffers(std::span<const asio::const_buffer> buffers);
  // Reads until `need` unread bytes are buffered; false when the peer closed or failed.
  asio::awaitable<bool> fill(size_t need);

  asio::ip::tcp::socket socket_;
  // Bytes read from the socket, [in_begin_, in_end_) not yet consumed. One read may bring
  // several pipelined requests, which then cost no further system call.
  protocol::Bytes in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  ConnectionInfo info_;
  ResponseExtras extras_;
  Dispatcher& dispatcher_;
  ConnectionLimits limits_;
};

// The bytes standing in for `missing` bytes of a records field whose file was shortened
// after the response was framed: the head of a batch claiming more bytes than are left, so
// that Kafka clients stop at it as at any partial trailing batch. Exposed for tests.
protocol::Bytes partial_batch_filler(uint64_t missing);

}  // namespace kfk::server

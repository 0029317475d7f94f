// How a connection moves bytes: the transport under the Kafka framing. Plaintext TCP today
// (with sendfile(2) for record bytes); TLS is to be a second implementation, which copies file
// bytes through the encryption instead (sends_files() false), so the connection and the
// handlers do not change when it comes.
#pragma once

#include <sys/types.h>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace kfk::server {

class Transport {
 public:
  virtual ~Transport() = default;

  virtual asio::any_io_executor executor() = 0;

  // Reads what has arrived into `into` (waiting for at least one byte): the bytes read, or 0
  // with `error` set when the peer closed or the read failed.
  virtual asio::awaitable<size_t> read_some(std::span<uint8_t> into, std::error_code& error) = 0;
  // Writes every buffer; false when the connection failed.
  virtual asio::awaitable<bool> write(std::span<const asio::const_buffer> buffers) = 0;

  // Whether file bytes can go out without passing through the broker's memory.
  virtual bool sends_files() const = 0;
  // Sends up to `length` bytes of file `fd` from `offset` (advanced by what was sent): the
  // bytes sent, 0 when the file ends first, -1 when sending failed (errno says why), or -2
  // when the connection closed while waiting to send.
  virtual asio::awaitable<int64_t> send_file(int fd, off_t& offset, size_t length) = 0;
  // Holds partial frames back while a response goes out in several writes.
  virtual void hold_partial_frames(bool on) = 0;

  // Stops reading (stop(): a request being served still gets its response).
  virtual void shutdown_receive() = 0;
  // Ends what is pending and refuses more (the watchdog).
  virtual void abort() = 0;
  virtual void close() = 0;
};

// TCP without encryption: writes go out with one non-blocking sendmsg from the reactor thread
// when the socket buffer has room (most responses), file bytes with sendfile(2).
class PlaintextTransport final : public Transport {
 public:
  explicit PlaintextTransport(asio::ip::tcp::socket socket);

  asio::any_io_executor executor() override { return socket_.get_executor(); }
  asio::awaitable<size_t> read_some(std::span<uint8_t> into, std::error_code& error) override;
  asio::awaitable<bool> write(std::span<const asio::const_buffer> buffers) override;
  bool sends_files() const override { return true; }
  asio::awaitable<int64_t> send_file(int fd, off_t& offset, size_t length) override;
  void hold_partial_frames(bool on) override;
  void shutdown_receive() override;
  void abort() override;
  void close() override;

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace kfk::server

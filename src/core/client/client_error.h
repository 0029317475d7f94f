// The exception the client throws when an operation fails as a whole (per-record produce
// failures are reported in DeliveryReport instead). Network failures arrive as net::NetError.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kfk::client {

enum class ClientErrorKind {
  kafka,             // the broker answered with a Kafka error code (code())
  connection,        // no broker could be reached
  timeout,           // retries did not succeed within the operation's time limit
  protocol,          // the broker sent something that makes no sense (corrupt batch, ...)
  invalid_argument,  // the request cannot be made as asked (partition out of range, ...)
};

class ClientError : public std::runtime_error {
 public:
  ClientError(ClientErrorKind kind, const std::string& message, int16_t code = 0)
      : std::runtime_error(message), kind_(kind), code_(code) {}
  ClientErrorKind kind() const { return kind_; }
  int16_t code() const { return code_; }

 private:
  ClientErrorKind kind_;
  int16_t code_;
};

}  // namespace kfk::client

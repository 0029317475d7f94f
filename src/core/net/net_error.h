// The one exception type of the network layer. Each kind maps to a distinct reaction of the
// caller: retry elsewhere (connect, closed, timeout), give up (protocol, unsupported).
#pragma once

#include <stdexcept>
#include <string>

namespace kfk::net {

enum class NetErrorKind {
  connect,      // could not resolve or connect to the address
  closed,       // the peer closed the connection, or a read/write failed
  timeout,      // no answer within the request (or connection setup) timeout
  protocol,     // the peer sent bytes that do not decode, or an unexpected correlation id
  unsupported,  // the peer does not support any version of an API we need
};

class NetError : public std::runtime_error {
 public:
  NetError(NetErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  NetErrorKind kind() const { return kind_; }

 private:
  NetErrorKind kind_;
};

}  // namespace kfk::net

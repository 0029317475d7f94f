// Who is on the other end of a connection, as far as the broker knows: what requests are
// authorized against. A PLAINTEXT listener authenticates no one, so its sessions are
// anonymous; SASL will fill in the principal once its handshake completes.
#pragma once

#include <cstdint>
#include <string>

namespace kfk::server {

struct Session {
  enum class Authentication : uint8_t {
    none,         // the listener authenticates no one
    in_progress,  // a SASL handshake has begun
    complete,     // `principal` was authenticated
  };
  std::string principal = "User:ANONYMOUS";
  Authentication authentication = Authentication::none;
};

}  // namespace kfk::server

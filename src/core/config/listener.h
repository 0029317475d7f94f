// Listeners ("NAME://host:port") and the map from listener names to security protocols, as
// in Kafka's `listeners`, `advertised.listeners` and `listener.security.protocol.map`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/result.h"

namespace kfk::config {

enum class SecurityProtocol : uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };

std::string_view to_string(SecurityProtocol protocol);  // "PLAINTEXT", "SASL_SSL", ...
// Any case, as Kafka accepts.
std::optional<SecurityProtocol> parse_security_protocol(std::string_view name);

// Listener name (upper case) -> protocol.
using SecurityProtocolMap = std::map<std::string, SecurityProtocol, std::less<>>;

struct Listener {
  std::string name;   // upper case, as Kafka normalises it
  std::string host;   // "" binds every interface; IPv6 addresses without brackets
  uint16_t port = 0;  // 0: the system picks a free port
  SecurityProtocol protocol = SecurityProtocol::plaintext;

  bool is_ipv6() const { return host.find(':') != std::string::npos; }
  // "NAME://host:port", IPv6 hosts in brackets.
  std::string to_string() const;
  bool operator==(const Listener&) const = default;
};

// Entries "NAME:PROTOCOL" (e.g. "CLIENT:SASL_SSL"). `setting` names the setting in errors.
Result<SecurityProtocolMap> parse_security_protocol_map(
    const std::vector<std::string>& entries,
    std::string_view setting = "listener.security.protocol.map");

// Entries "NAME://host:port"; the host may be empty, a name, an IPv4 address or an IPv6
// address in brackets ("PLAINTEXT://[::1]:9092"). Each name must be in `protocols` and
// appear once. With `distinct_ports`, two listeners may share a port only when it is 0 or one
// binds IPv4 and the other IPv6.
Result<std::vector<Listener>> parse_listeners(const std::vector<std::string>& entries,
                                              const SecurityProtocolMap& protocols,
                                              std::string_view setting = "listeners",
                                              bool distinct_ports = true);

}  // namespace kfk::config

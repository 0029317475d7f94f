// Broker addresses: "host:port", "[v6addr]:port", with 9092 when the port is left out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfk::client {

struct BrokerAddress {
  std::string host;  // without brackets
  uint16_t port = 9092;
  std::string to_string() const;  // brackets around IPv6 hosts
  bool operator==(const BrokerAddress&) const = default;
};

// nullopt with `error` set when the entry is not a valid address.
std::optional<BrokerAddress> parse_address(std::string_view text, std::string& error);
// A comma-separated list; spaces around entries are ignored. Empty entries are errors.
std::optional<std::vector<BrokerAddress>> parse_address_list(std::string_view text,
                                                             std::string& error);

}  // namespace kfk::client

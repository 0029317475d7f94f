#include "core/client/address.h"

#include <fmt/core.h>

namespace kfk::client {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

}  // namespace

std::string BrokerAddress::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

std::optional<BrokerAddress> parse_address(std::string_view text, std::string& error) {
  text = trim(text);
  if (text.empty()) {
    error = "empty address";
    return std::nullopt;
  }
  BrokerAddress out;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) {
      error = fmt::format("'{}': unterminated or empty '['", text);
      return std::nullopt;
    }
    out.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = fmt::format("'{}': expected ':' after ']'", text);
        return std::nullopt;
      }
      port = rest.substr(1);
      if (port.empty()) {
        error = fmt::format("'{}': missing port after ':'", text);
        return std::nullopt;
      }
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      error = fmt::format("'{}': IPv6 addresses go in brackets, e.g. [::1]:9092", text);
      return std::nullopt;
    }
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) {
        error = fmt::format("'{}': missing port after ':'", text);
        return std::nullopt;
      }
    }
    if (out.host.empty()) {
      error = fmt::format("'{}': missing host", text);
      return std::nullopt;
    }
  }
  if (!port.empty()) {
    const auto p = parse_port(port);
    if (!p) {
      error = fmt::format("'{}': port must be a number from 1 to 65535", text);
      return std::nullopt;
    }
    out.port = *p;
  }
  return out;
}

std::optional<std::vector<BrokerAddress>> parse_address_list(std::string_view text,
                                                             std::string& error) {
  std::vector<BrokerAddress> out;
  while (true) {
    const auto comma = text.find(',');
    auto entry = parse_address(text.substr(0, comma), error);
    if (!entry) return std::nullopt;
    out.push_back(std::move(*entry));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace kfk::client

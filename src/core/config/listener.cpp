#include "core/config/listener.h"

#include <fmt/format.h>

#include <charconv>
#include <set>
#include <system_error>

namespace kfk::config {

namespace {

constexpr std::string_view kListenerForm = "NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Host names, IPv4 addresses, and (with `colon`) IPv6 addresses with an optional %zone.
bool valid_host(std::string_view host, bool colon) {
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '%' || (colon && c == ':');
    if (!ok) return false;
  }
  return true;
}

// A dotted-quad IPv4 address.
bool is_ipv4_literal(std::string_view host) {
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = host.find('.', start);
    const std::string_view part = host.substr(start, dot == host.npos ? host.npos : dot - start);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || part.size() > 3 || ec != std::errc() || ptr != part.data() + part.size() ||
        v > 255) {
      return false;
    }
    ++parts;
    if (dot == host.npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

std::string invalid(std::string_view setting, std::string_view entry, std::string_view why) {
  return fmt::format("invalid value {} for configuration {}: {}; accepted: {}",
                     entry.empty() ? "\"\"" : entry, setting, why, kListenerForm);
}

}  // namespace

std::string_view to_string(SecurityProtocol protocol) {
  switch (protocol) {
    case SecurityProtocol::plaintext:
      return "PLAINTEXT";
    case SecurityProtocol::ssl:
      return "SSL";
    case SecurityProtocol::sasl_plaintext:
      return "SASL_PLAINTEXT";
    case SecurityProtocol::sasl_ssl:
      return "SASL_SSL";
  }
  return "PLAINTEXT";
}

std::optional<SecurityProtocol> parse_security_protocol(std::string_view name) {
  const std::string u = upper(name);
  for (auto p : {SecurityProtocol::plaintext, SecurityProtocol::ssl,
                 SecurityProtocol::sasl_plaintext, SecurityProtocol::sasl_ssl}) {
    if (u == to_string(p)) return p;
  }
  return std::nullopt;
}

std::string Listener::to_string() const {
  if (is_ipv6()) return fmt::format("{}://[{}]:{}", name, host, port);
  return fmt::format("{}://{}:{}", name, host, port);
}

Result<SecurityProtocolMap> parse_security_protocol_map(const std::vector<std::string>& entries,
                                                        std::string_view setting) {
  SecurityProtocolMap map;
  std::vector<std::string> errors;
  for (const auto& entry : entries) {
    const auto colon = entry.find(':');
    auto fail = [&](std::string_view why) {
      errors.push_back(fmt::format(
          "invalid value {} for configuration {}: {}; accepted: NAME:PROTOCOL with PROTOCOL one "
          "of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
          entry.empty() ? "\"\"" : entry, setting, why));
    };
    if (colon == std::string::npos || entry.find(':', colon + 1) != std::string::npos) {
      fail("expected one ':' between the listener name and the protocol");
      continue;
    }
    const std::string_view name = std::string_view(entry).substr(0, colon);
    if (!valid_name(name)) {
      fail("the listener name must be letters, digits, '_', '-' or '.'");
      continue;
    }
    auto protocol = parse_security_protocol(std::string_view(entry).substr(colon + 1));
    if (!protocol) {
      fail("unknown security protocol");
      continue;
    }
    if (!map.emplace(upper(name), *protocol).second) {
      fail(fmt::format("listener {} is mapped twice", upper(name)));
    }
  }
  if (!errors.empty()) return Result<SecurityProtocolMap>::failure(std::move(errors));
  return map;
}

Result<std::vector<Listener>> parse_listeners(const std::vector<std::string>& entries,
                                              const SecurityProtocolMap& protocols,
                                              std::string_view setting, bool distinct_ports) {
  std::vector<Listener> out;
  std::vector<std::string> errors;
  std::set<std::string> names;
  for (const auto& entry : entries) {
    const std::string_view e = entry;
    const auto sep = e.find("://");
    if (sep == std::string_view::npos) {
      errors.push_back(invalid(setting, e, "missing '://' after the listener name"));
      continue;
    }
    Listener l;
    const std::string_view name = e.substr(0, sep);
    if (!valid_name(name)) {
      errors.push_back(
          invalid(setting, e, "the listener name must be letters, digits, '_', '-' or '.'"));
      continue;
    }
    l.name = upper(name);
    std::string_view rest = e.substr(sep + 3);
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
      const auto close = rest.find(']');
      if (close == std::string_view::npos) {
        errors.push_back(invalid(setting, e, "missing ']' after the IPv6 address"));
        continue;
      }
      const std::string_view host = rest.substr(1, close - 1);
      if (host.find(':') == std::string_view::npos || !valid_host(host, true)) {
        errors.push_back(invalid(setting, e, "brackets must hold an IPv6 address"));
        continue;
      }
      if (rest.size() <= close + 1 || rest[close + 1] != ':') {
        errors.push_back(invalid(setting, e, "missing ':port' after the address"));
        continue;
      }
      l.host = std::string(host);
      port_text = rest.substr(close + 2);
    } else {
      const auto colon = rest.rfind(':');
      if (colon == std::string_view::npos) {
        errors.push_back(invalid(setting, e, "missing ':port'"));
        continue;
      }
      const std::string_view host = rest.substr(0, colon);
      if (host.find(':') != std::string_view::npos) {
        errors.push_back(
            invalid(setting, e, "an IPv6 address must be in brackets, e.g. [::1]:9092"));
        continue;
      }
      if (!valid_host(host, false)) {
        errors.push_back(invalid(setting, e, "the host contains a character not allowed"));
        continue;
      }
      l.host = std::string(host);
      port_text = rest.substr(colon + 1);
    }
    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc() || ptr != end || port > 65535) {
      errors.push_back(invalid(setting, e, "the port must be a number from 0 to 65535"));
      continue;
    }
    l.port = static_cast<uint16_t>(port);
    auto proto = protocols.find(l.name);
    if (proto == protocols.end()) {
      errors.push_back(
          fmt::format("listener {} in {} has no security protocol: map it in "
                      "listener.security.protocol.map (e.g. {}:PLAINTEXT)",
                      l.name, setting, l.name));
      continue;
    }
    l.protocol = proto->second;
    if (!names.insert(l.name).second) {
      errors.push_back(fmt::format("{} names listener {} twice; each listener needs its own name",
                                   setting, l.name));
      continue;
    }
    out.push_back(std::move(l));
  }
  if (distinct_ports) {
    for (size_t i = 0; i < out.size(); ++i) {
      for (size_t j = i + 1; j < out.size(); ++j) {
        const Listener& a = out[i];
        const Listener& b = out[j];
        const bool v4_and_v6 =
            (a.is_ipv6() && is_ipv4_literal(b.host)) || (b.is_ipv6() && is_ipv4_literal(a.host));
        if (a.port != 0 && a.port == b.port && !v4_and_v6) {
          errors.push_back(fmt::format(
              "{}: listeners {} and {} use the same port {}; only an IPv4 and an IPv6 listener "
              "may share a port",
              setting, a.name, b.name, a.port));
        }
      }
    }
  }
  if (!errors.empty()) return Result<std::vector<Listener>>::failure(std::move(errors));
  return out;
}

}  // namespace kfk::config

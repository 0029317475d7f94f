// Open connections counted broker-wide and per client address, against max.connections,
// max.connections.per.ip and max.connections.per.ip.overrides. The listener asks before it
// serves an accepted socket; a connection beyond a limit is closed at once. The limits are
// dynamic (Kafka's cluster-wide settings): a change applies to the next connection, and the
// connections already open stay.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace kfk::server {

struct ConnectionQuotaConfig {
  int32_t max_connections = INT32_MAX;
  int32_t max_connections_per_ip = INT32_MAX;
  std::map<std::string, int32_t> per_ip_overrides;  // address (as printed) -> limit
  std::map<std::string, int32_t> per_listener;      // listener name -> its max.connections
};

class ConnectionQuotas {
 public:
  enum class Verdict {
    accepted,
    too_many_connections,
    too_many_on_listener,
    too_many_from_address
  };

  explicit ConnectionQuotas(ConnectionQuotaConfig config) : config_(std::move(config)) {}

  // Counts a new connection from `address` on `listener` unless a limit is reached.
  Verdict try_add(const std::string& address, const std::string& listener);
  // New limits (a dynamic config change).
  void update(ConnectionQuotaConfig config);
  void remove(const std::string& address, const std::string& listener);

  // The limit that applies to `address`.
  int32_t limit_for(const std::string& address) const;
  int32_t max_connections() const;
  int32_t listener_limit(const std::string& listener) const;
  size_t total() const;
  size_t from(const std::string& address) const;

 private:
  int32_t limit_for_locked(const std::string& address) const;

  mutable std::mutex mu_;
  ConnectionQuotaConfig config_;
  size_t total_ = 0;
  std::map<std::string, int32_t, std::less<>> per_address_;
  std::map<std::string, int32_t, std::less<>> per_listener_;
};

}  // namespace kfk::server

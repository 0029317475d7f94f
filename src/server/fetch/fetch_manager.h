// Fetch state shared by every connection: long-poll waiters per partition and the fetch
// session cache (KIP-227).
#pragma once

namespace kfk::config {
struct BrokerConfig;
}

namespace kfk::server {

class FetchManager {
 public:
  explicit FetchManager(const config::BrokerConfig& config);
  ~FetchManager();
  FetchManager(const FetchManager&) = delete;
  FetchManager& operator=(const FetchManager&) = delete;
};

}  // namespace kfk::server

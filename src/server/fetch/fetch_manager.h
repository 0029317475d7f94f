// Fetch state shared by every connection: the fetch session cache (KIP-227). Long polls wait
// through the broker's DelayedOperations (delayed/delayed_operations.h).
#pragma once

#include "server/fetch/fetch_session.h"

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

  FetchSessionCache& sessions() { return sessions_; }

 private:
  FetchSessionCache sessions_;
};

}  // namespace kfk::server

// The dispatcher: the table of every API handler (built in dispatcher.cpp from one type
// list) and the request path from frame bytes to response bytes.
#pragma once

#include <cstdint>
#include <span>

#include "server/network/connection.h"

namespace kfk::server {

class Broker;

struct SupportedApi {
  int16_t key;
  int16_t min_version;
  int16_t max_version;
};

// Every API the broker serves with the versions it serves, by key: what ApiVersions says.
std::span<const SupportedApi> supported_apis();

class BrokerDispatcher final : public Dispatcher {
 public:
  explicit BrokerDispatcher(Broker& broker) : broker_(broker) {}
  asio::awaitable<RequestOutcome> dispatch(const ConnectionInfo& conn,
                                           std::span<const uint8_t> frame) override;

 private:
  Broker& broker_;
};

}  // namespace kfk::server

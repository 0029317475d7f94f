// The broker: reactors, listeners, the request dispatcher and the cluster state they serve.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config/broker_config.h"
#include "core/protocol/errors.h"
#include "server/cluster/metadata_image.h"
#include "server/network/listener.h"

namespace kfk::server {

class BrokerDispatcher;

class Broker {
 public:
  explicit Broker(config::BrokerConfig config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Formats new log dirs, binds the listeners and starts serving. Returns an error message,
  // or an empty string once the broker is ready.
  std::string start();
  // Stops accepting, lets in-flight requests finish, and stops the reactors. Idempotent.
  void stop();

  const config::BrokerConfig& config() const { return config_; }
  const std::string& cluster_id() const { return cluster_id_; }
  // The port each listener is bound to (useful with port 0), in configuration order.
  std::vector<uint16_t> bound_ports() const;

  // The current metadata image; never null once started.
  std::shared_ptr<const MetadataImage> metadata() const;

  // Creates `name` with the default settings, for Metadata requests that allow it.
  asio::awaitable<protocol::ErrorCode> auto_create_topic(const std::string& name);

 private:
  void publish(std::shared_ptr<const MetadataImage> image);

  config::BrokerConfig config_;
  std::string cluster_id_;
  std::unique_ptr<ReactorPool> reactors_;
  std::unique_ptr<BrokerDispatcher> dispatcher_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  mutable std::mutex image_mutex_;
  std::shared_ptr<const MetadataImage> image_;
  bool started_ = false;
};

}  // namespace kfk::server

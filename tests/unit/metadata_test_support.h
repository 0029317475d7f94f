// The metadata path of one node for tests: the quorum, the loader and the controller over a
// directory, with each controller operation run to completion the way a request runs it
// (through ControllerClient, until the change is published).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config/broker_config.h"
#include "server/cluster/controller.h"
#include "server/cluster/controller_client.h"
#include "server/cluster/metadata_loader.h"
#include "server/cluster/metadata_quorum.h"
#include "server/delayed/delayed_operations.h"

namespace kfk::server::testing {

// Runs `work` on `io` until it completes, and returns its result. `io` must outlive the
// controller the work reaches: the controller's thread releases its hold on `io` only after
// handing the result over.
template <typename T>
T run_awaitable(asio::io_context& io, asio::awaitable<T> work) {
  std::future<T> result = asio::co_spawn(io, std::move(work), asio::use_future);
  // The io_context may run out of work while the coroutine waits on another thread.
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return result.get();
}

class MetadataNode {
 public:
  static storage::Result<std::unique_ptr<MetadataNode>> open(
      const config::BrokerConfig& config, const std::filesystem::path& dir, MetadataImage base,
      MetadataLoader::Publish publish, int32_t segment_bytes = kDefaultMetadataSegmentBytes) {
    std::unique_ptr<MetadataNode> node(new MetadataNode(config));
    auto log = MetadataLog::open(dir, segment_bytes);
    if (!log) return log.error();
    node->quorum_ = std::make_unique<MetadataQuorum>(std::move(log).value());
    auto loader = MetadataLoader::open(node->config_, *node->quorum_, std::move(base),
                                       std::move(publish), node->delayed_);
    if (!loader) return loader.error();
    node->loader_ = std::move(loader).value();
    node->controller_ =
        std::make_unique<Controller>(node->config_, *node->quorum_, node->loader_->image());
    node->client_ = std::make_unique<ControllerClient>(*node->controller_, *node->loader_);
    return node;
  }
  ~MetadataNode() { stop(); }

  CreatedTopic create_topic(NewTopic topic, bool validate_only) {
    return run_awaitable(io_, client_->create_topic(std::move(topic), validate_only));
  }
  ControllerResult delete_topic(std::string name) {
    return run_awaitable(io_, client_->delete_topic(std::move(name)));
  }
  ControllerResult create_partitions(std::string topic, int32_t total,
                                     std::optional<std::vector<std::vector<int32_t>>> assignments,
                                     bool validate_only) {
    return run_awaitable(io_, client_->create_partitions(std::move(topic), total,
                                                         std::move(assignments), validate_only));
  }
  ControllerResult alter_configs(ConfigResourceType type, std::string name,
                                 std::span<const ConfigChange> changes, bool replace,
                                 bool validate_only) {
    return run_awaitable(
        io_, client_->alter_configs(type, std::move(name),
                                    std::vector<ConfigChange>(changes.begin(), changes.end()),
                                    replace, validate_only));
  }
  std::optional<int64_t> next_producer_id(std::string& error) {
    const ProducerIdResult id = run_awaitable(io_, client_->next_producer_id());
    if (!id.result.ok()) {
      error = id.result.message;
      return std::nullopt;
    }
    return id.producer_id;
  }

  // The newest image published.
  std::shared_ptr<const MetadataImage> image() const { return loader_->image(); }
  void wait_for_snapshots() { loader_->wait_for_snapshots(); }
  size_t snapshots_written() const { return loader_->snapshots_written(); }

  // Stops the controller and the loader, and closes the log.
  storage::StorageError close() {
    stop();
    return quorum_->close();
  }

 private:
  explicit MetadataNode(const config::BrokerConfig& config) : config_(config) {}
  void stop() {
    if (controller_) controller_->stop();
    if (loader_) loader_->stop();
  }

  const config::BrokerConfig config_;
  asio::io_context io_;  // where the operations' callers run
  DelayedOperations delayed_;
  std::unique_ptr<MetadataQuorum> quorum_;
  std::unique_ptr<MetadataLoader> loader_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<ControllerClient> client_;
};

}  // namespace kfk::server::testing

// The broker: reactors, listeners, the request dispatcher and the cluster state they serve.
#pragma once

#include <asio/awaitable.hpp>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/config/broker_config.h"
#include "core/protocol/errors.h"
#include "server/cluster/metadata_image.h"
#include "server/network/connection_quotas.h"
#include "server/network/listener.h"
#include "server/storage/dir_lock.h"

namespace kfk::storage {
class LogCleanerManager;
class LogManager;
}  // namespace kfk::storage

namespace kfk::server {

namespace group {
class GroupCoordinator;
}  // namespace group

class Authorizer;
class BrokerDispatcher;
class PartitionManager;
class PartitionTable;
struct TopicSettings;
class Controller;
class ControllerClient;
class MetadataLoader;
class MetadataQuorum;
class DelayedOperations;
class FetchManager;
class InternalTopicStore;
struct PublishOutcome;

class Broker {
 public:
  explicit Broker(config::BrokerConfig config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Locks and formats the log dirs, binds the listeners and starts serving. Returns an error
  // message, or an empty string once the broker is ready. After a failure the broker holds
  // nothing but its directory locks (until it is destroyed).
  std::string start();
  // The failed start() found damaged data that the broker will not serve around (the metadata
  // log), rather than a problem of the environment (a port, a directory, a lock).
  bool start_found_damage() const { return start_found_damage_; }
  // Stops accepting, lets in-flight requests finish, and stops the reactors. Idempotent.
  void stop();

  const config::BrokerConfig& config() const { return config_; }
  const std::string& cluster_id() const { return cluster_id_; }
  // The port each listener is bound to (useful with port 0), in configuration order.
  std::vector<uint16_t> bound_ports() const;

  // The current metadata image; never null once started.
  std::shared_ptr<const MetadataImage> metadata() const;

  // Creates `name` with the default settings, for Metadata (and Produce) requests that
  // allow it, when auto.create.topics.enable is on.
  asio::awaitable<protocol::ErrorCode> auto_create_topic(const std::string& name);

  // The partitions as the current image has them, with this broker's replicas: what
  // handlers and coordinators reach partitions through.
  std::shared_ptr<const PartitionTable> partitions() const;
  storage::LogManager& logs() { return *logs_; }
  // nullptr when log.cleaner.enable is off.
  storage::LogCleanerManager* log_cleaner() { return cleaner_.get(); }
  // How requests reach the controller and wait for their changes to be served.
  ControllerClient& controller() { return *controller_client_; }
  FetchManager& fetch_manager() { return *fetch_; }
  // Requests waiting on partitions (long-poll fetches).
  DelayedOperations& delayed_operations() { return *delayed_; }
  group::GroupCoordinator& group_coordinator() { return *coordinator_; }
  // The group coordinator's store on __consumer_offsets.
  InternalTopicStore& offsets_store() { return *offsets_store_; }
  ReactorPool& reactors() { return *reactors_; }
  // Decides whether a session may make a request (allow-all until ACLs are enforced).
  const Authorizer& authorizer() const { return *authorizer_; }

 private:
  // Serves `next` after making the logs agree with it: creates the logs of new partitions,
  // deletes those of removed topics, applies changed settings. A topic whose logs could not
  // all be created is served as it was in the previous image (absent if new) and reported.
  PublishOutcome apply_image(std::shared_ptr<const MetadataImage> next);
  // Returns the topics whose partition logs could not all be created, with why. `previous`
  // is null for the image found at start. `settings`: the settings of the topics that changed
  // (PartitionManager::resolve_settings).
  std::map<std::string, std::string> reconcile_logs(
      const MetadataImage* previous, const MetadataImage& next,
      const std::unordered_map<std::string, std::shared_ptr<const TopicSettings>>& settings);
  // Locks every log dir and the metadata log dir (storage/dir_lock.h).
  std::string lock_dirs();
  std::string start_listeners();
  // max.connections and its kin from the static config and `image`'s dynamic settings.
  ConnectionQuotaConfig connection_quota_config(const MetadataImage* image) const;
  // Undoes a start that failed: listeners first, then the reactors they use.
  void abandon_start();
  // The background duties of the storage: flush.ms, retention, checkpoints, producer expiry.
  void maintenance_loop();
  std::string open_storage(MetadataImage base);
  // Loads the groups from __consumer_offsets and starts the coordinator's timers.
  std::string open_group_coordinator();
  void start_log_cleaner();

  config::BrokerConfig config_;
  // Released last, when the broker is destroyed.
  std::vector<storage::DirLock> dir_locks_;
  std::string cluster_id_;
  bool start_found_damage_ = false;
  std::unique_ptr<ReactorPool> reactors_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<BrokerDispatcher> dispatcher_;
  std::shared_ptr<RequestMemoryPool> request_memory_;  // queued.max.request.bytes
  std::shared_ptr<ConnectionQuotas> connection_quotas_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<storage::LogCleanerManager> cleaner_;
  std::unique_ptr<FetchManager> fetch_;
  std::unique_ptr<DelayedOperations> delayed_;
  std::unique_ptr<InternalTopicStore> offsets_store_;
  std::unique_ptr<group::GroupCoordinator> coordinator_;
  // Serves images one at a time: log reconciliation, then the table's publication.
  std::mutex apply_mutex_;
  std::unique_ptr<PartitionManager> partitions_;
  // Declared after what the loader publishes to, so that they outlive it.
  std::unique_ptr<MetadataQuorum> quorum_;
  std::unique_ptr<MetadataLoader> loader_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<ControllerClient> controller_client_;
  std::thread maintenance_;
  std::mutex maintenance_mutex_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace kfk::server

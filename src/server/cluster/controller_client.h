// How a request reaches the controller: the operation runs on the controller, and the
// request waits (without blocking its reactor) until this broker has published the image
// holding its records, so that a client creating a topic can produce to it as soon as it has
// its answer. With one node the controller is local; with a quorum, requests to a broker that
// is not the active controller will be forwarded to it here.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/cluster/controller.h"
#include "server/cluster/metadata_loader.h"

namespace kfk::server {

class ControllerClient {
 public:
  ControllerClient(Controller& controller, const MetadataLoader& loader)
      : controller_(controller), loader_(loader) {}

  // A topic whose logs this broker cannot create is removed again, and the operation fails
  // with KAFKA_STORAGE_ERROR: no topic is ever served without its logs, and a retry can
  // succeed once the cause is gone.
  asio::awaitable<CreatedTopic> create_topic(NewTopic topic, bool validate_only);
  asio::awaitable<ControllerResult> delete_topic(std::string name);
  asio::awaitable<ControllerResult> create_partitions(
      std::string topic, int32_t total,
      std::optional<std::vector<std::vector<int32_t>>> assignments, bool validate_only);
  asio::awaitable<ControllerResult> alter_configs(ConfigResourceType type,
                                                  std::string resource_name,
                                                  std::vector<ConfigChange> changes, bool replace,
                                                  bool validate_only);
  // Producer ids need no publication: the commit is what keeps them unique.
  asio::awaitable<ProducerIdResult> next_producer_id();

 private:
  // Waits for the publication of `result.offset` when the operation wrote records; the
  // outcome of that publication, or nullopt (with `result` set to the error) when it did not
  // come in time.
  asio::awaitable<std::optional<PublishOutcome>> wait_published(ControllerResult& result);

  Controller& controller_;
  const MetadataLoader& loader_;
};

}  // namespace kfk::server

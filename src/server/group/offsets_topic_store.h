// GroupStore on the broker's own __consumer_offsets topic: created on first use (as Kafka
// does when a client first looks for a coordinator) with cleanup.policy=compact, written
// like any partition (fetches waiting on it are woken), read back at start.
#pragma once

#include <mutex>

#include "server/group/group_store.h"

namespace kfk::server {
class Broker;
}

namespace kfk::server::group {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class OffsetsTopicStore : public GroupStore {
 public:
  explicit OffsetsTopicStore(Broker& broker) : broker_(broker) {}

  // Creates the topic when it does not exist yet.
  protocol::ErrorCode ensure_topic();

  int32_t partitions() override;
  protocol::ErrorCode append(int32_t partition, const std::vector<StoreRecord>& records,
                             int64_t now_ms) override;
  protocol::ErrorCode read_all(int32_t partition, const Visit& visit) override;

 private:
  Broker& broker_;
  std::mutex create_mu_;
};

}  // namespace kfk::server::group

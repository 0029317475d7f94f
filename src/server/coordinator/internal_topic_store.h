// A CoordinatorStore on one of the broker's internal topics: created on first use (as Kafka
// creates __consumer_offsets when a client first looks for a coordinator), written like any
// partition (its appends wake the fetches waiting on it), read back when its coordinator
// loads. It reaches partitions through the partition layer, and the controller only to
// create the topic, so no coordinator needs the broker object. Its coordinator learns which
// partitions to load and unload from the partition layer's leadership changes
// (watch_leadership).
#pragma once

#include <asio/awaitable.hpp>
#include <map>
#include <string>

#include "server/coordinator/coordinator_store.h"
#include "server/partition/partition_manager.h"

namespace kfk::server {

class ControllerClient;
class DelayedOperations;

// What an internal topic is created with.
struct InternalTopic {
  std::string name;
  int32_t partitions = 1;
  int16_t replication_factor = 1;
  std::map<std::string, std::string> configs;
  // What the records of a damaged range (which are not loaded) cost, for the log line.
  std::string damage_consequence;
};

class InternalTopicStore : public CoordinatorStore {
 public:
  InternalTopicStore(InternalTopic topic, PartitionManager& partitions,
                     ControllerClient& controller, DelayedOperations& delayed)
      : topic_(std::move(topic)),
        partitions_(partitions),
        controller_(controller),
        delayed_(delayed) {}

  const std::string& topic() const { return topic_.name; }

  // Creates the topic when it does not exist yet (FindCoordinator): the coordinator's writes
  // wait for it, as Kafka's do, with COORDINATOR_NOT_AVAILABLE until it is served.
  asio::awaitable<protocol::ErrorCode> ensure_topic();

  int32_t partitions() override;
  StoreAppend append(int32_t partition, const std::vector<StoreRecord>& records,
                     int64_t now_ms) override;
  // Flushes up to the append's end when the topic's flush policy asked for it, then wakes the
  // fetches waiting on the partition. With replication: waits for the high watermark.
  protocol::ErrorCode await_commit(const StoreAppend& append) override;
  // Damage costs the records it holds, never the others: a read that starts in a damaged
  // range is resumed after it, and the range is logged as lost.
  protocol::ErrorCode read_all(int32_t partition, const Visit& visit) override;
  void watch_leadership(LeadershipListener listener) override;

 private:
  void report_damage(int32_t partition, int64_t first, int64_t next, std::string_view reason) const;

  const InternalTopic topic_;
  PartitionManager& partitions_;
  ControllerClient& controller_;
  DelayedOperations& delayed_;
  LeadershipWatch leadership_;
};

}  // namespace kfk::server

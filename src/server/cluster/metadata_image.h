// The metadata image: what the cluster looks like (brokers, topics, partitions, configs), as
// applied from the metadata log. An image is immutable once published; readers hold a
// shared_ptr to a whole image, and the controller publishes a new one after each change.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/types.h"

namespace kfk::server {

struct BrokerEndpoint {
  int32_t node_id = 1;
  std::string listener = "PLAINTEXT";
  std::string host;
  int32_t port = 9092;
  std::optional<std::string> rack;
};

struct PartitionState {
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

struct TopicState {
  std::string name;
  protocol::Uuid id;
  bool internal = false;
  std::vector<PartitionState> partitions;
  std::map<std::string, std::string> configs;  // topic-level overrides only

  // The partition with this index; nullptr when the topic has none.
  const PartitionState* find_partition(int32_t partition) const {
    // Partitions are kept in index order, so the index is usually the position.
    if (partition >= 0 && static_cast<size_t>(partition) < partitions.size() &&
        partitions[static_cast<size_t>(partition)].partition == partition)
      return &partitions[static_cast<size_t>(partition)];
    for (const auto& p : partitions)
      if (p.partition == partition) return &p;
    return nullptr;
  }
};

struct MetadataImage {
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<BrokerEndpoint> brokers;
  std::map<std::string, std::shared_ptr<const TopicState>> topics;  // by name
  // Dynamic broker settings (Kafka names): cluster-wide defaults and per broker.
  std::map<std::string, std::string> cluster_configs;
  std::map<int32_t, std::map<std::string, std::string>> broker_configs;
  // The first producer id not yet handed to any broker.
  int64_t next_producer_id = 0;
  // The offset of the last metadata record applied; -1 for none.
  int64_t offset = -1;

  const TopicState* find_topic(const std::string& name) const {
    auto it = topics.find(name);
    return it == topics.end() ? nullptr : it->second.get();
  }
  // By id: PartitionTable::topic, which keeps an index.
};

}  // namespace kfk::server

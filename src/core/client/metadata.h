// What a Metadata response tells the client: brokers, the controller, and per topic its id
// and partitions with leader, replicas and in-sync replicas.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/types.h"

namespace kfk::client {

struct BrokerMetadata {
  int32_t node_id = -1;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;
};

struct PartitionMetadata {
  int32_t partition = 0;
  int16_t error = 0;
  int32_t leader = -1;  // -1: no leader right now
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline;
};

struct TopicMetadata {
  std::string name;
  int16_t error = 0;
  protocol::Uuid id;
  bool internal = false;
  std::vector<PartitionMetadata> partitions;  // sorted by partition

  const PartitionMetadata* partition(int32_t index) const;
  int32_t partition_count() const { return static_cast<int32_t>(partitions.size()); }
  int32_t replication_factor() const {
    return partitions.empty() ? 0 : static_cast<int32_t>(partitions.front().replicas.size());
  }
};

struct ClusterMetadata {
  std::optional<std::string> cluster_id;
  int32_t controller_id = -1;
  std::map<int32_t, BrokerMetadata> brokers;
  std::map<std::string, TopicMetadata> topics;
};

}  // namespace kfk::client

#include "server/partition/partition.h"

namespace kfk::server {

using protocol::ErrorCode;

size_t PartitionTable::UuidHash::operator()(const protocol::Uuid& id) const {
  // Topic ids are random: their first bytes spread as well as any hash of them.
  size_t h = 0;
  for (size_t i = 0; i < sizeof(size_t); ++i) h = (h << 8) | id.bytes[i];
  return h;
}

PartitionTable::PartitionTable(std::shared_ptr<const MetadataImage> image, int32_t node_id)
    : image_(std::move(image)), node_id_(node_id) {}

PartitionLookup PartitionTable::lookup(const Topic* topic, int32_t partition, int32_t epoch) const {
  PartitionLookup out;
  out.topic = topic->state.get();
  out.settings = topic->settings.get();
  out.state = topic->state->find_partition(partition);
  if (out.state == nullptr) {
    out.error = ErrorCode::unknown_topic_or_partition;
  } else if (out.state->leader != node_id_) {
    out.error = ErrorCode::not_leader_or_follower;
  } else if (epoch >= 0 && epoch != out.state->leader_epoch) {
    out.error = epoch < out.state->leader_epoch ? ErrorCode::fenced_leader_epoch
                                                : ErrorCode::unknown_leader_epoch;
  } else if (static_cast<size_t>(partition) >= topic->partitions.size() ||
             !topic->partitions[static_cast<size_t>(partition)]) {
    // Led here by the image but without a log (its creation failed): not served.
    out.error = ErrorCode::not_leader_or_follower;
  } else {
    out.partition = topic->partitions[static_cast<size_t>(partition)].get();
  }
  return out;
}

PartitionLookup PartitionTable::leader(const std::string& topic, int32_t partition,
                                       int32_t current_leader_epoch) const {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return {ErrorCode::unknown_topic_or_partition};
  return lookup(it->second.get(), partition, current_leader_epoch);
}

PartitionLookup PartitionTable::leader(const protocol::Uuid& topic_id, int32_t partition,
                                       int32_t current_leader_epoch) const {
  auto it = by_id_.find(topic_id);
  if (it == by_id_.end()) return {ErrorCode::unknown_topic_id};
  return lookup(it->second, partition, current_leader_epoch);
}

std::shared_ptr<Partition> PartitionTable::local(const std::string& topic,
                                                 int32_t partition) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second->partitions.size())
    return nullptr;
  return it->second->partitions[static_cast<size_t>(partition)];
}

const TopicSettings* PartitionTable::settings(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : it->second->settings.get();
}

const TopicState* PartitionTable::topic(const protocol::Uuid& topic_id) const {
  auto it = by_id_.find(topic_id);
  return it == by_id_.end() ? nullptr : it->second->state.get();
}

}  // namespace kfk::server

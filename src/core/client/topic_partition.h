// A partition of a topic, as the client names it: ordered by topic, then partition, so that
// maps and sorted lists of partitions come out in the order people read them.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <type_traits>

namespace kfk::client {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// The result for `tp` in a response listing topics (`name`) and their partitions
// (`partition_index`); nullptr when the broker left it out.
template <class TopicResults>
auto find_partition_result(const TopicResults& topics, const TopicPartition& tp) {
  using Result = std::remove_reference_t<decltype(topics.front().partitions.front())>;
  Result* found = nullptr;
  for (const auto& t : topics) {
    if (t.name != tp.topic) continue;
    for (const auto& p : t.partitions)
      if (p.partition_index == tp.partition) found = &p;
  }
  return found;
}

// Appends `tp` to a request listing topics (`name`) and their partitions (`partition_index`):
// under the last topic entry when it is tp's topic, so a caller adding a topic's partitions
// together sends each topic once. Returns the partition entry, for the rest of its fields.
template <class TopicEntries>
auto& add_partition_entry(TopicEntries& topics, const TopicPartition& tp) {
  if (topics.empty() || topics.back().name != tp.topic) topics.emplace_back().name = tp.topic;
  auto& p = topics.back().partitions.emplace_back();
  p.partition_index = tp.partition;
  return p;
}

}  // namespace kfk::client

// A partition of a topic, as the client names it: ordered by topic, then partition, so that
// maps and sorted lists of partitions come out in the order people read them.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace kfk::client {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

}  // namespace kfk::client

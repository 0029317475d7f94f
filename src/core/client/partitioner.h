// Choosing a partition for a record, as the Java client does: an explicit partition wins; a
// key picks positive(murmur2(key)) % partitions; records without a key stick to one partition
// until its batch is full, then move on round-robin.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace kfk::client {

// The Java client's murmur2 (32-bit MurmurHash2, seed 0x9747b28c) of `data`.
int32_t murmur2(std::span<const uint8_t> data);
// Clears the sign bit, as the Java client's Utils.toPositive does.
constexpr int32_t to_positive(int32_t value) { return value & 0x7fffffff; }
// The partition for a key among `partitions` (> 0).
int32_t partition_for_key(std::span<const uint8_t> key, int32_t partitions);

// The sticky choice for records without a key, per topic.
class StickyPartitioner {
 public:
  // The current partition for `topic` (starting at a random one).
  int32_t partition(const std::string& topic, int32_t partitions);
  // The current batch for `topic` is full: the next records go to the next partition.
  void next(const std::string& topic);

 private:
  std::map<std::string, int32_t> current_;  // absent: pick a starting point
};

}  // namespace kfk::client

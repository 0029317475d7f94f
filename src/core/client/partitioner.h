// Choosing a partition for a record. An explicit partition always wins; otherwise the
// producer's partitioner decides:
//
//   murmur2_random  (default) the Java client's choice: positive(murmur2(key)) % partitions
//   murmur2         the same (the names are librdkafka's; they differ only without sticky
//                   partitioning, which kfk always does)
//   consistent_random, consistent   librdkafka's: CRC32(key) % partitions; an empty key is
//                   sticky under consistent_random, partition 0 under consistent
//   fnv1a_random, fnv1a   librdkafka's FNV-1a: abs(int32 hash) % partitions
//   random          a random partition per record, keys ignored
//   round_robin     every record to the next partition in turn, keys ignored
//   sticky          keys ignored: every record sticky
//
// Records without a key are sticky (except under random and round_robin), as in the Java
// client and librdkafka: they stay on one partition until its batch is full, so batches are
// large, then move on round-robin.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kfk::client {

// The Java client's murmur2 (32-bit MurmurHash2, seed 0x9747b28c) of `data`.
int32_t murmur2(std::span<const uint8_t> data);
// Clears the sign bit, as the Java client's Utils.toPositive does.
constexpr int32_t to_positive(int32_t value) { return value & 0x7fffffff; }
// The partition for a key among `partitions` (> 0), as the Java client chooses it.
int32_t partition_for_key(std::span<const uint8_t> key, int32_t partitions);
// librdkafka's consistent partitioner: CRC32 (IEEE, as zlib) of the key modulo partitions.
int32_t crc32_partition(std::span<const uint8_t> key, int32_t partitions);
// librdkafka's fnv1a partitioner: 32-bit FNV-1a of the key modulo partitions.
uint32_t fnv1a(std::span<const uint8_t> data);
int32_t fnv1a_partition(std::span<const uint8_t> key, int32_t partitions);

enum class PartitionerKind : uint8_t {
  murmur2_random,
  murmur2,
  consistent_random,
  consistent,
  fnv1a_random,
  fnv1a,
  random,
  round_robin,
  sticky,
};

// "murmur2_random", "consistent-random", "round-robin", ...: librdkafka's names, with '-'
// and '_' alike. nullopt for anything else.
std::optional<PartitionerKind> parse_partitioner(std::string_view name);
std::string_view partitioner_name(PartitionerKind kind);

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

class Partitioner {
 public:
  explicit Partitioner(PartitionerKind kind = PartitionerKind::murmur2_random) : kind_(kind) {}

  // The partition of a record of `topic` (with `partitions` > 0) without an explicit one.
  int32_t partition(const std::string& topic, const std::optional<std::span<const uint8_t>>& key,
                    int32_t partitions);
  // The batch that the last record of `topic` went to is full: a sticky choice moves on.
  void batch_full(const std::string& topic);

  PartitionerKind kind() const { return kind_; }

 private:
  PartitionerKind kind_;
  StickyPartitioner sticky_;
  std::map<std::string, uint32_t> round_robin_;
  std::map<std::string, bool> last_was_sticky_;
};

}  // namespace kfk::client

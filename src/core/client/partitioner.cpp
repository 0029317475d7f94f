#include "core/client/partitioner.h"

#include <zlib.h>

#include <array>
#include <random>

namespace kfk::client {

namespace {

uint32_t random_u31() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return rng() & 0x7fffffffU;
}

struct KindName {
  PartitionerKind kind;
  std::string_view name;
};

constexpr std::array kKindNames{
    KindName{PartitionerKind::murmur2_random, "murmur2_random"},
    KindName{PartitionerKind::murmur2, "murmur2"},
    KindName{PartitionerKind::consistent_random, "consistent_random"},
    KindName{PartitionerKind::consistent, "consistent"},
    KindName{PartitionerKind::fnv1a_random, "fnv1a_random"},
    KindName{PartitionerKind::fnv1a, "fnv1a"},
    KindName{PartitionerKind::random, "random"},
    KindName{PartitionerKind::round_robin, "round_robin"},
    KindName{PartitionerKind::sticky, "sticky"},
};

}  // namespace

int32_t murmur2(std::span<const uint8_t> data) {
  constexpr uint32_t seed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const size_t length = data.size();
  uint32_t h = seed ^ static_cast<uint32_t>(length);
  const size_t blocks = length / 4;
  for (size_t i = 0; i < blocks; ++i) {
    const uint8_t* p = data.data() + i * 4;
    uint32_t k =
        uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint8_t* tail = data.data() + blocks * 4;
  switch (length % 4) {
    case 3:
      h ^= uint32_t{tail[2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{tail[1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t{tail[0]};
      h *= m;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t partition_for_key(std::span<const uint8_t> key, int32_t partitions) {
  return to_positive(murmur2(key)) % partitions;
}

int32_t crc32_partition(std::span<const uint8_t> key, int32_t partitions) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  // zlib takes lengths as uInt: feed large keys in pieces.
  for (size_t done = 0; done < key.size();) {
    const size_t n = std::min<size_t>(key.size() - done, 1U << 30);
    crc = ::crc32(crc, key.data() + done, static_cast<uInt>(n));
    done += n;
  }
  return static_cast<int32_t>(static_cast<uint32_t>(crc) % static_cast<uint32_t>(partitions));
}

uint32_t fnv1a(std::span<const uint8_t> data) {
  uint32_t h = 0x811c9dc5U;
  for (uint8_t b : data) {
    h ^= b;
    h *= 0x01000193U;
  }
  return h;
}

int32_t fnv1a_partition(std::span<const uint8_t> key, int32_t partitions) {
  // librdkafka takes the hash as a signed value and its absolute value.
  const auto h = static_cast<int32_t>(fnv1a(key));
  const int64_t positive = h < 0 ? -static_cast<int64_t>(h) : h;
  return static_cast<int32_t>(positive % partitions);
}

std::optional<PartitionerKind> parse_partitioner(std::string_view name) {
  std::string normal(name);
  for (char& c : normal) {
    if (c == '-') c = '_';
  }
  for (const auto& k : kKindNames) {
    if (k.name == normal) return k.kind;
  }
  return std::nullopt;
}

std::string_view partitioner_name(PartitionerKind kind) {
  for (const auto& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

int32_t StickyPartitioner::partition(const std::string& topic, int32_t partitions) {
  auto it = current_.find(topic);
  if (it == current_.end()) {
    it = current_.emplace(topic, static_cast<int32_t>(random_u31())).first;
  }
  return to_positive(it->second) % partitions;
}

void StickyPartitioner::next(const std::string& topic) {
  auto it = current_.find(topic);
  if (it != current_.end()) {
    it->second = static_cast<int32_t>((static_cast<uint32_t>(it->second) + 1) & 0x7fffffffU);
  }
}

int32_t Partitioner::partition(const std::string& topic,
                               const std::optional<std::span<const uint8_t>>& key,
                               int32_t partitions) {
  // As librdkafka: a record without a key goes to the sticky partition whatever the hashing,
  // and so does an empty key under consistent_random.
  bool sticky = !key || kind_ == PartitionerKind::sticky ||
                (kind_ == PartitionerKind::consistent_random && key->empty());
  int32_t chosen = 0;
  switch (kind_) {
    case PartitionerKind::random:
      sticky = false;
      chosen = static_cast<int32_t>(random_u31() % static_cast<uint32_t>(partitions));
      break;
    case PartitionerKind::round_robin: {
      sticky = false;
      auto it = round_robin_.find(topic);
      if (it == round_robin_.end()) it = round_robin_.emplace(topic, random_u31()).first;
      chosen = static_cast<int32_t>(it->second++ % static_cast<uint32_t>(partitions));
      break;
    }
    default:
      break;
  }
  if (sticky) {
    chosen = sticky_.partition(topic, partitions);
  } else if (key) {
    switch (kind_) {
      case PartitionerKind::murmur2_random:
      case PartitionerKind::murmur2:
        chosen = partition_for_key(*key, partitions);
        break;
      case PartitionerKind::consistent_random:
      case PartitionerKind::consistent:
        chosen = crc32_partition(*key, partitions);
        break;
      case PartitionerKind::fnv1a_random:
      case PartitionerKind::fnv1a:
        chosen = fnv1a_partition(*key, partitions);
        break;
      default:
        break;
    }
  }
  last_was_sticky_[topic] = sticky;
  return chosen;
}

void Partitioner::batch_full(const std::string& topic) {
  auto it = last_was_sticky_.find(topic);
  if (it != last_was_sticky_.end() && it->second) sticky_.next(topic);
}

}  // namespace kfk::client

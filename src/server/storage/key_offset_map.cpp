#include "server/storage/key_offset_map.h"

#include <algorithm>
#include <cstring>

namespace kfk::storage {

namespace {

constexpr uint64_t kC1 = 0x87c37b91114253d5ULL;
constexpr uint64_t kC2 = 0x4cf5ad432745937fULL;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// MurmurHash3 x64 128 with seed 0.
KeyHash hash_key(std::span<const uint8_t> key) {
  const uint8_t* data = key.data();
  const size_t len = key.size();
  const size_t blocks = len / 16;
  uint64_t h1 = 0;
  uint64_t h2 = 0;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = load_le64(data + i * 16);
    uint64_t k2 = load_le64(data + i * 16 + 8);
    k1 *= kC1;
    k1 = rotl(k1, 31);
    k1 *= kC2;
    h1 ^= k1;
    h1 = rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= kC2;
    k2 = rotl(k2, 33);
    k2 *= kC1;
    h2 ^= k2;
    h2 = rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = data + blocks * 16;
  uint64_t k1 = 0;
  uint64_t k2 = 0;
  const size_t rest = len & 15;
  for (size_t i = rest; i > 8; --i) k2 ^= uint64_t{tail[i - 1]} << ((i - 9) * 8);
  if (rest > 8) {
    k2 *= kC2;
    k2 = rotl(k2, 33);
    k2 *= kC1;
    h2 ^= k2;
  }
  for (size_t i = std::min<size_t>(rest, 8); i > 0; --i)
    k1 ^= uint64_t{tail[i - 1]} << ((i - 1) * 8);
  if (rest > 0) {
    k1 *= kC1;
    k1 = rotl(k1, 31);
    k1 *= kC2;
    h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

KeyOffsetMap::KeyOffsetMap(size_t slots, double load_factor)
    : slots_(std::max<size_t>(slots, 1)),
      max_entries_(std::max<size_t>(1, static_cast<size_t>(static_cast<double>(slots_.size()) *
                                                           std::clamp(load_factor, 0.01, 1.0)))) {
  max_entries_ = std::min(max_entries_, slots_.size());
}

size_t KeyOffsetMap::slots_for(size_t memory_bytes, double load_factor, uint64_t expected_keys) {
  const size_t by_memory = std::max<size_t>(memory_bytes / kSlotBytes, 1);
  const double wanted = static_cast<double>(expected_keys) / std::clamp(load_factor, 0.01, 1.0);
  const size_t by_keys = static_cast<size_t>(std::min(wanted + 16, 1e18));
  return std::min(by_memory, by_keys);
}

size_t KeyOffsetMap::home(const KeyHash& key) const {
  // Multiply-shift maps the hash onto [0, slots) without a division.
  return static_cast<size_t>((static_cast<unsigned __int128>(key.low) * slots_.size()) >> 64);
}

bool KeyOffsetMap::put(const KeyHash& key, int64_t offset) {
  size_t i = home(key);
  for (size_t probes = 0; probes < slots_.size(); ++probes) {
    Slot& s = slots_[i];
    if (s.offset < 0) {
      if (full()) return false;
      s.hash = key;
      s.offset = offset;
      ++size_;
      return true;
    }
    if (s.hash == key) {
      s.offset = std::max(s.offset, offset);
      return true;
    }
    if (++i == slots_.size()) i = 0;
  }
  return false;  // every slot taken (load factor 1)
}

int64_t KeyOffsetMap::get(const KeyHash& key) const {
  size_t i = home(key);
  // An empty slot ends the probe; only a load factor of 1 can leave none.
  for (size_t probes = 0; probes < slots_.size(); ++probes) {
    const Slot& s = slots_[i];
    if (s.offset < 0) return -1;
    if (s.hash == key) return s.offset;
    if (++i == slots_.size()) i = 0;
  }
  return -1;
}

}  // namespace kfk::storage

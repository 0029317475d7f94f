// The log cleaner's map from record key to the offset of its latest record, in a fixed amount
// of memory (log.cleaner.dedupe.buffer.size).
//
// Keys are not stored: each slot holds a 128-bit hash of the key (MurmurHash3 x64 128) and an
// offset, 24 bytes, in an open-addressing table with linear probing. Two keys sharing a
// 128-bit hash would make the cleaner drop the older one's latest record; at the sizes a
// broker sees the chance is far below that of a disk error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kfk::storage {

struct KeyHash {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const KeyHash&) const = default;
};

KeyHash hash_key(std::span<const uint8_t> key);

class KeyOffsetMap {
 public:
  static constexpr size_t kSlotBytes = 24;

  // A table of `slots` slots, of which at most load_factor are filled.
  KeyOffsetMap(size_t slots, double load_factor);
  // The slot count for `memory_bytes`, capped at what `expected_keys` need: the cleaner sizes
  // the table by the dirty section so that small logs do not take the whole buffer.
  static size_t slots_for(size_t memory_bytes, double load_factor, uint64_t expected_keys);

  // Records offset as the latest for key. False when the map is full and the key is new.
  bool put(const KeyHash& key, int64_t offset);
  bool put(std::span<const uint8_t> key, int64_t offset) { return put(hash_key(key), offset); }
  // The latest offset of key; -1 when absent.
  int64_t get(const KeyHash& key) const;
  int64_t get(std::span<const uint8_t> key) const { return get(hash_key(key)); }

  size_t size() const { return size_; }
  size_t max_entries() const { return max_entries_; }
  size_t slots() const { return slots_.size(); }
  bool full() const { return size_ >= max_entries_; }
  size_t memory_bytes() const { return slots_.size() * kSlotBytes; }

 private:
  struct Slot {
    KeyHash hash;
    int64_t offset = -1;  // -1: empty
  };
  size_t home(const KeyHash& key) const;

  std::vector<Slot> slots_;
  size_t max_entries_;
  size_t size_ = 0;
};

}  // namespace kfk::storage

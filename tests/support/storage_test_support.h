// Helpers for the storage unit tests (tests/unit/storage_*_test.cpp): a temporary directory
// and producer-style batches. Header-only; nothing in the broker includes it.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "core/record/record_batch.h"

namespace kfk::storage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::filesystem::path base = std::filesystem::temp_directory_path();
    std::string pattern = (base / "kfk-storage-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    path_ = made ? std::filesystem::path(made) : base / "kfk-storage-fallback";
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct BatchSpec {
  int records = 1;
  int64_t timestamp = 1000;    // of the first record
  int64_t timestamp_step = 1;  // added per record
  size_t value_bytes = 16;
  uint32_t seed = 1;        // value contents
  int64_t base_offset = 0;  // producers send 0
  int64_t producer_id = record::kNoProducerId;
  int16_t producer_epoch = record::kNoProducerEpoch;
  int32_t base_sequence = record::kNoSequence;
  bool transactional = false;
  record::Compression compression = record::Compression::none;
};

inline record::Bytes make_batch(const BatchSpec& spec) {
  record::BatchOptions o;
  o.base_offset = spec.base_offset;
  o.producer_id = spec.producer_id;
  o.producer_epoch = spec.producer_epoch;
  o.base_sequence = spec.base_sequence;
  o.transactional = spec.transactional;
  o.compression = spec.compression;
  record::BatchBuilder builder(o);
  std::mt19937 rng(spec.seed);
  for (int i = 0; i < spec.records; ++i) {
    record::Bytes key = {static_cast<uint8_t>('k'), static_cast<uint8_t>(i & 0xff)};
    record::Bytes value(spec.value_bytes);
    for (auto& b : value) b = static_cast<uint8_t>(rng());
    builder.append(spec.timestamp + i * spec.timestamp_step, std::span<const uint8_t>(key),
                   std::span<const uint8_t>(value));
  }
  return builder.build();
}

inline record::Bytes make_batch(int records, int64_t timestamp = 1000, size_t value_bytes = 16) {
  BatchSpec spec;
  spec.records = records;
  spec.timestamp = timestamp;
  spec.value_bytes = value_bytes;
  return make_batch(spec);
}

}  // namespace kfk::storage::testing

// Offset and time indexes, checked against ordered maps.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <random>

#include "core/util/big_endian.h"
#include "server/storage/offset_index.h"
#include "server/storage/time_index.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::storage::testing::TempDir;

namespace {

// The map's floor, as the index promises it.
template <class Map, class Key>
auto floor_entry(const Map& m, Key k) -> const typename Map::value_type* {
  auto it = m.upper_bound(k);
  if (it == m.begin()) return nullptr;
  return &*std::prev(it);
}

uint64_t file_length(const std::filesystem::path& p) { return std::filesystem::file_size(p); }

}  // namespace

TEST_CASE("storage: offset index random lookups match a map") {
  TempDir dir;
  const int64_t base = 1000;
  OffsetIndex index(dir.path() / "00000000000000001000.index", base);
  REQUIRE(index.open(8 * 4096, true).ok());
  CHECK(index.file().max_entries() == 4096);
  CHECK(file_length(index.file().path()) == 8 * 4096);

  std::mt19937_64 rng(42);
  std::map<int64_t, uint32_t> oracle;
  int64_t offset = base;
  uint32_t position = 0;
  for (int i = 0; i < 3000; ++i) {
    offset += 1 + static_cast<int64_t>(rng() % 50);
    position += 1 + static_cast<uint32_t>(rng() % 5000);
    REQUIRE(index.append(offset, position).ok());
    oracle[offset] = position;
  }
  for (int i = 0; i < 20000; ++i) {
    int64_t target =
        base - 10 + static_cast<int64_t>(rng() % static_cast<uint64_t>(offset - base + 100));
    OffsetPosition got = index.lookup(target);
    const auto* want = floor_entry(oracle, target);
    if (want == nullptr) {
      CHECK(got == OffsetPosition{base, 0});
    } else {
      CHECK(got.offset == want->first);
      CHECK(got.position == want->second);
    }
  }
  // By position: the map inverted (positions increase with offsets).
  std::map<uint32_t, int64_t> by_position;
  for (auto [o, p] : oracle) by_position[p] = o;
  for (int i = 0; i < 5000; ++i) {
    uint32_t target = static_cast<uint32_t>(rng() % (position + 100));
    auto got = index.floor_by_position(target);
    const auto* want = floor_entry(by_position, target);
    REQUIRE(got.has_value() == (want != nullptr));
    if (want) CHECK(got->offset == want->second);
  }
}

TEST_CASE("storage: offset index rejects out-of-order entries and fills up") {
  TempDir dir;
  OffsetIndex index(dir.path() / "x.index", 100);
  REQUIRE(index.open(8 * 3, true).ok());
  CHECK(index.append(99, 0).kind == StorageErrorKind::invalid_index_entry);  // below base
  REQUIRE(index.append(105, 10).ok());
  CHECK(index.append(105, 20).kind == StorageErrorKind::invalid_index_entry);
  CHECK(index.append(106, 10).kind == StorageErrorKind::invalid_index_entry);
  CHECK(index.append(100 + int64_t{INT32_MAX} + 1, 30).kind ==
        StorageErrorKind::invalid_index_entry);
  REQUIRE(index.append(110, 20).ok());
  REQUIRE(index.append(120, 30).ok());
  CHECK(index.full());
  CHECK(index.append(130, 40).kind == StorageErrorKind::index_full);
}

TEST_CASE("storage: offset index truncate, trim and reopen") {
  TempDir dir;
  auto path = dir.path() / "00000000000000000000.index";
  {
    OffsetIndex index(path, 0);
    REQUIRE(index.open(1 << 16, true).ok());
    for (int i = 1; i <= 100; ++i)
      REQUIRE(index.append(i * 10, static_cast<uint32_t>(i * 100)).ok());
    REQUIRE(index.truncate_to(505).ok());  // keeps 10..500
    CHECK(index.entries() == 50);
    CHECK(index.last_entry()->offset == 500);
    REQUIRE(index.truncate_to(500).ok());  // an entry at exactly the offset goes
    CHECK(index.entries() == 49);
    REQUIRE(index.append(495, 4950).ok());
    REQUIRE(index.file().trim().ok());
    REQUIRE(index.file().flush().ok());
    CHECK(file_length(path) == 50 * 8);
  }
  OffsetIndex again(path, 0);
  REQUIRE(again.open(0, false).ok());
  CHECK(again.entries() == 50);
  CHECK(again.lookup(496) == OffsetPosition{495, 4950});
  CHECK(again.sanity_check(10000).ok());
  CHECK(again.sanity_check(4950).kind == StorageErrorKind::corrupt_index);  // past the log end
  // Truncating a trimmed index keeps its length equal to its entries.
  REQUIRE(again.truncate_to(100).ok());
  CHECK(again.entries() == 9);
  REQUIRE(again.file().flush().ok());
  CHECK(file_length(path) == 9 * 8);
}

TEST_CASE("storage: index entries stored through the mapping are in the file without a flush") {
  TempDir dir;
  auto path = dir.path() / "00000000000000000000.index";
  constexpr size_t kMax = 4 << 20;
  OffsetIndex index(path, 0);
  REQUIRE(index.open(kMax, true).ok());
  for (int i = 1; i <= 10000; ++i) REQUIRE(index.append(i, static_cast<uint32_t>(i * 10)).ok());
  // What a process killed now leaves: the page cache holds the entries at their places.
  auto read_entry = [&](size_t i) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(i * 8));
    uint8_t e[8] = {};
    in.read(reinterpret_cast<char*>(e), 8);
    return OffsetPosition{kfk::load_be<uint32_t>(e), kfk::load_be<uint32_t>(e + 4)};
  };
  CHECK(file_length(path) == kMax);
  CHECK(read_entry(0) == OffsetPosition{1, 10});
  CHECK(read_entry(9999) == OffsetPosition{10000, 100000});
  // Blocks are reserved a chunk ahead of the entries, not for the whole preallocation.
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
  CHECK(allocated >= 10000 * 8);
  CHECK(allocated < kMax / 2);
  // A truncation frees the blocks past the kept entries; later entries land again.
  REQUIRE(index.truncate_to(5001).ok());
  for (int i = 5001; i <= 20000; ++i) REQUIRE(index.append(i, static_cast<uint32_t>(i * 10)).ok());
  CHECK(read_entry(4999) == OffsetPosition{5000, 50000});
  CHECK(read_entry(5000) == OffsetPosition{5001, 50010});
  CHECK(read_entry(19999) == OffsetPosition{20000, 200000});
  CHECK(index.lookup(12345) == OffsetPosition{12345, 123450});
  REQUIRE(index.file().trim().ok());
  CHECK(file_length(path) == 20000 * 8);
}

TEST_CASE("storage: offset index sanity checks catch damage") {
  TempDir dir;
  auto path = dir.path() / "00000000000000000050.index";
  SUBCASE("length not a multiple of the entry") {
    std::ofstream(path, std::ios::binary) << std::string(13, '\1');
    OffsetIndex index(path, 50);
    CHECK(index.open(0, false).kind == StorageErrorKind::corrupt_index);
  }
  SUBCASE("preallocated zeros after a crash") {
    {
      OffsetIndex index(path, 50);
      REQUIRE(index.open(8 * 100, true).ok());
      REQUIRE(index.append(60, 100).ok());
      REQUIRE(index.append(70, 200).ok());
    }  // closed without trimming: 100 entries on disk, 98 of them zero
    OffsetIndex index(path, 50);
    REQUIRE(index.open(0, false).ok());
    CHECK(index.entries() == 100);
    CHECK(index.sanity_check(1000).kind == StorageErrorKind::corrupt_index);
  }
}

TEST_CASE("storage: time index lookups match a map") {
  TempDir dir;
  const int64_t base = 500;
  TimeIndex index(dir.path() / "t.timeindex", base);
  REQUIRE(index.open(12 * 5000, true).ok());
  std::mt19937_64 rng(7);
  std::map<int64_t, int64_t> oracle;  // timestamp -> offset
  int64_t ts = 1'700'000'000'000;
  int64_t offset = base;
  for (int i = 0; i < 4000; ++i) {
    offset += static_cast<int64_t>(rng() % 20);
    int64_t candidate = ts + static_cast<int64_t>(rng() % 100) - 30;  // sometimes not larger
    REQUIRE(index.maybe_append(std::max(candidate, ts), offset).ok());
    if (oracle.empty() || std::max(candidate, ts) > oracle.rbegin()->first)
      oracle[std::max(candidate, ts)] = offset;
    ts = std::max(candidate, ts);
  }
  CHECK(index.entries() == oracle.size());
  for (int i = 0; i < 20000; ++i) {
    int64_t target =
        1'700'000'000'000 - 100 +
        static_cast<int64_t>(rng() % static_cast<uint64_t>(ts - 1'700'000'000'000 + 200));
    TimestampOffset got = index.lookup(target);
    const auto* want = floor_entry(oracle, target);
    if (!want) {
      CHECK(got == TimestampOffset{-1, base});
    } else {
      CHECK(got.timestamp == want->first);
      CHECK(got.offset == want->second);
    }
  }
  CHECK(index.maybe_append(ts - 1, offset).kind == StorageErrorKind::invalid_index_entry);
  CHECK(index.maybe_append(ts + 1, offset - 1).kind == StorageErrorKind::invalid_index_entry);
}

TEST_CASE("storage: time index keeps its last slot for the final entry") {
  TempDir dir;
  TimeIndex index(dir.path() / "t.timeindex", 0);
  REQUIRE(index.open(12 * 3, true).ok());
  REQUIRE(index.maybe_append(10, 1).ok());
  REQUIRE(index.maybe_append(20, 2).ok());
  CHECK(index.full());
  CHECK(index.maybe_append(30, 3).kind == StorageErrorKind::index_full);
  REQUIRE(index.maybe_append(30, 3, true).ok());
  CHECK(index.entries() == 3);
  CHECK(index.maybe_append(40, 4, true).kind == StorageErrorKind::index_full);
  // An equal timestamp adds nothing.
  CHECK(index.maybe_append(30, 5, true).ok());
  CHECK(index.entries() == 3);
  REQUIRE(index.truncate_to(2).ok());
  CHECK(index.entries() == 1);
  CHECK(index.sanity_check().ok());
}

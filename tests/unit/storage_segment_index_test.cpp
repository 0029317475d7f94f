// The index template itself, for each entry type: the on-disk bytes of an entry, and
// append, lookup, truncate and reopen checked against an ordered map.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <type_traits>
#include <vector>

#include "server/storage/offset_index.h"
#include "server/storage/segment_index.h"
#include "server/storage/time_index.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::storage::testing::TempDir;

namespace {

// The template with its protected writers opened up, as an entry type's own index class
// would use them.
template <class Entry>
struct TestIndex : SegmentIndex<Entry> {
  using SegmentIndex<Entry>::SegmentIndex;
  using SegmentIndex<Entry>::push;
  using SegmentIndex<Entry>::sanity_check_entries;
  using SegmentIndex<Entry>::check_relative_offset;
};

// The i-th of a strictly increasing run of entries, offsets from `base` on.
template <class Entry>
typename Entry::Value nth_entry(int64_t base, int64_t i) {
  if constexpr (std::is_same_v<Entry, OffsetIndexEntry>)
    return OffsetPosition{base + 1 + i * 3, static_cast<uint32_t>(100 + i * 4096)};
  else
    return TimestampOffset{1'700'000'000'000 + i * 7, base + i * 3};
}

std::vector<uint8_t> file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("storage: index entry codecs keep Kafka's byte layouts") {
  uint8_t bytes[12] = {};
  OffsetIndexEntry::encode(OffsetPosition{1000 + 0x01020304, 0x0a0b0c0d}, 1000, bytes);
  CHECK(std::vector<uint8_t>(bytes, bytes + 8) ==
        std::vector<uint8_t>{0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d});
  CHECK(OffsetIndexEntry::decode(bytes, 1000) == OffsetPosition{1000 + 0x01020304, 0x0a0b0c0d});

  TimeIndexEntry::encode(TimestampOffset{0x0102030405060708, 7 + 0x0a0b0c0d}, 7, bytes);
  CHECK(std::vector<uint8_t>(bytes, bytes + 12) == std::vector<uint8_t>{0x01, 0x02, 0x03, 0x04,
                                                                        0x05, 0x06, 0x07, 0x08,
                                                                        0x0a, 0x0b, 0x0c, 0x0d});
  CHECK(TimeIndexEntry::decode(bytes, 7) == TimestampOffset{0x0102030405060708, 7 + 0x0a0b0c0d});

  // The order rules, and what a tool prints when they are broken.
  CHECK(OffsetIndexEntry::follows({10, 100}, {11, 101}));
  CHECK_FALSE(OffsetIndexEntry::follows({10, 100}, {10, 101}));
  CHECK(OffsetIndexEntry::disorder({10, 100}, {10, 101}) == "offset 10 after 10");
  CHECK(OffsetIndexEntry::disorder({10, 100}, {11, 100}) == "position 100 after 100");
  CHECK(TimeIndexEntry::follows({100, 10}, {101, 10}));  // offsets may repeat
  CHECK(TimeIndexEntry::disorder({100, 10}, {101, 9}) == "offset 9 after 10");
  CHECK(TimeIndexEntry::disorder({100, 10}, {100, 11}) == "timestamp 100 after 100");
  CHECK(TimeIndexEntry::text({100, 10}) == "(100, 10)");
}

TEST_CASE_TEMPLATE("storage: segment index append, lookup, truncate and reopen", Entry,
                   OffsetIndexEntry, TimeIndexEntry) {
  using Value = typename Entry::Value;
  TempDir dir;
  const int64_t base = 5000;
  const auto path = dir.path() / "00000000000000005000.idx";
  constexpr size_t kCount = 1000;
  std::map<int64_t, Value> oracle;  // key -> entry
  {
    TestIndex<Entry> index(path, base);
    REQUIRE(index.open(Entry::kSize * 4096, true).ok());
    CHECK(index.file().max_entries() == 4096);
    CHECK(index.lookup(0) == Entry::before_first(base));
    CHECK_FALSE(index.last_entry().has_value());
    for (size_t i = 0; i < kCount; ++i) {
      const Value v = nth_entry<Entry>(base, static_cast<int64_t>(i));
      REQUIRE(index.check_relative_offset(Entry::offset(v)).ok());
      REQUIRE(index.push(v).ok());
      oracle[Entry::key(v)] = v;
    }
    CHECK(index.entries() == kCount);
    CHECK(index.entry(17) == nth_entry<Entry>(base, 17));
    CHECK(index.sanity_check_entries().ok());
    CHECK(index.check_relative_offset(base - 1).kind == StorageErrorKind::invalid_index_entry);
    CHECK(index.check_relative_offset(base + int64_t{INT32_MAX} + 1).kind ==
          StorageErrorKind::invalid_index_entry);

    // Every key around the entries finds the map's floor.
    std::mt19937_64 rng(13);
    const int64_t lo = Entry::key(nth_entry<Entry>(base, 0)) - 10;
    const int64_t hi = Entry::key(nth_entry<Entry>(base, kCount - 1)) + 10;
    for (int n = 0; n < 5000; ++n) {
      const int64_t key = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
      auto it = oracle.upper_bound(key);
      const Value want = it == oracle.begin() ? Entry::before_first(base) : std::prev(it)->second;
      CHECK(index.lookup(key) == want);
    }

    // Cutting at an entry's offset drops it and everything after.
    REQUIRE(index.truncate_to(Entry::offset(nth_entry<Entry>(base, 600))).ok());
    CHECK(index.entries() == 600);
    CHECK(index.last_entry() == nth_entry<Entry>(base, 599));
    REQUIRE(index.file().trim().ok());
    REQUIRE(index.file().flush().ok());
  }
  // The file holds exactly the kept entries, each as the codec encodes it.
  const std::vector<uint8_t> bytes = file_bytes(path);
  REQUIRE(bytes.size() == 600 * Entry::kSize);
  std::array<uint8_t, Entry::kSize> want{};
  Entry::encode(nth_entry<Entry>(base, 599), base, want.data());
  CHECK(std::vector<uint8_t>(bytes.end() - Entry::kSize, bytes.end()) ==
        std::vector<uint8_t>(want.begin(), want.end()));

  TestIndex<Entry> again(path, base);
  REQUIRE(again.open(0, false).ok());
  CHECK(again.entries() == 600);
  CHECK(again.entry(0) == nth_entry<Entry>(base, 0));
  CHECK(again.lookup(Entry::key(nth_entry<Entry>(base, 599)) + 1) == nth_entry<Entry>(base, 599));
  CHECK(again.sanity_check_entries().ok());
  REQUIRE(again.truncate_all().ok());
  CHECK(again.entries() == 0);
  REQUIRE(again.file().flush().ok());
  CHECK(std::filesystem::file_size(path) == 0);
}

TEST_CASE_TEMPLATE("storage: segment index sanity check names the entry type's corruption", Entry,
                   OffsetIndexEntry, TimeIndexEntry) {
  TempDir dir;
  const auto path = dir.path() / "00000000000000000100.idx";
  // Two entries, the second a copy of the first: out of order for both formats.
  std::vector<uint8_t> bytes(2 * Entry::kSize);
  Entry::encode(nth_entry<Entry>(100, 1), 100, bytes.data());
  Entry::encode(nth_entry<Entry>(100, 1), 100, bytes.data() + Entry::kSize);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  TestIndex<Entry> index(path, 100);
  REQUIRE(index.open(0, false).ok());
  const StorageError e = index.sanity_check_entries();
  CHECK(e.kind == Entry::kCorruptKind);
  CHECK(e.detail.find("does not follow the first") != std::string::npos);
  // An entry below the base offset (a negative relative offset).
  const auto below = dir.path() / "00000000000000000100.below";
  Entry::encode(nth_entry<Entry>(90, 0), 100, bytes.data());
  std::ofstream(below, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), Entry::kSize);
  TestIndex<Entry> wrong(below, 100);
  REQUIRE(wrong.open(0, false).ok());
  CHECK(wrong.entry(0) == nth_entry<Entry>(90, 0));
  CHECK(wrong.sanity_check_entries().kind == Entry::kCorruptKind);
}

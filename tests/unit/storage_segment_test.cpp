// Segments: append, read by offset and time, truncate, recover, reload.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "server/storage/segment.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::record::BatchView;
using kfk::record::Bytes;
using kfk::storage::testing::BatchSpec;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;

namespace {

BatchInfo info_of(const Bytes& batch, uint64_t position = 0) {
  BatchView v(batch);
  BatchInfo info;
  info.position = position;
  info.size = static_cast<uint32_t>(batch.size());
  info.base_offset = v.base_offset();
  info.last_offset = v.last_offset();
  info.max_timestamp = v.max_timestamp();
  info.records_count = v.records_count();
  return info;
}

struct Written {
  int64_t base = 0, last = 0;
  uint64_t position = 0;
  uint32_t size = 0;
  int64_t first_ts = 0;
  int records = 0;
};

// Appends `n` batches of 1..5 records starting at `offset`, one append each.
std::vector<Written> fill(Segment& seg, int64_t offset, int n, uint32_t seed, int64_t ts = 10'000) {
  std::mt19937 rng(seed);
  std::vector<Written> out;
  for (int i = 0; i < n; ++i) {
    BatchSpec spec;
    spec.records = 1 + static_cast<int>(rng() % 5);
    spec.base_offset = offset;
    spec.timestamp = ts + static_cast<int64_t>(rng() % 50);
    spec.value_bytes = 20 + rng() % 300;
    spec.seed = rng();
    Bytes b = make_batch(spec);
    BatchInfo info = info_of(b);
    REQUIRE(seg.append(b, std::span(&info, 1)).ok());
    out.push_back({offset, offset + spec.records - 1, seg.size() - b.size(),
                   static_cast<uint32_t>(b.size()), spec.timestamp, spec.records});
    offset += spec.records;
    ts += 7;
  }
  return out;
}

SegmentOptions small_index(uint32_t interval, size_t index_bytes = 1 << 16) {
  SegmentOptions o;
  o.index_interval_bytes = interval;
  o.index_max_bytes = index_bytes;
  return o;
}

}  // namespace

TEST_CASE("storage: segment append, find and read whole batches") {
  TempDir dir;
  auto seg = Segment::create(dir.path(), 100, small_index(500), 0);
  REQUIRE(seg);
  Segment& s = **seg;
  CHECK(std::filesystem::exists(dir.path() / "00000000000000000100.log"));
  CHECK(std::filesystem::exists(dir.path() / "00000000000000000100.index"));
  CHECK(std::filesystem::exists(dir.path() / "00000000000000000100.timeindex"));
  auto written = fill(s, 100, 200, 3);
  CHECK(s.next_offset() == written.back().last + 1);
  CHECK(s.offset_index().entries() > 10);

  for (const Written& w : written) {
    for (int64_t o = w.base; o <= w.last; ++o) {
      auto b = s.find_batch(o, s.size());
      REQUIRE(b);
      REQUIRE(*b);
      CHECK((*b)->position == w.position);
      CHECK((*b)->base_offset == w.base);
    }
  }
  CHECK(!*s.find_batch(s.next_offset(), s.size()));

  // A read of N bytes from a batch returns whole batches only, never more than asked unless
  // the first batch alone is larger.
  std::mt19937 rng(9);
  for (int i = 0; i < 500; ++i) {
    size_t from = rng() % written.size();
    size_t max_bytes = rng() % 5000;
    auto slice = s.read(written[from].base, max_bytes, true, s.size());
    REQUIRE(slice);
    REQUIRE(*slice);
    uint64_t expect_end = written[from].position + written[from].size;
    int64_t expect_last = written[from].last;
    for (size_t j = from + 1; j < written.size(); ++j) {
      if (written[j].position + written[j].size - written[from].position > max_bytes) break;
      expect_end = written[j].position + written[j].size;
      expect_last = written[j].last;
    }
    CHECK((*slice)->position == written[from].position);
    CHECK((*slice)->position + (*slice)->length == expect_end);
    CHECK((*slice)->first_offset == written[from].base);
    CHECK((*slice)->last_offset == expect_last);
  }
  // Without min_one_batch a batch too large gives an empty slice.
  auto none = s.read(written[0].base, 10, false, s.size());
  REQUIRE(none);
  REQUIRE(*none);
  CHECK((*none)->length == 0);
  // max_position bounds the read at a batch boundary.
  auto bounded = s.read(written[0].base, 1 << 20, true, written[5].position);
  REQUIRE(bounded);
  CHECK((*bounded)->length == written[5].position);
  CHECK((*bounded)->last_offset == written[4].last);

  std::vector<uint8_t> copy;
  REQUIRE((*bounded)->read_into(copy).ok());
  CHECK(copy.size() == written[5].position);
  CHECK(BatchView(std::span(copy).subspan(0, written[0].size)).validate().ok());
}

TEST_CASE("storage: segment finds offsets by timestamp") {
  TempDir dir;
  auto seg = Segment::create(dir.path(), 0, small_index(300), 0);
  REQUIRE(seg);
  Segment& s = **seg;
  // Timestamps go up and down between batches; records in a batch go up by 1.
  std::mt19937 rng(5);
  struct Rec {
    int64_t offset, ts;
  };
  std::vector<std::vector<Rec>> batches;
  int64_t offset = 0;
  for (int i = 0; i < 150; ++i) {
    BatchSpec spec;
    spec.records = 1 + static_cast<int>(rng() % 4);
    spec.base_offset = offset;
    spec.timestamp = 1000 + static_cast<int64_t>(rng() % 2000);
    spec.timestamp_step = static_cast<int64_t>(rng() % 3) - 1;  // records not ordered by time
    spec.value_bytes = 50;
    Bytes b = make_batch(spec);
    BatchInfo info = info_of(b);
    REQUIRE(s.append(b, std::span(&info, 1)).ok());
    std::vector<Rec> recs;
    for (int r = 0; r < spec.records; ++r)
      recs.push_back({offset + r, spec.timestamp + r * spec.timestamp_step});
    batches.push_back(recs);
    offset += spec.records;
  }
  for (int64_t target = 900; target <= 3100; target += 7) {
    for (int64_t start : {int64_t{0}, int64_t{100}}) {
      // Kafka's answer: the first batch (in offset order) whose max timestamp reaches the
      // target, then the first record in it that does.
      std::optional<Rec> want;
      for (const auto& batch : batches) {
        int64_t max_ts = -1;
        for (const Rec& r : batch) max_ts = std::max(max_ts, r.ts);
        if (max_ts < target || batch.back().offset < start) continue;
        for (const Rec& r : batch)
          if (r.ts >= target && r.offset >= start) {
            want = r;
            break;
          }
        if (want) break;
      }
      auto got = s.find_offset_by_timestamp(target, start);
      REQUIRE(got);
      REQUIRE(got->has_value() == want.has_value());
      if (want) {
        CHECK((*got)->offset == want->offset);
        CHECK((*got)->timestamp == want->ts);
      }
    }
  }
}

TEST_CASE("storage: segment truncate_to removes whole batches and index entries") {
  TempDir dir;
  auto seg = Segment::create(dir.path(), 0, small_index(0), 0);
  REQUIRE(seg);
  Segment& s = **seg;
  auto written = fill(s, 0, 50, 11);
  const Written& cut = written[30];
  int64_t target = cut.base + (cut.last - cut.base) / 2 + (cut.last > cut.base ? 1 : 0);
  auto removed = s.truncate_to(target);
  REQUIRE(removed);
  CHECK(*removed == written.back().position + written.back().size - cut.position);
  CHECK(s.size() == cut.position);
  CHECK(s.next_offset() == written[29].last + 1);
  CHECK(s.offset_index().last_entry()->offset == written[29].last);
  int64_t max_ts = -1;
  for (int i = 0; i < 30; ++i)
    max_ts = std::max(max_ts, written[i].first_ts + written[i].records - 1);
  CHECK(s.max_timestamp() == max_ts);
  CHECK(*s.truncate_to(s.next_offset()) == 0);
  // Appending continues at the cut.
  auto more = fill(s, s.next_offset(), 5, 12);
  CHECK(more.front().position == cut.position);
}

TEST_CASE("storage: segment recovery rebuilds the same indexes and a reload finds the end") {
  TempDir dir;
  std::vector<OffsetPosition> offset_entries;
  std::vector<TimestampOffset> time_entries;
  int64_t next = 0, max_ts = 0, max_ts_offset = 0;
  {
    auto seg = Segment::create(dir.path(), 0, small_index(700), 0);
    REQUIRE(seg);
    fill(**seg, 0, 300, 21);
    REQUIRE((*seg)->make_inactive().ok());
    for (size_t i = 0; i < (*seg)->offset_index().entries(); ++i)
      offset_entries.push_back((*seg)->offset_index().entry(i));
    for (size_t i = 0; i < (*seg)->time_index().entries(); ++i)
      time_entries.push_back((*seg)->time_index().entry(i));
    next = (*seg)->next_offset();
    max_ts = (*seg)->max_timestamp();
    max_ts_offset = (*seg)->offset_of_max_timestamp();
    REQUIRE((*seg)->flush().ok());
    REQUIRE((*seg)->close().ok());
  }
  SUBCASE("load trusts the indexes") {
    auto seg = Segment::open(dir.path(), 0, small_index(700), 0);
    REQUIRE(seg);
    REQUIRE((*seg)->load().ok());
    CHECK((*seg)->next_offset() == next);
    CHECK((*seg)->max_timestamp() == max_ts);
    CHECK((*seg)->offset_of_max_timestamp() == max_ts_offset);
    CHECK((*seg)->offset_index().entries() == offset_entries.size());
  }
  SUBCASE("recover rebuilds them") {
    auto seg = Segment::open(dir.path(), 0, small_index(700), 0);
    REQUIRE(seg);
    auto rec = (*seg)->recover();
    REQUIRE(rec);
    CHECK(rec->bytes_truncated == 0);
    CHECK(rec->batches == 300);
    REQUIRE((*seg)->make_inactive().ok());
    REQUIRE((*seg)->offset_index().entries() == offset_entries.size());
    for (size_t i = 0; i < offset_entries.size(); ++i)
      CHECK((*seg)->offset_index().entry(i) == offset_entries[i]);
    REQUIRE((*seg)->time_index().entries() == time_entries.size());
    for (size_t i = 0; i < time_entries.size(); ++i)
      CHECK((*seg)->time_index().entry(i) == time_entries[i]);
    CHECK((*seg)->next_offset() == next);
    CHECK((*seg)->max_timestamp() == max_ts);
  }
}

TEST_CASE("storage: segment index full is reported for rolling") {
  TempDir dir;
  // Room for 4 offset entries and 3 time entries (one kept for the final entry).
  auto seg = Segment::create(dir.path(), 0, small_index(0, 36), 0);
  REQUIRE(seg);
  CHECK(!(*seg)->index_full());
  int64_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    BatchSpec spec;
    spec.base_offset = offset++;
    spec.timestamp = 100 + i;
    Bytes b = make_batch(spec);
    BatchInfo info = info_of(b);
    REQUIRE((*seg)->append(b, std::span(&info, 1)).ok());
  }
  CHECK((*seg)->time_index().entries() == 2);
  CHECK((*seg)->index_full());
}

TEST_CASE("storage: an inactive segment's time index ends with its largest timestamp") {
  TempDir dir;
  // No index entries while appending (the interval is never passed).
  auto seg = Segment::create(dir.path(), 0, small_index(1 << 20), 0);
  REQUIRE(seg);
  int64_t offset = 0;
  for (int64_t ts : {500, 900, 700}) {
    BatchSpec spec;
    spec.base_offset = offset++;
    spec.timestamp = ts;
    Bytes b = make_batch(spec);
    BatchInfo info = info_of(b);
    REQUIRE((*seg)->append(b, std::span(&info, 1)).ok());
  }
  CHECK((*seg)->time_index().entries() == 0);
  REQUIRE((*seg)->make_inactive().ok());
  REQUIRE((*seg)->time_index().entries() == 1);
  CHECK((*seg)->time_index().last_entry() == TimestampOffset{900, 1});
  CHECK(std::filesystem::file_size((*seg)->time_index().file().path()) == 12);
  CHECK(std::filesystem::file_size((*seg)->offset_index().file().path()) == 0);
}

TEST_CASE("storage: segment remove renames then unlinks, slices stay readable") {
  TempDir dir;
  auto seg = Segment::create(dir.path(), 7, small_index(100), 0);
  REQUIRE(seg);
  fill(**seg, 7, 10, 1);
  auto slice = (*seg)->read(7, 1 << 20, true, (*seg)->size());
  REQUIRE(slice);
  REQUIRE((*seg)->remove().ok());
  CHECK(std::filesystem::is_empty(dir.path()));
  std::vector<uint8_t> bytes;
  REQUIRE((*slice)->read_into(bytes).ok());
  CHECK(bytes.size() == (*seg)->size());
}

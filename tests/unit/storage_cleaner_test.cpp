// The log cleaner against a model: random streams of keyed records, tombstones, keyless
// records and idempotent batches in every codec, random segment sizes, key map sizes and
// cleaning points. After each cleaning a full read must hold exactly, below the cleaner's
// checkpoint, the latest record of every key (tombstones while delete.retention.ms has not
// passed), and from the checkpoint on every record intact, all with their original offsets,
// timestamps and contents.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/record/record_batch.h"
#include "server/storage/key_offset_map.h"
#include "server/storage/log_cleaner.h"
#include "server/storage/log_cleaner_manager.h"
#include "server/storage/partition_log.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::record::Bytes;
using kfk::record::Compression;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

struct ModelRecord {
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  int64_t timestamp = 0;
  std::vector<kfk::record::Header> headers;
  bool operator==(const ModelRecord&) const = default;
};

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

std::unique_ptr<PartitionLog> open_log(const fs::path& dir, const LogConfig& config, int64_t now) {
  PartitionLogOptions o;
  o.dir = dir;
  o.config = config;
  o.now_ms = now;
  auto log = PartitionLog::open(o);
  REQUIRE_MESSAGE(log, log.error().message());
  return std::move(log).value();
}

// Every record of the log, by offset; also checks that offsets strictly increase.
std::map<int64_t, ModelRecord> read_all(
    const PartitionLog& log, std::vector<std::pair<int64_t, int64_t>>* batches = nullptr) {
  std::map<int64_t, ModelRecord> out;
  int64_t offset = log.log_start_offset();
  int64_t last = -1;
  while (offset < log.log_end_offset()) {
    auto r = log.read_bytes(offset, 1 << 20, true, ReadLimit::log_end);
    REQUIRE_MESSAGE(r.ok(), r.error_message);
    // Nothing past a gap that runs to the log end (the cleaner removed its records).
    if (r.bytes.empty()) break;
    kfk::record::BatchIterator it(r.bytes);
    while (auto b = it.next()) {
      REQUIRE(b->base_offset() > last);
      if (batches) batches->emplace_back(b->base_offset(), b->last_offset());
      kfk::record::DecodedRecords decoded;
      auto err = kfk::record::decode_records(*b, decoded);
      REQUIRE_MESSAGE(err.ok(), err.message());
      for (const auto& rv : decoded.records) {
        REQUIRE(rv.offset > last);
        REQUIRE(rv.offset <= b->last_offset());
        last = rv.offset;
        auto rec = kfk::record::to_record(rv);
        out[rv.offset] = ModelRecord{rec.key, rec.value, rec.timestamp, rec.headers};
      }
      last = std::max(last, b->last_offset());
      offset = b->next_offset();
    }
  }
  return out;
}

// What the log must hold after cleanings up to `checkpoint`.
std::map<int64_t, ModelRecord> expected_after(const std::map<int64_t, ModelRecord>& appended,
                                              int64_t checkpoint, bool tombstones_expire) {
  std::map<Bytes, int64_t> latest;
  for (const auto& [offset, rec] : appended)
    if (offset < checkpoint && rec.key) latest[*rec.key] = offset;
  std::map<int64_t, ModelRecord> out;
  for (const auto& [offset, rec] : appended) {
    if (offset >= checkpoint) {
      out[offset] = rec;
      continue;
    }
    if (!rec.key || latest.at(*rec.key) != offset) continue;
    if (!rec.value && tombstones_expire) continue;
    out[offset] = rec;
  }
  return out;
}

void run_model(uint32_t seed, bool tombstones_expire) {
  CAPTURE(seed);
  CAPTURE(tombstones_expire);
  std::mt19937 rng(seed);
  const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  TempDir dir;
  LogConfig config;
  config.compact = true;
  config.retention_ms = -1;
  config.segment_bytes = pick(300, 4000);
  config.index_interval_bytes = pick(0, 1) == 0 ? 0 : 256;
  config.delete_retention_ms = tombstones_expire ? 0 : int64_t{1} << 40;
  const int keys = pick(1, 60);
  const size_t dedupe_bytes = KeyOffsetMap::kSlotBytes * static_cast<size_t>(pick(4, 200));
  CAPTURE(config.segment_bytes);
  CAPTURE(keys);
  CAPTURE(dedupe_bytes);
  const fs::path log_dir = dir.path() / "compacted-0";
  auto log = open_log(log_dir, config, 1000);

  std::map<int64_t, ModelRecord> appended;
  std::map<int64_t, std::pair<int32_t, int64_t>> producers;  // id -> next seq, last offset
  int64_t checkpoint = 0;
  int64_t now = 1000;
  const Compression codecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                Compression::lz4, Compression::zstd};
  const int batches = pick(20, 200);
  for (int i = 0; i < batches; ++i) {
    now += pick(0, 5);
    kfk::record::BatchOptions bo;
    bo.compression = codecs[pick(0, 4)];
    const int n = pick(1, 6);
    int64_t producer = -1;
    if (pick(0, 3) == 0) {
      producer = 1000 + pick(0, 2);
      bo.producer_id = producer;
      bo.producer_epoch = 0;
      bo.base_sequence = producers[producer].first;
    }
    kfk::record::BatchBuilder builder(bo);
    std::vector<ModelRecord> recs;
    for (int r = 0; r < n; ++r) {
      ModelRecord m;
      if (pick(0, 40) != 0) m.key = bytes_of("key-" + std::to_string(pick(0, keys - 1)));
      if (pick(0, 6) != 0)
        m.value = bytes_of(std::string(static_cast<size_t>(pick(0, 30)), 'a' + pick(0, 25)));
      if (pick(0, 4) == 0) m.headers.push_back({"h", bytes_of(std::to_string(i))});
      m.timestamp = now + r;
      REQUIRE(builder.append(kfk::record::Record{-1, m.timestamp, m.key, m.value, m.headers}));
      recs.push_back(std::move(m));
    }
    Bytes batch = builder.build();
    AppendOptions ao;
    ao.now_ms = now;
    auto res = log->append(batch, ao);
    REQUIRE_MESSAGE(res.ok(), res.error_message);
    for (int r = 0; r < n; ++r) appended[res.first_offset + r] = recs[static_cast<size_t>(r)];
    if (producer >= 0) producers[producer] = {producers[producer].first + n, res.last_offset};

    if (pick(0, 9) == 0) REQUIRE(log->roll(now).ok());
    if (pick(0, 7) == 0 || i + 1 == batches) {
      if (i + 1 == batches) REQUIRE(log->roll(now).ok());
      auto view = log->cleaner_view();
      REQUIRE(view);
      const CleanableRange range = cleanable_range(*view, checkpoint, now + 10);
      CleanerOptions options;
      options.dedupe_buffer_bytes = dedupe_bytes;
      options.io_buffer_bytes = static_cast<size_t>(pick(100, 5000));
      auto cleaned = clean_log(*log, *view, range, options, now + 10);
      REQUIRE_MESSAGE(cleaned, cleaned.error().message());
      REQUIRE(cleaned->end_offset >= checkpoint);
      REQUIRE(cleaned->end_offset <= view->active_base_offset);
      checkpoint = cleaned->end_offset;
      const auto got = read_all(*log);
      const auto want = expected_after(appended, checkpoint, tombstones_expire);
      REQUIRE(got.size() == want.size());
      CHECK(got == want);
    }
  }
  // A clean reopen and one after a crash (no clean shutdown) both read the same, and every
  // idempotent producer continues its sequence.
  const auto before = read_all(*log);
  REQUIRE(log->close().ok());
  log.reset();
  for (int round = 0; round < 2; ++round) {
    PartitionLogOptions o;
    o.dir = log_dir;
    o.config = config;
    o.now_ms = now;
    o.clean_shutdown = round == 0;
    auto reopened = PartitionLog::open(o);
    REQUIRE_MESSAGE(reopened, reopened.error().message());
    CHECK(read_all(**reopened) == before);
    for (const auto& [id, state] : producers) {
      auto entry = (*reopened)->producer_state(id);
      REQUIRE(entry.has_value());
      CHECK(entry->last_seq() == state.first - 1);
    }
    REQUIRE((*reopened)->close().ok());
  }
}

}  // namespace

TEST_CASE("storage cleaner: MurmurHash3 x64 128 matches its reference values") {
  CHECK(hash_key({}) == KeyHash{0, 0});
  const std::string hello = "hello";
  const auto h = hash_key(std::span(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()));
  CHECK(h.low == 0xcbd8a7b341bd9b02ULL);
  CHECK(h.high == 0x5b1e906a48ae1d19ULL);
}

TEST_CASE("storage cleaner: the key map keeps the latest offset and refuses new keys when full") {
  KeyOffsetMap map(10, 0.5);
  CHECK(map.max_entries() == 5);
  for (int i = 0; i < 5; ++i) CHECK(map.put(bytes_of("k" + std::to_string(i)), i));
  CHECK(map.full());
  CHECK_FALSE(map.put(bytes_of("new"), 9));
  CHECK(map.put(bytes_of("k1"), 7));  // known keys still update
  CHECK(map.get(bytes_of("k1")) == 7);
  CHECK(map.get(bytes_of("k4")) == 4);
  CHECK(map.get(bytes_of("absent")) == -1);
  CHECK(KeyOffsetMap::slots_for(24 * 1000, 0.9, 10) < 1000);
  CHECK(KeyOffsetMap::slots_for(24 * 1000, 0.9, 1'000'000) == 1000);
}

TEST_CASE("storage cleaner: random streams against the model, tombstones kept") {
  for (uint32_t seed = 1; seed <= 15; ++seed) run_model(seed, false);
}

TEST_CASE("storage cleaner: random streams against the model, tombstones expired") {
  for (uint32_t seed = 101; seed <= 115; ++seed) run_model(seed, true);
}

// Property test: random appends, reads, time lookups, DeleteRecords, flushes, clean reopens
// and simulated crashes against an in-memory model of the log.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "server/storage/partition_log.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::record::BatchIterator;
using kfk::record::BatchView;
using kfk::record::Bytes;
using kfk::record::Compression;
using kfk::storage::testing::BatchSpec;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;

namespace {

struct ModelRecord {
  int64_t timestamp;
  Bytes value;
};

struct ModelBatch {
  int64_t base, last;
  int64_t max_timestamp;
  size_t size;
};

struct Model {
  std::map<int64_t, ModelRecord> records;
  std::vector<ModelBatch> batches;  // in offset order
  int64_t log_start = 0;
  int64_t log_end = 0;

  const ModelBatch* batch_holding(int64_t offset) const {
    for (const ModelBatch& b : batches)
      if (b.last >= offset) return &b;
    return nullptr;
  }
};

class OracleRun {
 public:
  OracleRun(uint64_t seed, const std::filesystem::path& root) : rng_(seed), root_(root) {
    config_.segment_bytes = 2000 + static_cast<int64_t>(rng_() % 3000);
    config_.index_interval_bytes = static_cast<int64_t>(rng_() % 1200);
    config_.segment_index_bytes = 24 + static_cast<int64_t>(rng_() % 400);
    config_.max_message_bytes = 1 << 20;
    config_.retention_ms = -1;
    config_.retention_bytes = rng_() % 2 == 0 ? -1 : config_.segment_bytes * 4;
    dir_ = root_ / "topic-0";
    open(0, false);
  }

  void step() {
    uint64_t dice = rng_() % 100;
    if (dice < 55)
      append();
    else if (dice < 75)
      read();
    else if (dice < 85)
      by_time();
    else if (dice < 88)
      max_timestamp();
    else if (dice < 91)
      REQUIRE(log_->flush(clock_).ok());
    else if (dice < 93)
      delete_records();
    else if (dice < 94)
      retention();
    else if (dice < 95)
      truncate();
    else if (dice < 96)
      reopen_cleanly();
    else
      crash_and_recover();
  }

  void check_everything() {
    CHECK(log_->log_start_offset() == model_.log_start);
    CHECK(log_->log_end_offset() == model_.log_end);
    for (int64_t o = model_.log_start; o < model_.log_end;
         o += 1 + static_cast<int64_t>(rng_() % 7))
      check_read(o, 1 + rng_() % 4000);
  }

 private:
  void open(int64_t recovery_point, bool clean) {
    PartitionLogOptions o;
    o.dir = dir_;
    o.config = config_;
    o.recovery_point = recovery_point;
    o.log_start_offset = model_.log_start;
    o.clean_shutdown = clean;
    o.now_ms = clock_;
    auto log = PartitionLog::open(o);
    REQUIRE_MESSAGE(log, log.error().message());
    log_ = std::move(log).value();
  }

  Bytes random_batch(int records) {
    BatchSpec spec;
    spec.records = records;
    spec.timestamp = clock_ + static_cast<int64_t>(rng_() % 1000) - 500;
    spec.timestamp_step = static_cast<int64_t>(rng_() % 8) - 2;
    spec.value_bytes = rng_() % 4 == 0 ? rng_() % 200 : rng_() % 40;
    spec.seed = static_cast<uint32_t>(rng_());
    static constexpr Compression codecs[] = {
        Compression::none,   Compression::none, Compression::none, Compression::gzip,
        Compression::snappy, Compression::lz4,  Compression::zstd};
    spec.compression = codecs[rng_() % std::size(codecs)];
    clock_ += static_cast<int64_t>(rng_() % 50);
    return make_batch(spec);
  }

  // Adds the batches of `bytes` (offsets as written) to the model.
  void remember(const Bytes& written_bytes) {
    BatchIterator it(written_bytes);
    while (auto b = it.next()) {
      kfk::record::DecodedRecords decoded;
      REQUIRE(kfk::record::decode_records(*b, decoded).ok());
      for (const auto& r : decoded.records)
        model_.records[r.offset] = {r.timestamp, Bytes(r.value->begin(), r.value->end())};
      model_.batches.push_back({b->base_offset(), b->last_offset(), b->max_timestamp(), b->size()});
      model_.log_end = b->next_offset();
    }
  }

  void append() {
    int n = rng_() % 5 == 0 ? 2 + static_cast<int>(rng_() % 3) : 1;
    Bytes input;
    for (int i = 0; i < n; ++i) {
      Bytes b = random_batch(1 + static_cast<int>(rng_() % 8));
      // One append must fit one segment.
      if (!input.empty() && input.size() + b.size() > static_cast<size_t>(config_.segment_bytes)) {
        n = i;
        break;
      }
      input.insert(input.end(), b.begin(), b.end());
    }
    AppendOptions o;
    o.now_ms = clock_;
    o.origin = n == 1 ? AppendOrigin::client : AppendOrigin::coordinator;
    AppendResult r = log_->append(input, o);
    REQUIRE_MESSAGE(r.ok(), r.error_message);
    CHECK(r.first_offset == model_.log_end);
    remember(input);  // rewritten in place with the offsets the log gave
    CHECK(r.last_offset == model_.log_end - 1);
  }

  void check_read(int64_t offset, size_t max_bytes) {
    auto r = log_->read_bytes(offset, max_bytes);
    REQUIRE_MESSAGE(r.ok(), r.error_message);
    if (offset == model_.log_end) {
      CHECK(r.bytes.empty());
      return;
    }
    const ModelBatch* first = model_.batch_holding(offset);
    REQUIRE(first);
    // The expected batches: from `first`, while they fit (the first always does).
    size_t expect_bytes = 0, expect_batches = 0;
    for (const ModelBatch* b = first; b != model_.batches.data() + model_.batches.size(); ++b) {
      if (expect_batches > 0 && expect_bytes + b->size > max_bytes) break;
      expect_bytes += b->size;
      ++expect_batches;
    }
    CHECK(r.bytes.size() == expect_bytes);
    BatchIterator it(r.bytes);
    const ModelBatch* want = first;
    size_t seen = 0;
    while (auto b = it.next()) {
      REQUIRE(want != model_.batches.data() + model_.batches.size());
      REQUIRE(b->validate().ok());
      CHECK(b->base_offset() == want->base);
      CHECK(b->last_offset() == want->last);
      kfk::record::DecodedRecords decoded;
      REQUIRE(kfk::record::decode_records(*b, decoded).ok());
      for (const auto& rec : decoded.records) {
        const ModelRecord& m = model_.records.at(rec.offset);
        CHECK(rec.timestamp == m.timestamp);
        CHECK(Bytes(rec.value->begin(), rec.value->end()) == m.value);
      }
      ++want;
      ++seen;
    }
    CHECK(seen == expect_batches);
    CHECK(!it.has_partial_batch());
  }

  void read() {
    int64_t span = model_.log_end - model_.log_start + 1;
    int64_t offset = model_.log_start + static_cast<int64_t>(rng_() % static_cast<uint64_t>(span));
    check_read(offset, rng_() % 3 == 0 ? rng_() % 200 : rng_() % 6000);
    // Outside the log.
    if (model_.log_start > 0)
      CHECK(log_->read(model_.log_start - 1, 100).error ==
            kfk::protocol::ErrorCode::offset_out_of_range);
    CHECK(log_->read(model_.log_end + 1, 100).error ==
          kfk::protocol::ErrorCode::offset_out_of_range);
  }

  void by_time() {
    int64_t target = clock_ - 2000 + static_cast<int64_t>(rng_() % 3000);
    std::optional<OffsetAndTimestamp> want;
    for (const ModelBatch& b : model_.batches) {
      if (b.max_timestamp < target || b.last < model_.log_start) continue;
      for (int64_t o = std::max(b.base, model_.log_start); o <= b.last; ++o) {
        const ModelRecord& m = model_.records.at(o);
        if (m.timestamp >= target) {
          want = OffsetAndTimestamp{o, m.timestamp};
          break;
        }
      }
      if (want) break;
    }
    auto got = log_->offset_for_timestamp(target);
    REQUIRE_MESSAGE(got, got.error().message());
    REQUIRE(got->has_value() == want.has_value());
    if (want) CHECK(**got == *want);
  }

  void max_timestamp() {
    int64_t first_base = log_->segment_base_offsets().front();
    const ModelBatch* best = nullptr;
    for (const ModelBatch& b : model_.batches)
      if (b.base >= first_base && b.max_timestamp >= 0 &&
          (!best || b.max_timestamp > best->max_timestamp))
        best = &b;
    auto got = log_->max_timestamp_offset();
    REQUIRE(got);
    REQUIRE(got->has_value() == (best != nullptr));
    if (!best) return;
    int64_t offset = best->base;
    while (model_.records.at(offset).timestamp != best->max_timestamp) ++offset;
    CHECK(**got == OffsetAndTimestamp{offset, best->max_timestamp});
  }

  void delete_records() {
    int64_t span = model_.log_end - model_.log_start + 1;
    int64_t to = model_.log_start + static_cast<int64_t>(rng_() % static_cast<uint64_t>(span));
    auto r = log_->delete_records_before(to);
    REQUIRE(r);
    model_.log_start = std::max(model_.log_start, to);
    CHECK(*r == model_.log_start);
    CHECK(log_->segment_base_offsets().front() <= model_.log_start);
  }

  void retention() {
    uint64_t before = log_->size_bytes();
    auto r = log_->apply_retention(clock_);
    REQUIRE(r);
    CHECK(log_->size_bytes() == before - r->bytes_deleted);
    if (config_.retention_bytes >= 0 && r->segments_deleted > 0)
      CHECK(log_->size_bytes() >= static_cast<uint64_t>(config_.retention_bytes));
    model_.log_start = std::max(model_.log_start, log_->segment_base_offsets().front());
    CHECK(log_->log_start_offset() == model_.log_start);
  }

  // A follower's truncation to a batch boundary at or after the log start.
  void truncate() {
    std::vector<int64_t> bounds;
    for (const ModelBatch& b : model_.batches)
      if (b.base >= model_.log_start) bounds.push_back(b.base);
    if (bounds.empty()) return;
    int64_t to = bounds[rng_() % bounds.size()];
    REQUIRE(log_->truncate_to(to, clock_).ok());
    while (!model_.batches.empty() && model_.batches.back().base >= to) {
      for (int64_t o = model_.batches.back().base; o <= model_.batches.back().last; ++o)
        model_.records.erase(o);
      model_.batches.pop_back();
    }
    model_.log_end = to;  // the log start stays: `to` is at or after it
    CHECK(log_->log_end_offset() == model_.log_end);
    CHECK(log_->log_start_offset() == model_.log_start);
  }

  void reopen_cleanly() {
    REQUIRE(log_->close().ok());
    int64_t rp = rng_() % 2 == 0 ? model_.log_end : 0;
    bool clean = rng_() % 2 == 0;
    log_.reset();
    open(rp, clean);
    check_everything();
  }

  // A crash: the files as they are now (what the page cache holds), opened from a copy
  // without closing, with the recovery point of the last flush.
  void crash_and_recover() {
    int64_t rp = log_->recovery_point();
    std::filesystem::path copy = root_ / ("crash-" + std::to_string(crashes_++)) / "topic-0";
    std::filesystem::create_directories(copy.parent_path());
    std::filesystem::copy(dir_, copy, std::filesystem::copy_options::recursive);
    // The abandoned log is closed normally; its directory is no longer used.
    REQUIRE(log_->close().ok());
    log_.reset();
    dir_ = copy;
    open(rp, false);
    check_everything();
  }

  std::mt19937_64 rng_;
  std::filesystem::path root_;
  std::filesystem::path dir_;
  LogConfig config_;
  std::unique_ptr<PartitionLog> log_;
  Model model_;
  int64_t clock_ = 1'700'000'000'000;
  int crashes_ = 0;
};

}  // namespace

// KFK_STORAGE_ORACLE_SEEDS=N runs seeds 1..N (a longer soak); the default is 6.
TEST_CASE("storage: oracle test against an in-memory model") {
  uint64_t seeds = 6;
  if (const char* env = std::getenv("KFK_STORAGE_ORACLE_SEEDS"))
    seeds = std::strtoull(env, nullptr, 10);
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    TempDir dir;
    OracleRun run(seed, dir.path());
    for (int i = 0; i < 400; ++i) run.step();
    run.check_everything();
  }
}

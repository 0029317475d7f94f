// Retention by time and size, DeleteRecords, and the log start offset.
#include <doctest/doctest.h>

#include <vector>

#include "server/storage/partition_log.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::protocol::ErrorCode;
using kfk::record::Bytes;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<PartitionLog> open_log(const fs::path& dir, const LogConfig& config,
                                       bool hw_follows = true, int64_t log_start = 0) {
  PartitionLogOptions o;
  o.dir = dir;
  o.config = config;
  o.high_watermark_follows_log_end = hw_follows;
  o.log_start_offset = log_start;
  o.now_ms = 0;
  auto log = PartitionLog::open(o);
  REQUIRE_MESSAGE(log, log.error().message());
  return std::move(log).value();
}

// One batch per segment-ish: `n` batches with timestamps ts0, ts0 + step, ...
void append_times(PartitionLog& log, int n, int64_t ts0, int64_t step) {
  for (int i = 0; i < n; ++i) {
    kfk::storage::testing::BatchSpec spec;
    spec.records = 2;
    spec.timestamp = ts0 + i * step;
    spec.timestamp_step = 0;
    spec.value_bytes = 100;
    Bytes b = make_batch(spec);
    AppendOptions o;
    o.now_ms = ts0 + i * step;
    auto r = log.append(b, o);
    REQUIRE_MESSAGE(r.ok(), r.error_message);
  }
}

LogConfig small_segments() {
  LogConfig c;
  c.segment_bytes = 600;  // two 2-record batches of ~290 bytes per segment
  c.retention_ms = -1;
  return c;
}

}  // namespace

TEST_CASE("storage: retention by time deletes old segments but never the active one") {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_ms = 10'000;
  auto log = open_log(dir.path() / "t-0", config);
  append_times(*log, 20, 100'000, 1'000);  // timestamps 100s .. 119s
  auto bases = log->segment_base_offsets();
  REQUIRE(bases.size() == 10);

  // At 125s, a segment whose largest timestamp is before 115s is expired.
  auto r = log->apply_retention(125'000);
  REQUIRE(r);
  CHECK(r->segments_deleted == 7);  // largest timestamps 101, 103, ..., 113
  CHECK(log->log_start_offset() == bases[7]);
  CHECK(r->log_start_offset == bases[7]);
  CHECK(log->segment_base_offsets().front() == bases[7]);
  CHECK(!fs::exists(dir.path() / "t-0" / offset_file_name(bases[0], ".log")));
  CHECK(log->read(bases[7] - 1, 100).error == ErrorCode::offset_out_of_range);
  CHECK(log->read(bases[7], 100).ok());

  // Far in the future everything has expired, but the active segment stays.
  r = log->apply_retention(10'000'000);
  REQUIRE(r);
  CHECK(log->segment_count() == 1);
  CHECK(log->log_start_offset() == bases.back());
  CHECK(log->log_end_offset() == 40);
  CHECK(log->read(bases.back(), 1 << 20).ok());
}

TEST_CASE("storage: retention by size keeps at least retention.bytes") {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_bytes = 2000;
  auto log = open_log(dir.path() / "t-0", config);
  append_times(*log, 21, 1'000, 1);
  uint64_t before = log->size_bytes();
  auto r = log->apply_retention(2'000);
  REQUIRE(r);
  CHECK(r->segments_deleted > 0);
  CHECK(log->size_bytes() == before - r->bytes_deleted);
  CHECK(log->size_bytes() >= 2000);
  // One more segment would have gone below the limit.
  auto bases = log->segment_base_offsets();
  uint64_t first_size = fs::file_size(dir.path() / "t-0" / offset_file_name(bases[0], ".log"));
  CHECK(log->size_bytes() - first_size < 2000);
  // Idempotent.
  CHECK(log->apply_retention(2'000)->segments_deleted == 0);
}

TEST_CASE("storage: retention stops at the high watermark") {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_ms = 1;
  auto log = open_log(dir.path() / "t-0", config, /*hw_follows=*/false);
  append_times(*log, 10, 1'000, 1);
  CHECK(log->apply_retention(1'000'000)->segments_deleted == 0);
  auto bases = log->segment_base_offsets();
  log->set_high_watermark(bases[2]);
  CHECK(log->apply_retention(1'000'000)->segments_deleted == 2);
  CHECK(log->log_start_offset() == bases[2]);
}

TEST_CASE("storage: retention by time falls back to the file time without timestamps") {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_ms = 60'000;
  auto log = open_log(dir.path() / "t-0", config);
  append_times(*log, 6, -1, 0);  // records without timestamps: maxTimestamp -1
  auto bases = log->segment_base_offsets();
  REQUIRE(bases.size() >= 3);
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(dir.path() / "t-0" / offset_file_name(bases[0], ".log"), old);
  auto r = log->apply_retention(wall_clock_ms());
  REQUIRE(r);
  CHECK(r->segments_deleted == 1);
  CHECK(log->log_start_offset() == bases[1]);
}

TEST_CASE("storage: DeleteRecords moves the log start offset") {
  TempDir dir;
  LogConfig config = small_segments();
  fs::path path = dir.path() / "t-0";
  auto log = open_log(path, config);
  append_times(*log, 12, 1'000, 1);  // offsets 0..23, segments of 4 offsets
  auto bases = log->segment_base_offsets();
  REQUIRE(bases == std::vector<int64_t>{0, 4, 8, 12, 16, 20});

  CHECK(log->delete_records_before(25).error().kind == StorageErrorKind::offset_out_of_range);
  CHECK(log->delete_records_before(-2).error().kind == StorageErrorKind::offset_out_of_range);

  auto r = log->delete_records_before(10);  // inside segment 8
  REQUIRE(r);
  CHECK(*r == 10);
  CHECK(log->log_start_offset() == 10);
  CHECK(log->segment_base_offsets().front() == 8);
  CHECK(log->read(9, 100).error == ErrorCode::offset_out_of_range);
  auto read = log->read_bytes(10, 1);
  REQUIRE(read.ok());
  CHECK(kfk::record::BatchView(read.bytes).base_offset() == 10);
  // Moving backwards does nothing.
  CHECK(*log->delete_records_before(3) == 10);
  CHECK(log->earliest() == OffsetAndTimestamp{10, -1});

  // -1 means the high watermark: every whole segment but the active goes.
  CHECK(*log->delete_records_before(-1) == 24);
  CHECK(log->segment_base_offsets() == std::vector<int64_t>{20});
  CHECK(log->read(24, 100).ok());
  CHECK(log->read(23, 100).error == ErrorCode::offset_out_of_range);

  // The owner persists the log start offset (log-start-offset-checkpoint); reopening with it
  // keeps it, even inside a segment.
  REQUIRE(log->close().ok());
  auto again = open_log(path, config, true, 24);
  CHECK(again->log_start_offset() == 24);
  CHECK(again->log_end_offset() == 24);
  Bytes b = make_batch(1);
  CHECK(again->append(b).first_offset == 24);
}

TEST_CASE("storage: deleted segments take their producer snapshots along") {
  TempDir dir;
  LogConfig config = small_segments();
  fs::path path = dir.path() / "t-0";
  auto log = open_log(path, config);
  for (int i = 0; i < 12; ++i) {
    kfk::storage::testing::BatchSpec spec;
    spec.records = 2;
    spec.value_bytes = 100;
    spec.producer_id = 77;
    spec.producer_epoch = 0;
    spec.base_sequence = i * 2;
    Bytes b = make_batch(spec);
    REQUIRE(log->append(b).ok());
  }
  auto snapshots = log->snapshot_offsets();
  CHECK(snapshots.size() >= 4);  // one per roll
  REQUIRE(log->delete_records_before(13).ok());
  for (int64_t s : log->snapshot_offsets()) CHECK(s >= 12);
  CHECK(log->producer_state(77).has_value());  // the state itself is kept, as in Kafka
}

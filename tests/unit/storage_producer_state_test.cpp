// Idempotent producer state: duplicates, gaps, epochs, snapshots and rebuilding from the log.
#include <doctest/doctest.h>

#include <fstream>
#include <vector>

#include "core/record/control_record.h"
#include "server/storage/partition_log.h"
#include "server/storage/producer_snapshot.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::protocol::ErrorCode;
using kfk::record::Bytes;
using kfk::storage::testing::BatchSpec;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kNow = 2'000'000'000'000;

std::unique_ptr<PartitionLog> open_log(const fs::path& dir, bool strict = false,
                                       int64_t recovery_point = 0, LogConfig config = {}) {
  PartitionLogOptions o;
  o.dir = dir;
  o.config = config;
  o.strict_new_producers = strict;
  o.recovery_point = recovery_point;
  o.now_ms = kNow;
  auto log = PartitionLog::open(o);
  REQUIRE_MESSAGE(log, log.error().message());
  return std::move(log).value();
}

Bytes idempotent(int64_t pid, int16_t epoch, int32_t seq, int records = 2,
                 bool transactional = false) {
  BatchSpec spec;
  spec.records = records;
  spec.producer_id = pid;
  spec.producer_epoch = epoch;
  spec.base_sequence = seq;
  spec.transactional = transactional;
  spec.timestamp = kNow;
  return make_batch(spec);
}

AppendResult produce(PartitionLog& log, Bytes batch) {
  AppendOptions o;
  o.now_ms = kNow;
  return log.append(batch, o);
}

}  // namespace

TEST_CASE("storage: sequence helpers wrap at INT32_MAX") {
  CHECK(last_sequence(0, 4) == 4);
  CHECK(last_sequence(INT32_MAX, 0) == INT32_MAX);
  CHECK(last_sequence(INT32_MAX, 1) == 0);
  CHECK(last_sequence(INT32_MAX - 1, 3) == 1);
  CHECK(last_sequence(-1, 3) == -1);
  CHECK(first_sequence(1, 3) == INT32_MAX - 1);
  CHECK(first_sequence(0, 1) == INT32_MAX);
  CHECK(first_sequence(10, 3) == 7);
}

TEST_CASE("storage: duplicates are answered with the original offsets") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  std::vector<AppendResult> firsts;
  for (int i = 0; i < 6; ++i) {
    auto r = produce(*log, idempotent(1, 0, i * 2));
    REQUIRE_MESSAGE(r.ok(), r.error_message);
    CHECK(!r.duplicate);
    firsts.push_back(r);
  }
  const int64_t end = log->log_end_offset();
  // The last five batches are recognised.
  for (int i = 1; i < 6; ++i) {
    auto r = produce(*log, idempotent(1, 0, i * 2));
    REQUIRE(r.ok());
    CHECK(r.duplicate);
    CHECK(r.first_offset == firsts[i].first_offset);
    CHECK(r.last_offset == firsts[i].last_offset);
  }
  CHECK(log->log_end_offset() == end);
  // The sixth-newest is out of the window: an old sequence is out of order.
  CHECK(produce(*log, idempotent(1, 0, 0)).error == ErrorCode::out_of_order_sequence_number);
  // A same-sequence batch of another size is not a duplicate either.
  CHECK(produce(*log, idempotent(1, 0, 10, 3)).error == ErrorCode::out_of_order_sequence_number);
  CHECK(log->log_end_offset() == end);
  auto state = log->producer_state(1);
  REQUIRE(state);
  CHECK(state->epoch == 0);
  CHECK(state->last_seq() == 11);
  CHECK(state->batches.size() == ProducerStateEntry::kBatchesToRetain);
}

TEST_CASE("storage: sequence gaps and epoch fencing") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  REQUIRE(produce(*log, idempotent(7, 3, 0)).ok());
  REQUIRE(produce(*log, idempotent(7, 3, 2)).ok());
  const int64_t end = log->log_end_offset();
  SUBCASE("gap") {
    auto r = produce(*log, idempotent(7, 3, 5));
    CHECK(r.error == ErrorCode::out_of_order_sequence_number);
    CHECK(r.batch_index == 0);
  }
  SUBCASE("older epoch") {
    CHECK(produce(*log, idempotent(7, 2, 4)).error == ErrorCode::invalid_producer_epoch);
  }
  SUBCASE("new epoch must start at 0") {
    CHECK(produce(*log, idempotent(7, 4, 4)).error == ErrorCode::out_of_order_sequence_number);
  }
  CHECK(log->log_end_offset() == end);
  SUBCASE("bump, then the old epoch is fenced") {
    REQUIRE(produce(*log, idempotent(7, 4, 0)).ok());
    CHECK(log->producer_state(7)->epoch == 4);
    CHECK(log->producer_state(7)->batches.size() == 1);
    CHECK(produce(*log, idempotent(7, 3, 4)).error == ErrorCode::invalid_producer_epoch);
    // A retry of the old epoch's batch is no duplicate any more: the epoch check fences it.
    CHECK(produce(*log, idempotent(7, 3, 2)).error == ErrorCode::invalid_producer_epoch);
    CHECK(produce(*log, idempotent(7, 4, 2)).ok());
  }
}

TEST_CASE("storage: a producer without state may start at any sequence unless strict") {
  TempDir dir;
  SUBCASE("Kafka's rule") {
    auto log = open_log(dir.path() / "t-0");
    auto r = produce(*log, idempotent(42, 0, 17));
    CHECK(r.ok());
    CHECK(produce(*log, idempotent(42, 0, 19)).ok());
    CHECK(produce(*log, idempotent(42, 0, 22)).error == ErrorCode::out_of_order_sequence_number);
  }
  SUBCASE("strict") {
    auto log = open_log(dir.path() / "t-0", /*strict=*/true);
    CHECK(produce(*log, idempotent(42, 0, 17)).error == ErrorCode::out_of_order_sequence_number);
    CHECK(produce(*log, idempotent(42, 0, 0)).ok());
  }
}

TEST_CASE("storage: sequences wrap from INT32_MAX to 0") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  REQUIRE(produce(*log, idempotent(5, 0, INT32_MAX - 1, 2)).ok());  // INT32_MAX-1, INT32_MAX
  auto r = produce(*log, idempotent(5, 0, 0, 3));
  REQUIRE_MESSAGE(r.ok(), r.error_message);
  CHECK(log->producer_state(5)->last_seq() == 2);
  // A batch across the wrap.
  auto log2 = open_log(dir.path() / "t-1");
  REQUIRE(produce(*log2, idempotent(5, 0, INT32_MAX, 3)).ok());  // INT32_MAX, 0, 1
  CHECK(log2->producer_state(5)->last_seq() == 1);
  CHECK(produce(*log2, idempotent(5, 0, INT32_MAX, 3)).duplicate);
  CHECK(produce(*log2, idempotent(5, 0, 2)).ok());
}

TEST_CASE("storage: transactional batches and markers") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  REQUIRE(produce(*log, idempotent(9, 0, 0, 2, true)).ok());
  CHECK(log->producer_state(9)->current_txn_first_offset == 0);
  CHECK(produce(*log, idempotent(9, 0, 2, 2, false)).error == ErrorCode::invalid_txn_state);
  kfk::record::EndTxnMarkerBatch m;
  m.producer_id = 9;
  m.producer_epoch = 0;
  m.commit = true;
  m.timestamp = kNow;
  Bytes marker = kfk::record::build_end_txn_marker_batch(m);
  AppendOptions o;
  o.origin = AppendOrigin::coordinator;
  o.now_ms = kNow;
  REQUIRE(log->append(marker, o).ok());
  CHECK(log->producer_state(9)->current_txn_first_offset == -1);
  CHECK(produce(*log, idempotent(9, 0, 2, 2, false)).ok());
}

TEST_CASE("storage: producer state survives a clean restart through its snapshot") {
  TempDir dir;
  fs::path path = dir.path() / "t-0";
  {
    auto log = open_log(path);
    for (int i = 0; i < 4; ++i) {
      REQUIRE(produce(*log, idempotent(100, 1, i * 2)).ok());
      REQUIRE(produce(*log, idempotent(200, 0, i * 2)).ok());
    }
    REQUIRE(log->close().ok());
  }
  CHECK(fs::exists(path / offset_file_name(16, ".snapshot")));
  auto log = open_log(path, false, 16);
  CHECK(log->load_summary().batches_replayed == 0);
  CHECK(log->producer_count() == 2);
  auto s = log->producer_state(100);
  REQUIRE(s);
  CHECK(s->epoch == 1);
  CHECK(s->last_seq() == 7);
  CHECK(s->last_offset() == 13);
  CHECK(s->batches.back().first_offset == 12);
  // The last batch is still recognised as a duplicate; older ones are not (only one batch
  // per producer is in a snapshot, as in Kafka).
  auto dup = produce(*log, idempotent(100, 1, 6));
  CHECK(dup.duplicate);
  CHECK(dup.first_offset == 12);
  CHECK(produce(*log, idempotent(100, 1, 4)).error == ErrorCode::out_of_order_sequence_number);
  CHECK(produce(*log, idempotent(100, 1, 8)).ok());
}

TEST_CASE("storage: producer state is rebuilt from the log without a snapshot") {
  TempDir dir;
  fs::path path = dir.path() / "t-0";
  LogConfig config;
  config.segment_bytes = 700;
  std::vector<AppendResult> results;
  {
    auto log = open_log(path, false, 0, config);
    for (int i = 0; i < 10; ++i) results.push_back(produce(*log, idempotent(3, 0, i * 2)));
    REQUIRE(log->close().ok());
  }
  SUBCASE("all snapshots lost") {
    for (const auto& de : fs::directory_iterator(path))
      if (de.path().extension() == ".snapshot") fs::remove(de.path());
  }
  SUBCASE("the newest snapshot damaged") {
    auto newest = path / offset_file_name(results.back().last_offset + 1, ".snapshot");
    REQUIRE(fs::exists(newest));
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12);
    f.put('\x7f');
  }
  auto log = open_log(path, false, 0, config);
  CHECK(log->load_summary().batches_replayed > 0);
  auto s = log->producer_state(3);
  REQUIRE(s);
  CHECK(s->last_seq() == 19);
  CHECK(s->last_offset() == results.back().last_offset);
  // A replay refills the window: the last five batches are duplicates again.
  for (int i = 5; i < 10; ++i) {
    auto r = produce(*log, idempotent(3, 0, i * 2));
    CHECK(r.duplicate);
    CHECK(r.first_offset == results[i].first_offset);
  }
}

TEST_CASE("storage: after a crash the state is the last flush's snapshot plus a replay") {
  TempDir dir;
  fs::path live = dir.path() / "live" / "t-0";
  auto log = open_log(live);
  for (int i = 0; i < 3; ++i) REQUIRE(produce(*log, idempotent(11, 0, i * 2)).ok());
  REQUIRE(log->flush(kNow).ok());
  for (int i = 3; i < 6; ++i) REQUIRE(produce(*log, idempotent(11, 0, i * 2)).ok());
  REQUIRE(produce(*log, idempotent(12, 0, 0)).ok());
  fs::path copy = dir.path() / "copy" / "t-0";
  fs::create_directories(copy.parent_path());
  fs::copy(live, copy, fs::copy_options::recursive);
  auto crashed = open_log(copy, false, log->recovery_point());
  CHECK(crashed->load_summary().batches_replayed == 4);
  CHECK(crashed->producer_state(11)->last_seq() == 11);
  CHECK(crashed->producer_state(12)->last_seq() == 1);
  CHECK(produce(*crashed, idempotent(11, 0, 10)).duplicate);
}

TEST_CASE("storage: truncation rewinds the producer state") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  for (int i = 0; i < 6; ++i) REQUIRE(produce(*log, idempotent(4, 0, i * 2)).ok());
  REQUIRE(log->truncate_to(6, kNow).ok());
  CHECK(log->log_end_offset() == 6);
  CHECK(log->producer_state(4)->last_seq() == 5);
  CHECK(produce(*log, idempotent(4, 0, 6)).first_offset == 6);
  REQUIRE(log->truncate_to(0, kNow).ok());
  CHECK(!log->producer_state(4));
  CHECK(log->log_end_offset() == 0);
}

TEST_CASE("storage: idle producers expire") {
  TempDir dir;
  LogConfig config;
  config.producer_id_expiration_ms = 1000;
  fs::path path = dir.path() / "t-0";
  {
    auto log = open_log(path, false, 0, config);
    REQUIRE(produce(*log, idempotent(1, 0, 0)).ok());  // maxTimestamp kNow + 1
    CHECK(log->remove_expired_producers(kNow + 1000) == 0);
    CHECK(log->remove_expired_producers(kNow + 1001) == 1);
    CHECK(log->producer_count() == 0);
    REQUIRE(produce(*log, idempotent(2, 0, 0)).ok());
    REQUIRE(log->close().ok());
  }
  // Expired entries are skipped when a snapshot is loaded.
  PartitionLogOptions o;
  o.dir = path;
  o.config = config;
  o.now_ms = kNow + 5000;
  auto log = std::move(PartitionLog::open(o)).value();
  CHECK(log->producer_count() == 0);
}

TEST_CASE("storage: producer snapshots round-trip and reject damage") {
  std::vector<ProducerStateEntry> entries(3);
  for (int i = 0; i < 3; ++i) {
    entries[i].producer_id = 1000 + i;
    entries[i].epoch = static_cast<int16_t>(i);
    entries[i].last_timestamp = 123456 + i;
    entries[i].coordinator_epoch = i - 1;
    entries[i].current_txn_first_offset = i == 2 ? 77 : -1;
    if (i > 0) entries[i].batches.push_back({10, 14, 500, 504, 123456 + i});
  }
  Bytes bytes = encode_producer_snapshot(entries);
  CHECK(bytes.size() == 10 + 3 * 46);
  auto decoded = decode_producer_snapshot(bytes);
  REQUIRE(decoded);
  REQUIRE(decoded->size() == 3);
  for (int i = 0; i < 3; ++i) {
    const auto& d = (*decoded)[i];
    CHECK(d.producer_id == entries[i].producer_id);
    CHECK(d.epoch == entries[i].epoch);
    CHECK(d.last_timestamp == entries[i].last_timestamp);
    CHECK(d.coordinator_epoch == entries[i].coordinator_epoch);
    CHECK(d.current_txn_first_offset == entries[i].current_txn_first_offset);
    CHECK(d.batches == entries[i].batches);
  }
  auto bad = bytes;
  bad[0] = 9;  // version
  CHECK(decode_producer_snapshot(bad).error().kind == StorageErrorKind::corrupt_snapshot);
  bad = bytes;
  bad[30] ^= 1;  // CRC
  CHECK(decode_producer_snapshot(bad).error().kind == StorageErrorKind::corrupt_snapshot);
  bad = bytes;
  bad.pop_back();  // length (CRC recomputed below so only the length is wrong)
  CHECK(decode_producer_snapshot(bad).error().kind == StorageErrorKind::corrupt_snapshot);
  CHECK(decode_producer_snapshot(Bytes{0, 1}).error().kind == StorageErrorKind::corrupt_snapshot);
  CHECK(decode_producer_snapshot(encode_producer_snapshot({}))->empty());
}

// PartitionLog: appends, validation errors, reads, rolls, flushes and ListOffsets.
#include <doctest/doctest.h>

#include <vector>

#include "core/config/topic_config.h"
#include "core/record/control_record.h"
#include "server/storage/partition_log.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::protocol::ErrorCode;
using kfk::record::BatchIterator;
using kfk::record::BatchView;
using kfk::record::Bytes;
using kfk::record::TimestampType;
using kfk::storage::testing::BatchSpec;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;

namespace {

std::unique_ptr<PartitionLog> open_log(const std::filesystem::path& dir, LogConfig config = {},
                                       int64_t now = 1'000'000) {
  PartitionLogOptions o;
  o.dir = dir;
  o.config = config;
  o.now_ms = now;
  auto log = PartitionLog::open(o);
  REQUIRE_MESSAGE(log, log.error().message());
  return std::move(log).value();
}

AppendResult append(PartitionLog& log, Bytes batch, int64_t now = 1'000'000,
                    AppendOrigin origin = AppendOrigin::client) {
  AppendOptions o;
  o.now_ms = now;
  o.origin = origin;
  o.leader_epoch = 3;
  return log.append(batch, o);
}

std::vector<BatchView> batches_of(const std::vector<uint8_t>& bytes) {
  std::vector<BatchView> out;
  BatchIterator it(bytes);
  while (auto b = it.next()) out.push_back(*b);
  return out;
}

}  // namespace

TEST_CASE("storage: partition log assigns offsets and reads whole batches") {
  TempDir dir;
  auto log = open_log(dir.path() / "orders-0");
  CHECK(log->topic_partition() == TopicPartition{"orders", 0});
  CHECK(log->log_end_offset() == 0);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int i = 0; i < 20; ++i) {
    auto r = append(*log, make_batch(1 + i % 4, 5000 + i));
    REQUIRE_MESSAGE(r.ok(), r.error_message);
    CHECK(r.first_offset == (ranges.empty() ? 0 : ranges.back().second + 1));
    CHECK(r.last_offset == r.first_offset + i % 4);
    CHECK(r.log_append_time == -1);
    CHECK(r.log_start_offset == 0);
    ranges.emplace_back(r.first_offset, r.last_offset);
  }
  CHECK(log->log_end_offset() == ranges.back().second + 1);
  CHECK(log->high_watermark() == log->log_end_offset());

  for (const auto& [first, last] : ranges) {
    for (int64_t o = first; o <= last; ++o) {
      auto r = log->read_bytes(o, 1, true);
      REQUIRE(r.ok());
      auto batches = batches_of(r.bytes);
      REQUIRE(batches.size() == 1);              // max_bytes 1 but min_one_batch: the whole batch
      CHECK(batches[0].base_offset() == first);  // a read from mid-batch starts at the batch
      CHECK(batches[0].last_offset() == last);
      CHECK(batches[0].partition_leader_epoch() == 3);
      CHECK(batches[0].validate().ok());  // the CRC survived the offset rewrite
    }
  }
  auto all = log->read_bytes(0, 1 << 20);
  CHECK(batches_of(all.bytes).size() == 20);
  auto empty = log->read(log->log_end_offset(), 1 << 20);
  CHECK(empty.ok());
  CHECK(empty.slices.empty());
}

TEST_CASE("storage: partition log rejects bad appends without writing anything") {
  TempDir dir;
  LogConfig config;
  config.max_message_bytes = 2000;
  auto log = open_log(dir.path() / "t-1", config);
  REQUIRE(append(*log, make_batch(3)).ok());
  const int64_t end = log->log_end_offset();
  const uint64_t size = log->size_bytes();

  SUBCASE("too large") {
    auto r = append(*log, make_batch(5, 1000, 500));
    CHECK(r.error == ErrorCode::message_too_large);
    CHECK(r.batch_index == 0);
  }
  SUBCASE("bad CRC") {
    Bytes b = make_batch(2);
    b.back() ^= 0x5a;
    CHECK(append(*log, b).error == ErrorCode::corrupt_message);
  }
  SUBCASE("truncated input") {
    Bytes b = make_batch(2);
    b.resize(b.size() - 3);
    CHECK(append(*log, b).error == ErrorCode::corrupt_message);
  }
  SUBCASE("two batches from a producer") {
    Bytes b = make_batch(2);
    Bytes c = make_batch(1);
    b.insert(b.end(), c.begin(), c.end());
    auto r = append(*log, b);
    CHECK(r.error == ErrorCode::invalid_record);
    CHECK(r.batch_index == 1);
  }
  SUBCASE("base offset not zero") {
    BatchSpec spec;
    spec.base_offset = 17;
    CHECK(append(*log, make_batch(spec)).error == ErrorCode::invalid_record);
  }
  SUBCASE("no batch at all") { CHECK(append(*log, Bytes{}).error == ErrorCode::invalid_record); }
  SUBCASE("legacy format") {
    Bytes b = make_batch(1);
    b[16] = 1;  // magic 1
    CHECK(append(*log, b).error == ErrorCode::invalid_record);
  }
  SUBCASE("a control batch from a producer") {
    kfk::record::EndTxnMarkerBatch m;
    m.producer_id = 5;
    m.producer_epoch = 0;
    m.commit = true;
    m.timestamp = 1000;
    CHECK(append(*log, kfk::record::build_end_txn_marker_batch(m)).error ==
          ErrorCode::invalid_record);
  }
  SUBCASE("a coordinator append with one bad batch among good ones") {
    Bytes b = make_batch(2);
    Bytes bad = make_batch(1);
    bad.back() ^= 1;
    Bytes c = make_batch(3);
    b.insert(b.end(), bad.begin(), bad.end());
    b.insert(b.end(), c.begin(), c.end());
    auto r = append(*log, b, 1'000'000, AppendOrigin::coordinator);
    CHECK(r.error == ErrorCode::corrupt_message);
    CHECK(r.batch_index == 1);
  }
  CHECK(log->log_end_offset() == end);
  CHECK(log->size_bytes() == size);
  // And the log still works.
  CHECK(append(*log, make_batch(1)).first_offset == end);
}

TEST_CASE("storage: coordinator appends take several batches and control batches") {
  TempDir dir;
  auto log = open_log(dir.path() / "__consumer_offsets-7");
  Bytes b = make_batch(2);
  Bytes c = make_batch(3);
  b.insert(b.end(), c.begin(), c.end());
  kfk::record::EndTxnMarkerBatch m;
  m.producer_id = 9;
  m.producer_epoch = 1;
  m.timestamp = 1000;
  Bytes marker = kfk::record::build_end_txn_marker_batch(m);
  b.insert(b.end(), marker.begin(), marker.end());
  auto r = append(*log, b, 1'000'000, AppendOrigin::coordinator);
  REQUIRE_MESSAGE(r.ok(), r.error_message);
  CHECK(r.first_offset == 0);
  CHECK(r.last_offset == 5);
  auto read = log->read_bytes(0, 1 << 20);
  auto batches = batches_of(read.bytes);
  REQUIRE(batches.size() == 3);
  CHECK(batches[1].base_offset() == 2);
  CHECK(batches[2].base_offset() == 5);
  CHECK(batches[2].is_control());
}

TEST_CASE("storage: LogAppendTime topics stamp the broker's time") {
  TempDir dir;
  LogConfig config;
  config.message_timestamp_type = TimestampType::log_append_time;
  auto log = open_log(dir.path() / "t-0", config);
  auto r = append(*log, make_batch(3, 42), 777'000);
  REQUIRE(r.ok());
  CHECK(r.log_append_time == 777'000);
  auto read = log->read_bytes(0, 1 << 20);
  auto batches = batches_of(read.bytes);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].timestamp_type() == TimestampType::log_append_time);
  CHECK(batches[0].max_timestamp() == 777'000);
  CHECK(batches[0].validate().ok());
  auto found = log->offset_for_timestamp(777'000);
  REQUIRE(found);
  CHECK(**found == OffsetAndTimestamp{0, 777'000});
}

TEST_CASE("storage: reads outside the log are OFFSET_OUT_OF_RANGE") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  for (int i = 0; i < 5; ++i) REQUIRE(append(*log, make_batch(2)).ok());
  CHECK(log->read(-1, 100).error == ErrorCode::offset_out_of_range);
  CHECK(log->read(11, 100).error == ErrorCode::offset_out_of_range);
  auto at_end = log->read(10, 100);
  CHECK(at_end.ok());
  CHECK(at_end.slices.empty());
  CHECK(at_end.log_end_offset == 10);
  REQUIRE(log->delete_records_before(4).ok());
  CHECK(log->read(3, 100).error == ErrorCode::offset_out_of_range);
  auto r = log->read(4, 100);
  REQUIRE(r.ok());
  CHECK(r.log_start_offset == 4);
  CHECK(r.slices.front().first_offset == 4);
}

TEST_CASE("storage: reads stop at the high watermark unless asked for the log end") {
  TempDir dir;
  PartitionLogOptions o;
  o.dir = dir.path() / "t-0";
  o.high_watermark_follows_log_end = false;
  o.now_ms = 0;
  auto log = std::move(PartitionLog::open(o)).value();
  for (int i = 0; i < 6; ++i) REQUIRE(append(*log, make_batch(2)).ok());
  CHECK(log->high_watermark() == 0);
  CHECK(log->read(0, 1 << 20).slices.empty());
  log->set_high_watermark(6);
  auto r = log->read_bytes(0, 1 << 20);
  auto batches = batches_of(r.bytes);
  REQUIRE(batches.size() == 3);
  CHECK(batches.back().last_offset() == 5);
  auto all = log->read_bytes(0, 1 << 20, true, ReadLimit::log_end);
  CHECK(batches_of(all.bytes).size() == 6);
  log->set_high_watermark(100);
  CHECK(log->high_watermark() == 12);
}

TEST_CASE("storage: partition log rolls by size, age and full index") {
  TempDir dir;
  SUBCASE("size") {
    LogConfig config;
    config.segment_bytes = 1000;
    auto log = open_log(dir.path() / "t-0", config);
    int rolls = 0;
    for (int i = 0; i < 40; ++i) {
      auto r = append(*log, make_batch(2, 1000, 100));
      REQUIRE(r.ok());
      rolls += r.rolled;
    }
    CHECK(rolls >= 8);
    CHECK(log->segment_count() == static_cast<size_t>(rolls) + 1);
    auto bases = log->segment_base_offsets();
    for (size_t i = 1; i < bases.size(); ++i) CHECK(bases[i] > bases[i - 1]);
    // Every segment within segment.bytes.
    for (int64_t b : bases)
      CHECK(std::filesystem::file_size(dir.path() / "t-0" / offset_file_name(b, ".log")) <= 1000);
    // A batch larger than a segment cannot be stored.
    CHECK(append(*log, make_batch(20, 1000, 100)).error == ErrorCode::record_list_too_large);
  }
  SUBCASE("age, by the batches' timestamps") {
    LogConfig config;
    config.segment_ms = 1000;
    auto log = open_log(dir.path() / "t-0", config);
    REQUIRE(append(*log, make_batch(1, 10'000)).ok());
    CHECK(!append(*log, make_batch(1, 10'900)).rolled);
    CHECK(!append(*log, make_batch(1, 11'000)).rolled);
    CHECK(append(*log, make_batch(1, 11'001)).rolled);
    CHECK(log->segment_base_offsets() == std::vector<int64_t>{0, 3});
  }
  SUBCASE("full index") {
    LogConfig config;
    config.segment_index_bytes = 24;  // 3 offset entries, 2 time entries
    config.index_interval_bytes = 0;
    auto log = open_log(dir.path() / "t-0", config);
    int rolls = 0;
    for (int i = 0; i < 12; ++i) rolls += append(*log, make_batch(1, 1000 + i)).rolled;
    CHECK(rolls >= 3);
  }
}

TEST_CASE("storage: flush moves the recovery point and reports flush.messages") {
  TempDir dir;
  LogConfig config;
  config.flush_messages = 5;
  config.flush_ms = 1000;
  auto log = open_log(dir.path() / "t-0", config, 0);
  CHECK(!append(*log, make_batch(2)).flush_needed);
  CHECK(!append(*log, make_batch(2)).flush_needed);
  CHECK(append(*log, make_batch(2)).flush_needed);
  CHECK(log->recovery_point() == 0);
  CHECK(!log->flush_due(999));
  CHECK(log->flush_due(1000));
  REQUIRE(log->flush(1000).ok());
  CHECK(log->recovery_point() == 6);
  CHECK(!log->flush_due(1999));
  CHECK(!append(*log, make_batch(2)).flush_needed);
  // The flush wrote a producer state snapshot at the log end.
  CHECK(std::filesystem::exists(dir.path() / "t-0" / offset_file_name(6, ".snapshot")));
}

TEST_CASE("storage: ListOffsets earliest, latest, max timestamp and by time") {
  TempDir dir;
  LogConfig config;
  config.segment_bytes = 600;
  auto log = open_log(dir.path() / "t-0", config);
  // Record timestamps per offset: batches of 3 records, 10 apart, with one peak.
  std::vector<int64_t> ts;
  for (int i = 0; i < 30; ++i) {
    BatchSpec spec;
    spec.records = 3;
    spec.timestamp = i == 17 ? 90'000 : 1000 + i * 100;
    spec.timestamp_step = 10;
    REQUIRE(append(*log, make_batch(spec)).ok());
    for (int r = 0; r < 3; ++r) ts.push_back(spec.timestamp + r * 10);
  }
  REQUIRE(log->segment_count() > 3);
  CHECK(**log->list_offset(kEarliestTimestamp) == OffsetAndTimestamp{0, -1});
  CHECK(**log->list_offset(kLatestTimestamp) == OffsetAndTimestamp{90, -1});
  CHECK(**log->list_offset(kEarliestLocalTimestamp) == OffsetAndTimestamp{0, -1});
  auto max = log->list_offset(kMaxTimestamp);
  REQUIRE(max);
  CHECK(**max == OffsetAndTimestamp{53, 90'020});
  for (int64_t target = 900; target < 5000; target += 37) {
    // First batch whose max reaches the target, then its first record that does.
    std::optional<OffsetAndTimestamp> want;
    for (int b = 0; b < 30 && !want; ++b) {
      if (ts[b * 3 + 2] < target) continue;
      for (int r = 0; r < 3; ++r)
        if (ts[b * 3 + r] >= target) {
          want = OffsetAndTimestamp{b * 3 + r, ts[b * 3 + r]};
          break;
        }
    }
    auto got = log->list_offset(target);
    REQUIRE(got);
    REQUIRE(got->has_value() == want.has_value());
    if (want) CHECK(**got == *want);
  }
  CHECK(!*log->offset_for_timestamp(100'000));
  // Past the log start only.
  REQUIRE(log->delete_records_before(40).ok());
  CHECK((*log->offset_for_timestamp(0))->offset == 40);
}

TEST_CASE("storage: a read spans segments with whole batches") {
  TempDir dir;
  LogConfig config;
  config.segment_bytes = 700;
  auto log = open_log(dir.path() / "t-0", config);
  for (int i = 0; i < 30; ++i) REQUIRE(append(*log, make_batch(2, 1000, 60)).ok());
  REQUIRE(log->segment_count() > 4);
  auto r = log->read(0, 1 << 20);
  REQUIRE(r.ok());
  CHECK(r.slices.size() == log->segment_count());
  int64_t expect = 0;
  for (const FileSlice& s : r.slices) {
    CHECK(s.first_offset == expect);
    expect = s.last_offset + 1;
  }
  CHECK(expect == 60);
  auto bytes = log->read_bytes(0, 1 << 20);
  CHECK(batches_of(bytes.bytes).size() == 30);
  CHECK(bytes.bytes.size() == log->size_bytes());
  // A small budget: as many whole batches as fit.
  size_t one = batches_of(bytes.bytes)[0].size();
  auto some = log->read_bytes(0, one * 3 + one / 2);
  CHECK(batches_of(some.bytes).size() == 3);
}

TEST_CASE("storage: a closed and reopened log continues where it was") {
  TempDir dir;
  LogConfig config;
  config.segment_bytes = 800;
  std::vector<uint8_t> before;
  {
    auto log = open_log(dir.path() / "t-0", config);
    for (int i = 0; i < 25; ++i) REQUIRE(append(*log, make_batch(3, 1000 + i)).ok());
    before = log->read_bytes(0, 1 << 20).bytes;
    REQUIRE(log->close().ok());
    CHECK(log->read(0, 10).error != ErrorCode::none);
  }
  PartitionLogOptions o;
  o.dir = dir.path() / "t-0";
  o.config = config;
  o.recovery_point = 75;
  o.now_ms = 0;
  auto log = std::move(PartitionLog::open(o)).value();
  CHECK(log->log_end_offset() == 75);
  CHECK(log->load_summary().segments_recovered == 1);  // the one holding the recovery point
  CHECK(log->load_summary().segments_trusted == log->segment_count() - 1);
  CHECK(log->read_bytes(0, 1 << 20).bytes == before);
  CHECK(append(*log, make_batch(1)).first_offset == 75);
}

TEST_CASE("storage: replicated appends keep the leader's offsets") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  auto leader_batch = [](int64_t base, int records) {
    BatchSpec spec;
    spec.base_offset = base;
    spec.records = records;
    return make_batch(spec);
  };
  CHECK(append(*log, leader_batch(0, 3), 0, AppendOrigin::replication).last_offset == 2);
  // Offsets may jump (a compacted leader); they may not go back.
  auto r = append(*log, leader_batch(10, 2), 0, AppendOrigin::replication);
  REQUIRE_MESSAGE(r.ok(), r.error_message);
  CHECK(r.first_offset == 10);
  CHECK(log->log_end_offset() == 12);
  CHECK(!append(*log, leader_batch(11, 1), 0, AppendOrigin::replication).ok());
  CHECK(log->log_end_offset() == 12);
  auto read = log->read_bytes(5, 100);
  REQUIRE(read.ok());
  CHECK(BatchView(read.bytes).base_offset() == 10);
  // A jump past an empty active segment starts the segment at the new base.
  REQUIRE(log->roll().ok());
  CHECK(log->segment_base_offsets().back() == 12);
  CHECK(append(*log, leader_batch(50, 1), 0, AppendOrigin::replication).ok());
  CHECK(log->segment_base_offsets() == std::vector<int64_t>{0, 50});
  CHECK(log->log_end_offset() == 51);
}

TEST_CASE("storage: removing a partition deletes its directory") {
  TempDir dir;
  auto log = open_log(dir.path() / "gone-3");
  REQUIRE(append(*log, make_batch(2)).ok());
  auto slices = log->read(0, 1 << 20);
  REQUIRE(log->remove().ok());
  CHECK(std::filesystem::is_empty(dir.path()));
  CHECK(log->read(0, 10).error != ErrorCode::none);
  CHECK(!append(*log, make_batch(1)).ok());
  // A response still holding a slice can send it.
  std::vector<uint8_t> bytes;
  REQUIRE(slices.slices.at(0).read_into(bytes).ok());
  CHECK(BatchView(bytes).validate().ok());
}

TEST_CASE("storage: new settings apply to later appends") {
  TempDir dir;
  auto log = open_log(dir.path() / "t-0");
  REQUIRE(append(*log, make_batch(2, 1000, 300)).ok());
  LogConfig config;
  config.max_message_bytes = 100;
  REQUIRE(log->update_config(config).ok());
  CHECK(append(*log, make_batch(2, 1000, 300)).error == ErrorCode::message_too_large);
  config.max_message_bytes = 1 << 20;
  config.segment_bytes = 1000;
  REQUIRE(log->update_config(config).ok());
  CHECK(append(*log, make_batch(2, 1000, 300)).ok());
  CHECK(append(*log, make_batch(2, 1000, 300)).rolled);
  config.segment_bytes = 5;
  CHECK(log->update_config(config).kind == StorageErrorKind::invalid_argument);
}

TEST_CASE("storage: invalid settings are refused at open") {
  TempDir dir;
  PartitionLogOptions o;
  o.dir = dir.path() / "t-0";
  o.config.segment_bytes = int64_t{1} << 32;
  auto log = PartitionLog::open(o);
  REQUIRE(!log);
  CHECK(log.error().kind == StorageErrorKind::invalid_argument);
  CHECK(log.error().detail.find("segment.bytes") != std::string::npos);
}

TEST_CASE("storage: the log settings of a topic's configuration") {
  kfk::config::TopicConfig topic;
  topic.segment_bytes = 12345;
  topic.segment_ms = 777;
  topic.segment_jitter_ms = 55;
  topic.index_interval_bytes = 99;
  topic.retention_ms = 1000;
  topic.retention_bytes = 2000;
  topic.max_message_bytes = 3000;
  topic.message_timestamp_type = kfk::config::TimestampType::log_append_time;
  LogConfig c = log_config_from(topic, 4000);
  CHECK(c.segment_bytes == 12345);
  CHECK(c.segment_ms == 777);
  CHECK(c.segment_jitter_ms == 55);
  CHECK(c.index_interval_bytes == 99);
  CHECK(c.retention_ms == 1000);
  CHECK(c.retention_bytes == 2000);
  CHECK(c.max_message_bytes == 3000);
  CHECK(c.message_timestamp_type == TimestampType::log_append_time);
  CHECK(c.producer_id_expiration_ms == 4000);
  CHECK(c.validate().empty());
  topic.cleanup_delete = false;  // compact only: nothing expires
  CHECK(log_config_from(topic).retention_ms == -1);
  CHECK(log_config_from(topic).retention_bytes == -1);
}

TEST_CASE("storage: segment.jitter.ms rolls segments a little early") {
  LogConfig config;
  config.segment_ms = 1000;
  config.segment_jitter_ms = 400;
  for (int i = 0; i < 50; ++i) {
    int64_t jitter = config.segment_options().roll_jitter_ms;
    CHECK(jitter >= 0);
    CHECK(jitter < 400);
  }
  TempDir dir;
  auto log = open_log(dir.path() / "t-0", config);
  REQUIRE(append(*log, make_batch(1, 10'000)).ok());
  CHECK(!append(*log, make_batch(1, 10'600)).rolled);  // 600 < 1000 - 400
  CHECK(append(*log, make_batch(1, 11'001)).rolled);
}

TEST_CASE("storage: rolled segments are flushed and the recovery point follows") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 1000;
  auto log = open_log(tmp.path() / "t-0", config);
  auto nothing = log->flush_rolled_segments();
  REQUIRE(nothing);
  CHECK_FALSE(*nothing);
  for (int i = 0; i < 20; ++i) REQUIRE(append(*log, make_batch(2, 1'000'000 + i, 100)).ok());
  const auto bases = log->segment_base_offsets();
  REQUIRE(bases.size() > 2);
  CHECK(log->recovery_point() == 0);
  auto moved = log->flush_rolled_segments();
  REQUIRE(moved);
  CHECK(*moved);
  CHECK(log->recovery_point() == bases.back());
  auto again = log->flush_rolled_segments();
  REQUIRE(again);
  CHECK_FALSE(*again);
  // A reopen without a clean shutdown trusts the flushed segments and scans only the active one.
  const int64_t end = log->log_end_offset();
  const int64_t recovery_point = log->recovery_point();
  log.reset();
  PartitionLogOptions o;
  o.dir = tmp.path() / "t-0";
  o.config = config;
  o.recovery_point = recovery_point;
  o.now_ms = 1'000'000;
  auto reopened = PartitionLog::open(o);
  REQUIRE(reopened);
  CHECK((*reopened)->log_end_offset() == end);
  CHECK((*reopened)->load_summary().segments_recovered == 1);
}

TEST_CASE("storage: flush_up_to fsyncs once for the appends it covers") {
  TempDir tmp;
  auto log = open_log(tmp.path() / "t-0");
  auto first = append(*log, make_batch(2, 1'000'000, 10));
  auto second = append(*log, make_batch(3, 1'000'001, 10));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(log->recovery_point() == 0);
  // The second producer's flush covers the first one's records too.
  REQUIRE(log->flush_up_to(second.last_offset + 1).ok());
  CHECK(log->recovery_point() == 5);
  REQUIRE(log->flush_up_to(first.last_offset + 1).ok());
  CHECK(log->recovery_point() == 5);
  // No producer snapshot is written by these flushes.
  CHECK(log->snapshot_offsets().empty());
}

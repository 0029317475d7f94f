// LogManager: log dirs, placement, checkpoints, clean shutdown, interrupted deletions.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "server/storage/log_manager.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::record::Bytes;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<LogManager> open_manager(const std::vector<fs::path>& dirs) {
  LogManagerOptions o;
  o.log_dirs = dirs;
  o.default_config.segment_bytes = 2000;
  o.now_ms = 1'000'000;
  auto m = LogManager::open(o);
  REQUIRE_MESSAGE(m, m.error().message());
  return std::move(m).value();
}

void produce(PartitionLog& log, int n) {
  for (int i = 0; i < n; ++i) {
    Bytes b = make_batch(3, 1000 + i, 50);
    auto r = log.append(b);
    REQUIRE_MESSAGE(r.ok(), r.error_message);
  }
}

}  // namespace

TEST_CASE("storage: log manager places partitions, checkpoints and restarts cleanly") {
  TempDir tmp;
  std::vector<fs::path> dirs = {tmp.path() / "d1", tmp.path() / "d2"};
  LogConfig config;
  config.segment_bytes = 2000;
  {
    auto m = open_manager(dirs);
    for (int p = 0; p < 6; ++p) {
      auto log = m->create_partition({"orders", p}, config);
      REQUIRE(log);
      produce(**log, 10 + p);
    }
    // Balanced over the dirs.
    int in_first = 0;
    for (int p = 0; p < 6; ++p) in_first += m->dir_index({"orders", p}) == 0;
    CHECK(in_first == 3);
    CHECK(fs::is_directory(dirs[m->dir_index({"orders", 4})] / "orders-4"));
    // Creating again returns the same log.
    auto again = m->create_partition({"orders", 2}, config);
    CHECK(again->get() == m->partition({"orders", 2}).get());
    CHECK(m->partition({"nope", 0}) == nullptr);

    REQUIRE(m->partition({"orders", 1})->flush().ok());
    REQUIRE(m->partition({"orders", 1})->delete_records_before(5).ok());
    REQUIRE(m->checkpoint().ok());
    int d = m->dir_index({"orders", 1});
    auto rp = OffsetCheckpointFile(dirs[d] / std::string(kRecoveryPointCheckpoint)).read();
    REQUIRE(rp);
    CHECK(rp->at({"orders", 1}) == 33);
    auto starts = OffsetCheckpointFile(dirs[d] / std::string(kLogStartOffsetCheckpoint)).read();
    CHECK(starts->at({"orders", 1}) == 5);
    REQUIRE(m->shutdown().ok());
  }
  for (const fs::path& d : dirs) CHECK(fs::exists(d / std::string(kCleanShutdownFile)));
  {
    auto m = open_manager(dirs);
    CHECK(m->partitions().size() == 6);
    for (int p = 0; p < 6; ++p) {
      auto log = m->partition({"orders", p});
      REQUIRE(log);
      CHECK(log->log_end_offset() == 3 * (10 + p));
      CHECK(log->load_summary().segments_recovered == 0);  // clean: nothing scanned
    }
    CHECK(m->partition({"orders", 1})->log_start_offset() == 5);
    // The marker is consumed by the start.
    for (const fs::path& d : dirs) CHECK(!fs::exists(d / std::string(kCleanShutdownFile)));
  }
}

TEST_CASE("storage: log manager recovers after an unclean stop and finishes deletions") {
  TempDir tmp;
  std::vector<fs::path> dirs = {tmp.path() / "d1"};
  {
    auto m = open_manager(dirs);
    auto log = m->create_partition({"t", 0}, LogConfig{});
    REQUIRE(log);
    produce(**log, 5);
    REQUIRE(m->checkpoint().ok());  // recovery point 0: never flushed
    auto gone = m->create_partition({"gone", 0}, LogConfig{});
    REQUIRE(gone);
    produce(**gone, 2);
    REQUIRE(m->delete_partition({"gone", 0}).ok());
    CHECK(m->partition({"gone", 0}) == nullptr);
    Bytes late = make_batch(1);
    CHECK(!(*gone)->append(late).ok());  // a holder of the old log gets errors
    CHECK(!fs::exists(dirs[0] / "gone-0"));
    // An interrupted deletion from an earlier life.
    fs::create_directories(dirs[0] / "old-3.0123456789abcdef0123456789abcdef-delete");
  }  // the destructor shuts down cleanly; removing the marker makes the next start unclean
  fs::remove(dirs[0] / std::string(kCleanShutdownFile));
  auto m = open_manager(dirs);
  CHECK(m->partitions() == std::vector<TopicPartition>{{"t", 0}});
  CHECK(m->partition({"t", 0})->log_end_offset() == 15);
  CHECK(m->partition({"t", 0})->load_summary().segments_recovered == 1);
  CHECK(!fs::exists(dirs[0] / "old-3.0123456789abcdef0123456789abcdef-delete"));
}

TEST_CASE("storage: a partition log takes appends and reads from several threads") {
  TempDir tmp;
  auto m = open_manager({tmp.path() / "d"});
  auto created = m->create_partition({"mt", 0}, LogConfig{});
  REQUIRE(created);
  std::shared_ptr<PartitionLog> log = *created;
  constexpr int kThreads = 4, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Bytes b = make_batch(2, 1000 + t, 20);
        if (!log->append(b).ok()) ++failures;
        auto r = log->read(0, 4096);
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(log->log_end_offset() == kThreads * kPerThread * 2);
  auto all = log->read_bytes(0, 1 << 24);
  size_t batches = 0;
  kfk::record::BatchIterator it(all.bytes);
  int64_t expect = 0;
  while (auto b = it.next()) {
    CHECK(b->base_offset() == expect);
    expect = b->next_offset();
    ++batches;
  }
  CHECK(batches == kThreads * kPerThread);
}

TEST_CASE("storage: several recovery threads open every partition of a log dir") {
  TempDir tmp;
  std::vector<fs::path> dirs = {tmp.path() / "d1"};
  constexpr int kPartitions = 40;
  {
    auto m = open_manager(dirs);
    for (int p = 0; p < kPartitions; ++p) {
      auto log = m->create_partition({"many", p}, LogConfig{});
      REQUIRE(log);
      produce(**log, 1 + p % 7);
    }
  }
  // An unclean start, with a torn tail in every third partition.
  fs::remove(dirs[0] / std::string(kCleanShutdownFile));
  for (int p = 0; p < kPartitions; p += 3) {
    fs::path log = dirs[0] / ("many-" + std::to_string(p)) / "00000000000000000000.log";
    fs::resize_file(log, fs::file_size(log) - 7);
  }
  LogManagerOptions o;
  o.log_dirs = dirs;
  o.recovery_threads = 4;
  std::atomic<int> config_calls{0};
  o.config_for = [&](const TopicPartition&) {
    ++config_calls;
    return LogConfig{};
  };
  auto m = LogManager::open(o);
  REQUIRE_MESSAGE(m, m.error().message());
  CHECK(config_calls == kPartitions);
  CHECK((*m)->partitions().size() == kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    auto log = (*m)->partition({"many", p});
    REQUIRE(log);
    const int batches = 1 + p % 7 - (p % 3 == 0 ? 1 : 0);  // the torn last batch is cut
    CHECK(log->log_end_offset() == 3 * batches);
    CHECK(log->load_summary().segments_recovered == 1);
  }
}

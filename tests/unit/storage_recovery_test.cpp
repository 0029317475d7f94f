// Crash recovery: torn and corrupt tails, lost or damaged indexes, leftover files.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <vector>

#include "server/storage/partition_log.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::record::BatchIterator;
using kfk::record::Bytes;
using kfk::storage::testing::make_batch;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<PartitionLog> open_log(const fs::path& dir, const LogConfig& config,
                                       int64_t recovery_point, bool clean = false) {
  PartitionLogOptions o;
  o.dir = dir;
  o.config = config;
  o.recovery_point = recovery_point;
  o.clean_shutdown = clean;
  o.now_ms = 5'000'000;
  auto log = PartitionLog::open(o);
  REQUIRE_MESSAGE(log, log.error().message());
  return std::move(log).value();
}

void append_n(PartitionLog& log, int n, int records = 2, size_t value_bytes = 30) {
  for (int i = 0; i < n; ++i) {
    AppendOptions o;
    o.now_ms = 5'000'000;
    Bytes batch = make_batch(records, 1'000 + i, value_bytes);
    auto r = log.append(batch, o);
    REQUIRE_MESSAGE(r.ok(), r.error_message);
  }
}

std::vector<uint8_t> read_file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Copies the directory as it is now, without closing the log: what a crash would leave if
// the page cache reached the disk.
void copy_dir(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::create_directories(to.parent_path());
  fs::copy(from, to, fs::copy_options::recursive);
}

fs::path log_file(const fs::path& dir, int64_t base) {
  return dir / offset_file_name(base, ".log");
}

size_t batch_count(const std::vector<uint8_t>& bytes) {
  size_t n = 0;
  BatchIterator it(bytes);
  while (it.next()) ++n;
  return n;
}

}  // namespace

TEST_CASE("storage: a torn last batch is cut at every byte") {
  TempDir tmp;
  LogConfig config;
  config.segment_index_bytes = 4096;  // the directory is copied for every cut
  config.segment_bytes = 1500;
  fs::path live = tmp.path() / "live" / "t-0";
  auto log = open_log(live, config, 0);
  append_n(*log, 30);
  REQUIRE(log->flush(0).ok());
  const int64_t rp = log->recovery_point();
  append_n(*log, 3);
  const int64_t active = log->segment_base_offsets().back();
  const std::vector<uint8_t> good = log->read_bytes(0, 1 << 20).bytes;
  const auto active_bytes = read_file_bytes(log_file(live, active));
  append_n(*log, 1, 2, 40);
  const auto with_last = read_file_bytes(log_file(live, active));
  REQUIRE(with_last.size() > active_bytes.size());

  for (size_t cut = active_bytes.size(); cut < with_last.size(); ++cut) {
    CAPTURE(cut);
    fs::path copy = tmp.path() / "copy" / "t-0";
    copy_dir(live, copy);
    fs::resize_file(log_file(copy, active), cut);
    auto reopened = open_log(copy, config, rp);
    CHECK(reopened->log_end_offset() == log->log_end_offset() - 2);
    CHECK(reopened->load_summary().bytes_truncated == cut - active_bytes.size());
    CHECK(reopened->read_bytes(0, 1 << 20).bytes == good);
    // Appends go on from the last whole batch.
    AppendOptions o;
    o.now_ms = 5'000'000;
    Bytes one = make_batch(1);
    CHECK(reopened->append(one, o).first_offset == log->log_end_offset() - 2);
  }
}

TEST_CASE("storage: garbage after the last batch is dropped") {
  TempDir tmp;
  LogConfig config;
  config.segment_index_bytes = 4096;
  fs::path live = tmp.path() / "live" / "t-0";
  auto log = open_log(live, config, 0);
  append_n(*log, 10);
  const auto good = log->read_bytes(0, 1 << 20).bytes;
  std::mt19937 rng(3);
  for (size_t garbage : {1u, 11u, 12u, 61u, 62u, 500u, 5000u}) {
    CAPTURE(garbage);
    fs::path copy = tmp.path() / "copy" / "t-0";
    copy_dir(live, copy);
    auto bytes = read_file_bytes(log_file(copy, 0));
    for (size_t i = 0; i < garbage; ++i) bytes.push_back(static_cast<uint8_t>(rng()));
    write_file_bytes(log_file(copy, 0), bytes);
    auto reopened = open_log(copy, config, 0);
    CHECK(reopened->log_end_offset() == 20);
    CHECK(reopened->load_summary().bytes_truncated == garbage);
    CHECK(reopened->read_bytes(0, 1 << 20).bytes == good);
    CHECK(fs::file_size(log_file(copy, 0)) == good.size());
  }
}

TEST_CASE("storage: a corrupt byte in the last batch cuts it off") {
  TempDir tmp;
  LogConfig config;
  config.segment_index_bytes = 4096;
  fs::path live = tmp.path() / "live" / "t-0";
  auto log = open_log(live, config, 0);
  append_n(*log, 8);
  const auto good = log->read_bytes(0, 1 << 20).bytes;
  append_n(*log, 1, 3, 20);
  const auto all = read_file_bytes(log_file(live, 0));
  // The CRC covers bytes 21 on; the length, magic and CRC fields are checked by framing and
  // by the CRC itself. (baseOffset and partitionLeaderEpoch are outside any checksum, as in
  // Kafka.)
  for (size_t at = good.size() + 8; at < all.size(); ++at) {
    if (at >= good.size() + 12 && at < good.size() + 16) continue;  // leader epoch
    CAPTURE(at - good.size());
    fs::path copy = tmp.path() / "copy" / "t-0";
    copy_dir(live, copy);
    auto bytes = all;
    bytes[at] ^= 0x41;
    write_file_bytes(log_file(copy, 0), bytes);
    auto reopened = open_log(copy, config, 0);
    CHECK(reopened->log_end_offset() == 16);
    CHECK(reopened->read_bytes(0, 1 << 20).bytes == good);
  }
}

TEST_CASE("storage: corruption inside an unflushed segment drops everything after it") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 1000;
  fs::path live = tmp.path() / "t-0";
  int64_t cut_base = 0;
  size_t segments = 0;
  std::vector<uint8_t> before;
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 40);
    auto bases = log->segment_base_offsets();
    segments = bases.size();
    REQUIRE(segments >= 5);
    cut_base = bases[2];
    before = log->read_bytes(0, 1 << 20).bytes;
    REQUIRE(log->close().ok());
  }
  // Damage the second batch of the third segment.
  auto bytes = read_file_bytes(log_file(live, cut_base));
  size_t first_size =
      kfk::record::kLogOverhead + static_cast<size_t>(kfk::record::BatchView(bytes).batch_length());
  bytes[first_size + 40] ^= 0xff;
  write_file_bytes(log_file(live, cut_base), bytes);

  auto log = open_log(live, config, /*recovery_point=*/0);
  CHECK(log->log_end_offset() == cut_base + 2);
  CHECK(log->segment_count() == 3);
  CHECK(log->load_summary().segments_deleted == segments - 3);
  CHECK(log->load_summary().segments_recovered == 3);
  auto after = log->read_bytes(0, 1 << 20).bytes;
  CHECK(after.size() < before.size());
  CHECK(std::equal(after.begin(), after.end(), before.begin()));
  for (int64_t base : {cut_base + 100, cut_base + 1000}) CHECK(!fs::exists(log_file(live, base)));
}

TEST_CASE("storage: trusted segments with missing or damaged indexes are rebuilt") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 2000;
  config.index_interval_bytes = 100;
  fs::path live = tmp.path() / "t-0";
  std::vector<uint8_t> index_before, time_before;
  int64_t end = 0;
  std::vector<uint8_t> data;
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 60);
    REQUIRE(log->segment_count() >= 3);
    end = log->log_end_offset();
    data = log->read_bytes(0, 1 << 20).bytes;
    REQUIRE(log->close().ok());
  }
  index_before = read_file_bytes(live / offset_file_name(0, ".index"));
  time_before = read_file_bytes(live / offset_file_name(0, ".timeindex"));
  REQUIRE(index_before.size() > 16);

  SUBCASE("missing offset index") { fs::remove(live / offset_file_name(0, ".index")); }
  SUBCASE("missing time index") { fs::remove(live / offset_file_name(0, ".timeindex")); }
  SUBCASE("offset index of a wrong length") {
    auto b = index_before;
    b.push_back(1);
    write_file_bytes(live / offset_file_name(0, ".index"), b);
  }
  SUBCASE("offset index whose last entry goes backwards") {
    auto b = index_before;
    std::fill(b.end() - 8, b.end(), 0);
    write_file_bytes(live / offset_file_name(0, ".index"), b);
  }
  SUBCASE("offset index pointing past the log") {
    auto b = index_before;
    std::fill(b.end() - 4, b.end(), 0x7f);
    write_file_bytes(live / offset_file_name(0, ".index"), b);
  }
  SUBCASE("time index going backwards") {
    auto b = time_before;
    std::fill(b.end() - 12, b.end() - 4, 0);
    write_file_bytes(live / offset_file_name(0, ".timeindex"), b);
  }

  auto log = open_log(live, config, end);  // everything but the last segment trusted
  CHECK(log->load_summary().indexes_rebuilt == 1);
  CHECK(log->load_summary().bytes_truncated == 0);
  CHECK(log->log_end_offset() == end);
  CHECK(log->read_bytes(0, 1 << 20).bytes == data);
  for (int64_t o = 0; o < end; o += 3) {
    auto r = log->read_bytes(o, 1);
    REQUIRE(r.ok());
    CHECK(kfk::record::BatchView(r.bytes).last_offset() >= o);
  }
  REQUIRE(log->close().ok());
  CHECK(read_file_bytes(live / offset_file_name(0, ".index")) == index_before);
  CHECK(read_file_bytes(live / offset_file_name(0, ".timeindex")) == time_before);
}

TEST_CASE("storage: opening trusts segments below the recovery point without reading them") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 1000;
  fs::path live = tmp.path() / "t-0";
  int64_t end = 0;
  size_t segments = 0;
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 50);
    end = log->log_end_offset();
    segments = log->segment_count();
    REQUIRE(log->close().ok());
  }
  // Damage the middle of a trusted segment: a trusted open does not look there.
  auto bytes = read_file_bytes(log_file(live, 0));
  bytes[bytes.size() / 2] ^= 0xff;
  write_file_bytes(log_file(live, 0), bytes);
  {
    auto log = open_log(live, config, end);
    CHECK(log->load_summary().segments_trusted == segments - 1);
    CHECK(log->load_summary().segments_recovered == 1);
    CHECK(log->log_end_offset() == end);
    REQUIRE(log->close().ok());
  }
  {
    auto log = open_log(live, config, 0, /*clean=*/true);
    CHECK(log->load_summary().segments_trusted == segments);
    CHECK(log->load_summary().segments_recovered == 0);
    CHECK(log->recovery_point() == end);
    REQUIRE(log->close().ok());
  }
  // Without a recovery point the damage is found and the log cut there.
  auto log = open_log(live, config, 0);
  CHECK(log->log_end_offset() < end);
  CHECK(log->segment_count() == 1);
}

TEST_CASE("storage: a crash with preallocated indexes recovers") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 3000;
  config.index_interval_bytes = 200;
  fs::path live = tmp.path() / "live" / "t-0";
  auto log = open_log(live, config, 0);
  append_n(*log, 50);
  REQUIRE(log->flush(0).ok());
  append_n(*log, 7);
  const auto data = log->read_bytes(0, 1 << 20).bytes;
  const int64_t end = log->log_end_offset();
  const int64_t active = log->segment_base_offsets().back();
  CHECK(fs::file_size(live / offset_file_name(active, ".index")) == 10u << 20);
  fs::path copy = tmp.path() / "copy" / "t-0";
  copy_dir(live, copy);
  auto reopened = open_log(copy, config, log->recovery_point());
  CHECK(reopened->log_end_offset() == end);
  CHECK(reopened->read_bytes(0, 1 << 20).bytes == data);
  CHECK(batch_count(reopened->read_bytes(0, 1 << 20).bytes) == 57);
}

TEST_CASE("storage: leftover files are cleaned up and swap files put in place") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 1000;
  fs::path live = tmp.path() / "t-0";
  std::vector<int64_t> bases;
  std::vector<uint8_t> data;
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 30);
    bases = log->segment_base_offsets();
    data = log->read_bytes(0, 1 << 20).bytes;
    REQUIRE(log->close().ok());
  }
  REQUIRE(bases.size() >= 4);
  // An interrupted deletion, a cleaner's unfinished output, a half-written snapshot and an
  // index whose log is gone.
  write_file_bytes(live / (offset_file_name(bases[1], ".log") + ".deleted"), {1, 2, 3});
  write_file_bytes(live / (offset_file_name(bases[1], ".log") + ".cleaned"), {1, 2, 3});
  write_file_bytes(live / (offset_file_name(99, ".snapshot") + ".tmp"), {1});
  write_file_bytes(live / offset_file_name(777777, ".index"), {});
  // A swap replacing segments 0 and 1 by one segment holding both (as compaction would).
  auto merged = read_file_bytes(log_file(live, bases[0]));
  auto second = read_file_bytes(log_file(live, bases[1]));
  merged.insert(merged.end(), second.begin(), second.end());
  write_file_bytes(live / (offset_file_name(bases[0], ".log") + ".swap"), merged);

  auto log = open_log(live, config, 0);
  CHECK(log->load_summary().leftover_files_removed == 4);
  CHECK(log->load_summary().swap_files_applied == 1);
  auto after = log->segment_base_offsets();
  CHECK(after.size() == bases.size() - 1);
  CHECK(after.front() == bases[0]);
  CHECK(after[1] == bases[2]);
  CHECK(log->read_bytes(0, 1 << 20).bytes == data);
  for (const auto& de : fs::directory_iterator(live)) {
    std::string name = de.path().filename().string();
    CHECK(name.find(".deleted") == std::string::npos);
    CHECK(name.find(".cleaned") == std::string::npos);
    CHECK(name.find(".swap") == std::string::npos);
    CHECK(name.find(".tmp") == std::string::npos);
    CHECK(name.find("777777") == std::string::npos);
  }
}

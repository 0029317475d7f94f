// Crash recovery: torn and corrupt tails, lost or damaged indexes, leftover files.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>
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
                                       int64_t recovery_point, bool clean = false,
                                       int64_t log_start_offset = 0) {
  PartitionLogOptions o;
  o.dir = dir;
  o.config = config;
  o.recovery_point = recovery_point;
  o.log_start_offset = log_start_offset;
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

namespace {

// Where each batch of a .log file is, read from its bytes.
struct FileBatch {
  size_t position = 0;
  size_t size = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
};

std::vector<FileBatch> file_batches(const std::vector<uint8_t>& bytes) {
  std::vector<FileBatch> out;
  BatchIterator it(bytes);
  while (auto b = it.next()) {
    out.push_back({static_cast<size_t>(b->bytes().data() - bytes.data()), b->size(),
                   b->base_offset(), b->last_offset()});
  }
  return out;
}

// Flips `n` bytes from `at` (xor, so every byte changes).
void flip_bytes(const fs::path& file, size_t at, size_t n) {
  auto bytes = read_file_bytes(file);
  REQUIRE(at + n <= bytes.size());
  for (size_t i = at; i < at + n; ++i) bytes[i] ^= 0xa5;
  write_file_bytes(file, bytes);
}

// Reads the log from its start as a consumer would: batches in order, CRC-checked; a batch that
// fails its check is asked for again (so the broker checks it), and an offset the log answers
// CORRUPT_MESSAGE for is skipped to the end of its damaged range. Returns the offsets read.
std::set<int64_t> read_everything(const PartitionLog& log) {
  std::set<int64_t> offsets;
  int64_t next = log.log_start_offset();
  const int64_t end = log.log_end_offset();
  int guard = 0;
  while (next < end && ++guard < 10'000) {
    auto r = log.read_bytes(next, 1 << 20);
    if (r.error == kfk::protocol::ErrorCode::corrupt_message) {
      int64_t skip_to = -1;
      for (const DamagedRange& d : log.damaged_ranges())
        if (d.holds(next)) skip_to = d.next_offset;
      REQUIRE_MESSAGE(skip_to > next, "no damaged range holds offset " << next);
      next = skip_to;
      continue;
    }
    REQUIRE_MESSAGE(r.ok(), r.error_message);
    REQUIRE(!r.bytes.empty());
    BatchIterator it(r.bytes);
    while (auto b = it.next()) {
      if (!b->validate().ok()) break;  // damaged: fetch from here again
      if (b->last_offset() < next) continue;
      for (int64_t o = b->base_offset(); o <= b->last_offset(); ++o) offsets.insert(o);
      next = b->next_offset();
    }
  }
  REQUIRE(guard < 10'000);
  return offsets;
}

std::set<int64_t> offset_range(int64_t from, int64_t to) {
  std::set<int64_t> out;
  for (int64_t o = from; o < to; ++o) out.insert(o);
  return out;
}

}  // namespace

TEST_CASE("storage: 64 flipped bytes in a sealed segment cost only the batches they hit") {
  TempDir tmp;
  LogConfig config;
  config.segment_bytes = 4000;
  config.index_interval_bytes = 1000;
  fs::path live = tmp.path() / "t-0";
  std::vector<int64_t> bases;
  int64_t end = 0;
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 60, 5, 100);  // batches of about 700 bytes, 5 or 6 a segment
    bases = log->segment_base_offsets();
    end = log->log_end_offset();
    REQUIRE(log->close().ok());
  }
  REQUIRE(bases.size() >= 6);
  const int64_t damaged_base = bases[2];
  const auto batches = file_batches(read_file_bytes(log_file(live, damaged_base)));
  REQUIRE(batches.size() >= 4);

  // Where the bytes go, and the batches they cost.
  size_t at = 0;
  size_t first_lost = 0;
  size_t last_lost = 0;
  SUBCASE("inside one batch") {
    at = batches[1].position + 100;
    first_lost = last_lost = 1;
  }
  SUBCASE("across the header of the next batch") {
    at = batches[2].position - 32;
    first_lost = 1;
    last_lost = 2;
  }
  SUBCASE("in the last batch of the segment") {
    at = batches.back().position + 200;
    first_lost = last_lost = batches.size() - 1;
  }
  flip_bytes(log_file(live, damaged_base), at, 64);
  const int64_t lost_from = batches[first_lost].base_offset;
  const int64_t lost_to = batches[last_lost].last_offset + 1;
  const size_t range_end = last_lost + 1 < batches.size()
                               ? batches[last_lost + 1].position
                               : fs::file_size(log_file(live, damaged_base));
  std::set<int64_t> intact = offset_range(0, end);
  for (int64_t o = lost_from; o < lost_to; ++o) intact.erase(o);

  auto check_range = [&](const PartitionLog& log) {
    auto ranges = log.damaged_ranges();
    REQUIRE(ranges.size() == 1);
    CHECK(ranges[0].segment_base == damaged_base);
    CHECK(ranges[0].start_position == batches[first_lost].position);
    CHECK(ranges[0].end_position == range_end);
    CHECK(ranges[0].first_offset == lost_from);
    CHECK(ranges[0].next_offset == lost_to);
    CHECK(!ranges[0].reason.empty());
  };

  // A crash start finds the damage; a clean start reads nothing but knows the ranges kept
  // beside the segment (<base>.damaged); without that file the first read finds it.
  const fs::path kept = live / offset_file_name(damaged_base, kDamagedSuffix);
  for (const char* start : {"crash", "clean", "clean without the kept ranges"}) {
    CAPTURE(start);
    const bool crash = start == std::string_view("crash");
    if (start == std::string_view("clean without the kept ranges")) {
      REQUIRE(fs::exists(kept));
      fs::remove(kept);
    }
    auto log = open_log(live, config, /*recovery_point=*/0, /*clean=*/!crash);
    // Nothing deleted, nothing cut.
    CHECK(log->segment_base_offsets() == bases);
    CHECK(log->log_end_offset() == end);
    CHECK(log->load_summary().bytes_truncated == 0);
    if (crash) {
      CHECK(log->load_summary().damaged_ranges == 1);
      check_range(*log);
    } else if (start == std::string_view("clean")) {
      check_range(*log);
    } else {
      CHECK(log->damaged_ranges().empty());
    }
    CHECK(read_everything(*log) == intact);
    check_range(*log);  // known now, however it was found
    // The damaged offsets answer CORRUPT_MESSAGE; the rest of the partition reads.
    CHECK(log->read(lost_from, 1 << 20).error == kfk::protocol::ErrorCode::corrupt_message);
    CHECK(log->read(lost_to - 1, 1 << 20).error == kfk::protocol::ErrorCode::corrupt_message);
    if (lost_to < end) CHECK(log->read(lost_to, 1 << 20).ok());
    CHECK(log->read(lost_from - 1, 1 << 20).ok());
    // Appends go on.
    append_n(*log, 1);
    for (int64_t o = end; o < end + 2; ++o) intact.insert(o);
    end += 2;
    REQUIRE(log->close().ok());
  }

  // The way past it: the log start moves to the next good offset and the range is forgotten.
  auto log = open_log(live, config, 0);
  REQUIRE(log->damaged_ranges().size() == 1);
  const int64_t log_end = log->log_end_offset();
  auto start = log->delete_records_before(lost_to);
  REQUIRE_MESSAGE(start, start.error().message());
  CHECK(*start == lost_to);
  CHECK(log->damaged_ranges().empty());
  CHECK(read_everything(*log) == offset_range(lost_to, log_end));
  REQUIRE(log->close().ok());
  // And stays forgotten after a crash restart that finds it again.
  log = open_log(live, config, 0, false, lost_to);  // the log start, as its checkpoint keeps it
  CHECK(log->log_start_offset() == lost_to);
  CHECK(log->damaged_ranges().empty());
  CHECK(read_everything(*log) == offset_range(lost_to, log_end));
}

TEST_CASE("storage: 64 flipped bytes in the middle of the active segment keep what follows") {
  TempDir tmp;
  LogConfig config;
  config.index_interval_bytes = 1000;
  fs::path live = tmp.path() / "t-0";
  int64_t end = 0;
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 20, 5, 100);
    end = log->log_end_offset();
    REQUIRE(log->segment_count() == 1);
    REQUIRE(log->close().ok());
  }
  const auto batches = file_batches(read_file_bytes(log_file(live, 0)));
  REQUIRE(batches.size() == 20);
  flip_bytes(log_file(live, 0), batches[10].position + 300, 64);
  std::set<int64_t> intact = offset_range(0, end);
  for (int64_t o = batches[10].base_offset; o <= batches[10].last_offset; ++o) intact.erase(o);

  for (bool crash : {true, false}) {
    CAPTURE(crash);
    auto log = open_log(live, config, 0, !crash);
    CHECK(log->log_end_offset() == end);
    CHECK(log->load_summary().bytes_truncated == 0);
    // Found by recovery, or (clean start) kept beside the segment by the start before.
    CHECK(log->damaged_ranges().size() == 1u);
    CHECK(read_everything(*log) == intact);
    auto ranges = log->damaged_ranges();
    REQUIRE(ranges.size() == 1);
    CHECK(ranges[0].start_position == batches[10].position);
    CHECK(ranges[0].end_position == batches[11].position);
    CHECK(ranges[0].first_offset == batches[10].base_offset);
    CHECK(ranges[0].next_offset == batches[11].base_offset);
    // New records land after the damage and read back.
    AppendOptions o;
    o.now_ms = 5'000'000;
    Bytes one = make_batch(1);
    CHECK(log->append(one, o).first_offset == end);
    CHECK(log->read_bytes(end, 1 << 20).ok());
    REQUIRE(log->close().ok());
    end += 1;
    intact.insert(end - 1);
  }
}

TEST_CASE("storage: a torn tail after damage in the active segment is still cut") {
  TempDir tmp;
  LogConfig config;
  fs::path live = tmp.path() / "t-0";
  {
    auto log = open_log(live, config, 0);
    append_n(*log, 10, 5, 100);
    REQUIRE(log->close().ok());
  }
  const auto batches = file_batches(read_file_bytes(log_file(live, 0)));
  flip_bytes(log_file(live, 0), batches[3].position + 100, 64);
  // A half-written last batch.
  fs::resize_file(log_file(live, 0), batches[9].position + 50);
  auto log = open_log(live, config, 0);
  CHECK(log->load_summary().bytes_truncated == 50);
  CHECK(log->log_end_offset() == batches[8].last_offset + 1);
  REQUIRE(log->damaged_ranges().size() == 1);
  CHECK(log->damaged_ranges()[0].first_offset == batches[3].base_offset);
  CHECK(log->damaged_ranges()[0].next_offset == batches[4].base_offset);
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
  // Without a recovery point the damage is found, and kept: no segment goes.
  auto log = open_log(live, config, 0);
  CHECK(log->log_end_offset() == end);
  CHECK(log->segment_count() == segments);
  CHECK(log->damaged_ranges().size() == 1);
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

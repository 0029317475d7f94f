// Metadata snapshots: a snapshot plus the log after it rebuilds the image a full replay
// gives; damaged snapshots fall back; a trimmed log without a usable snapshot is refused.
#include "server/cluster/metadata_snapshot.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include "core/config/broker_config.h"
#include "metadata_test_support.h"
#include "server/cluster/metadata_log.h"
#include "storage_test_support.h"

using namespace kfk::server;
using kfk::server::testing::MetadataNode;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct Node {
  kfk::config::BrokerConfig config = kfk::config::default_broker_config();
  std::unique_ptr<MetadataNode> controller;
  int32_t segment_bytes = kDefaultMetadataSegmentBytes;

  Node() {
    // Snapshots only when a test asks for them.
    config.metadata_log_max_record_bytes_between_snapshots = kNever;
    config.metadata_log_max_snapshot_interval_ms = 0;
  }

  kfk::storage::Result<std::unique_ptr<MetadataNode>> try_open(const fs::path& dir) {
    controller.reset();
    MetadataImage base;
    base.cluster_id = "test";
    base.controller_id = 1;
    base.brokers.push_back(BrokerEndpoint{1, "PLAINTEXT", "127.0.0.1", 9092, std::nullopt});
    return MetadataNode::open(
        config, dir, base, [](std::shared_ptr<const MetadataImage>) { return PublishOutcome{}; },
        segment_bytes);
  }
  void open(const fs::path& dir) {
    auto c = try_open(dir);
    REQUIRE_MESSAGE(c, c.error().message());
    controller = std::move(c).value();
  }
  void close() {
    if (controller) REQUIRE(controller->close().ok());
    controller.reset();
  }
};

fs::path log_dir(const fs::path& dir) { return dir / fmt::format("{}-0", kMetadataTopic); }

// Every difference between two images, for a readable failure.
std::string image_differences(const MetadataImage& a, const MetadataImage& b) {
  std::string out;
  if (a.offset != b.offset) out += fmt::format("offset {} vs {}\n", a.offset, b.offset);
  if (a.next_producer_id != b.next_producer_id)
    out += fmt::format("next producer id {} vs {}\n", a.next_producer_id, b.next_producer_id);
  if (a.cluster_configs != b.cluster_configs) out += "cluster configs differ\n";
  if (a.broker_configs != b.broker_configs) out += "broker configs differ\n";
  if (a.cluster_id != b.cluster_id || a.brokers.size() != b.brokers.size())
    out += "cluster differs\n";
  for (const auto& [name, topic] : a.topics) {
    const TopicState* other = b.find_topic(name);
    if (other == nullptr) {
      out += fmt::format("topic {} only in the first\n", name);
      continue;
    }
    if (topic->id != other->id) out += fmt::format("topic {}: ids differ\n", name);
    if (topic->internal != other->internal) out += fmt::format("topic {}: internal\n", name);
    if (topic->configs != other->configs) out += fmt::format("topic {}: configs differ\n", name);
    if (topic->partitions.size() != other->partitions.size()) {
      out += fmt::format("topic {}: {} vs {} partitions\n", name, topic->partitions.size(),
                         other->partitions.size());
      continue;
    }
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const PartitionState& p = topic->partitions[i];
      const PartitionState& q = other->partitions[i];
      if (p.partition != q.partition || p.leader != q.leader || p.leader_epoch != q.leader_epoch ||
          p.replicas != q.replicas || p.isr != q.isr)
        out += fmt::format("topic {}: partition {} differs\n", name, p.partition);
    }
  }
  for (const auto& [name, topic] : b.topics)
    if (a.find_topic(name) == nullptr) out += fmt::format("topic {} only in the second\n", name);
  return out;
}

// A random controller workload: topics with configs, more partitions, config changes,
// deletions, producer id blocks, dynamic broker settings.
class Workload {
 public:
  explicit Workload(uint32_t seed) : rng_(seed) {}

  void step(MetadataNode& c) {
    const int op = pick(0, 9);
    if (op <= 2 || live_.empty()) {
      NewTopic t;
      t.name = fmt::format("t{}", next_topic_++);
      t.num_partitions = pick(1, 4);
      if (pick(0, 1)) t.configs.emplace_back("cleanup.policy", pick(0, 1) ? "compact" : "delete");
      if (pick(0, 1)) t.configs.emplace_back("retention.ms", std::to_string(pick(1000, 99999)));
      REQUIRE(c.create_topic(t, false).result.ok());
      live_.push_back(t.name);
    } else if (op == 3) {
      const std::string& name = any_topic();
      const auto partitions = c.image()->find_topic(name)->partitions.size();
      REQUIRE(c.create_partitions(name, static_cast<int32_t>(partitions) + pick(1, 3), std::nullopt,
                                  false)
                  .ok());
    } else if (op == 4) {
      std::vector<ConfigChange> changes;
      if (pick(0, 1))
        changes.push_back({"retention.ms", ConfigOp::set, std::to_string(pick(1000, 99999))});
      else
        changes.push_back({"retention.ms", ConfigOp::remove, std::nullopt});
      if (pick(0, 2) == 0) changes.push_back({"max.message.bytes", ConfigOp::set, "2000000"});
      REQUIRE(c.alter_configs(ConfigResourceType::topic, any_topic(), changes, false, false).ok());
    } else if (op == 5) {
      const size_t i = static_cast<size_t>(pick(0, static_cast<int>(live_.size()) - 1));
      REQUIRE(c.delete_topic(live_[i]).ok());
      live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (op == 6) {
      std::string error;
      for (int i = pick(1, 1500); i > 0; --i) REQUIRE(c.next_producer_id(error));
    } else {
      const std::string resource = pick(0, 1) ? "" : "1";
      std::vector<ConfigChange> changes;
      const char* name = pick(0, 1) ? "log.retention.ms" : "log.roll.ms";
      if (pick(0, 2) == 0)
        changes.push_back({name, ConfigOp::remove, std::nullopt});
      else
        changes.push_back({name, ConfigOp::set, std::to_string(pick(60000, 999999))});
      auto r = c.alter_configs(ConfigResourceType::broker, resource, changes, false, false);
      REQUIRE_MESSAGE(r.ok(), r.message);
    }
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  const std::string& any_topic() {
    return live_[static_cast<size_t>(pick(0, static_cast<int>(live_.size()) - 1))];
  }

  std::mt19937 rng_;
  int next_topic_ = 0;
  std::vector<std::string> live_;
};

void copy_dir(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

void damage(const fs::path& file, bool truncate) {
  const auto size = fs::file_size(file);
  if (truncate) {
    fs::resize_file(file, size / 2);
    return;
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(size - 3));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(size - 3));
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("metadata snapshot: a snapshot plus the log after it equals a full replay") {
  for (uint32_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    TempDir tmp;
    const fs::path live = tmp.path() / "live";
    Node node;
    node.open(live);
    Workload work(seed);
    std::mt19937 rng(seed * 7919);
    std::vector<std::shared_ptr<const MetadataImage>> points;
    for (int i = 0; i < 300; ++i) {
      work.step(*node.controller);
      if (std::uniform_int_distribution<int>(0, 40)(rng) == 0)
        points.push_back(node.controller->image());
    }
    points.push_back(node.controller->image());  // a snapshot at the log end: an empty tail
    const auto final_image = node.controller->image();
    node.close();

    // The full replay agrees with the image the controller built while running.
    node.open(live);
    REQUIRE(image_differences(*node.controller->image(), *final_image) == "");
    node.close();

    for (size_t p = 0; p < points.size(); ++p) {
      CAPTURE(p);
      const fs::path copy = tmp.path() / fmt::format("copy{}", p);
      copy_dir(live, copy);
      auto written = write_snapshot(log_dir(copy), *points[p]);
      REQUIRE_MESSAGE(written, written.error().message());
      CHECK(written->file.end_offset == points[p]->offset + 1);
      node.open(copy);
      CHECK(image_differences(*node.controller->image(), *final_image) == "");
      node.close();
    }
  }
}

TEST_CASE("metadata snapshot: written by the controller, trims the log, survives restarts") {
  TempDir tmp;
  Node node;
  node.segment_bytes = 4096;
  node.config.metadata_log_max_record_bytes_between_snapshots = 6000;
  node.open(tmp.path());
  Workload work(42);
  for (int i = 0; i < 400; ++i) work.step(*node.controller);
  node.controller->wait_for_snapshots();
  CHECK(node.controller->snapshots_written() >= 3);
  const auto before = node.controller->image();
  node.close();

  auto snapshots = list_snapshots(log_dir(tmp.path()));
  REQUIRE(snapshots);
  REQUIRE(snapshots->size() == 2);  // the newest two are kept
  {
    auto log = MetadataLog::open(tmp.path(), node.segment_bytes);
    REQUIRE(log);
    // Segments below the older snapshot are gone; the log start never passes it.
    CHECK((*log)->log_start_offset() > 0);
    CHECK((*log)->log_start_offset() <= snapshots->front().end_offset);
    REQUIRE((*log)->close().ok());
  }

  node.open(tmp.path());
  CHECK(image_differences(*node.controller->image(), *before) == "");
  // More changes after the restart land on top of the loaded image.
  for (int i = 0; i < 50; ++i) work.step(*node.controller);
  node.controller->wait_for_snapshots();
  const auto after = node.controller->image();
  node.close();
  node.open(tmp.path());
  CHECK(image_differences(*node.controller->image(), *after) == "");
  node.close();

  SUBCASE("a torn newest snapshot falls back to the one before") {
    const fs::path newest = list_snapshots(log_dir(tmp.path()))->back().path;
    damage(newest, true);
    node.open(tmp.path());
    CHECK(image_differences(*node.controller->image(), *after) == "");
    // Set aside: the next snapshot keeps the good older one rather than the damaged one.
    CHECK(fs::exists(newest.string() + ".unusable"));
    CHECK(list_snapshots(log_dir(tmp.path()))->size() == 1);
    node.close();
  }
  SUBCASE("a corrupt newest snapshot falls back to the one before") {
    damage(list_snapshots(log_dir(tmp.path()))->back().path, false);
    node.open(tmp.path());
    CHECK(image_differences(*node.controller->image(), *after) == "");
    node.close();
  }
  SUBCASE("no usable snapshot and a trimmed log: refused, naming the directory") {
    const auto all = list_snapshots(log_dir(tmp.path()));
    for (const auto& s : *all) damage(s.path, true);
    auto refused = node.try_open(tmp.path());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find(log_dir(tmp.path()).string()) != std::string::npos);
    CHECK(refused.error().message().find("no usable snapshot") != std::string::npos);
  }
  SUBCASE("every snapshot deleted: refused") {
    const auto all = list_snapshots(log_dir(tmp.path()));
    for (const auto& s : *all) fs::remove(s.path);
    CHECK_FALSE(node.try_open(tmp.path()));
  }
}

TEST_CASE("metadata snapshot: leftover temporary files are removed at start") {
  TempDir tmp;
  Node node;
  node.open(tmp.path());
  NewTopic t;
  t.name = "a";
  t.num_partitions = 2;
  REQUIRE(node.controller->create_topic(t, false).result.ok());
  node.close();
  const fs::path leftover = log_dir(tmp.path()) / (snapshot_file_name(2, 0) + std::string(".tmp"));
  std::ofstream(leftover) << "half a snapshot";
  node.open(tmp.path());
  CHECK_FALSE(fs::exists(leftover));
  CHECK(node.controller->image()->find_topic("a") != nullptr);
  node.close();
}

TEST_CASE("metadata snapshot: file names and an empty image") {
  CHECK(snapshot_file_name(1234, 0) == "00000000000000001234-0000000000.checkpoint");
  auto parsed = parse_snapshot_file_name("/x/00000000000000001234-0000000007.checkpoint");
  REQUIRE(parsed);
  CHECK(parsed->end_offset == 1234);
  CHECK(parsed->epoch == 7);
  CHECK_FALSE(parse_snapshot_file_name("00000000000000001234-0000000007.checkpoint.tmp"));
  CHECK_FALSE(parse_snapshot_file_name("00000000000000001234.log"));

  TempDir tmp;
  MetadataImage empty;
  empty.offset = 9;
  auto written = write_snapshot(tmp.path(), empty);
  REQUIRE(written);
  auto records = read_snapshot(written->file.path);
  REQUIRE_MESSAGE(records, records.error().message());
  MetadataImage loaded;
  auto snapshot = load_newest_snapshot(tmp.path(), loaded);
  REQUIRE(snapshot);
  REQUIRE(*snapshot);
  CHECK(loaded.offset == 9);
  CHECK(loaded.topics.empty());
}

TEST_CASE("metadata snapshot: the settings are validated like the others") {
  auto ok = kfk::config::make_broker_config(std::map<std::string, std::string>{
      {"metadata.log.segment.bytes", "1048576"},
      {"metadata.log.max.record.bytes.between.snapshots", "1000"},
      {"metadata.log.max.snapshot.interval.ms", "0"}});
  REQUIRE_MESSAGE(ok.ok(), ok.error_text());
  CHECK(ok.value().metadata_log_segment_bytes == 1048576);
  CHECK(ok.value().metadata_log_max_record_bytes_between_snapshots == 1000);
  CHECK(ok.value().metadata_log_max_snapshot_interval_ms == 0);
  const auto defaults = kfk::config::default_broker_config();
  CHECK(defaults.metadata_log_segment_bytes == 16 << 20);
  CHECK(defaults.metadata_log_max_record_bytes_between_snapshots == 20971520);
  CHECK(defaults.metadata_log_max_snapshot_interval_ms == 3600000);
  const std::vector<std::pair<std::string, std::string>> refused{
      {"metadata.log.segment.bytes", "4096"},
      {"metadata.log.segment.bytes", "big"},
      {"metadata.log.max.record.bytes.between.snapshots", "0"},
      {"metadata.log.max.snapshot.interval.ms", "-1"}};
  for (const auto& setting : refused) {
    CAPTURE(setting.first);
    auto bad = kfk::config::make_broker_config(std::map<std::string, std::string>{setting});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error_text().find(setting.first) != std::string::npos);
  }
}

TEST_CASE("metadata snapshot: by age, only when something was appended") {
  TempDir tmp;
  Node node;
  node.config.metadata_log_max_snapshot_interval_ms = 1;
  node.open(tmp.path());
  // Opening appends nothing, so no snapshot however old the last one is.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  node.controller->wait_for_snapshots();
  CHECK(node.controller->snapshots_written() == 0);
  NewTopic t;
  t.name = "aged";
  t.num_partitions = 1;
  REQUIRE(node.controller->create_topic(t, false).result.ok());
  node.controller->wait_for_snapshots();
  CHECK(node.controller->snapshots_written() == 1);
  node.close();

  // Disabled (0) and far from the byte threshold: none.
  TempDir other;
  Node quiet;
  quiet.config.metadata_log_max_snapshot_interval_ms = 0;
  quiet.open(other.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(quiet.controller->create_topic(t, false).result.ok());
  quiet.controller->wait_for_snapshots();
  CHECK(quiet.controller->snapshots_written() == 0);
  quiet.close();
  CHECK(list_snapshots(log_dir(other.path()))->empty());
}

TEST_CASE("metadata snapshot: an image of 10,000 topics round-trips") {
  MetadataImage image;
  image.controller_id = 1;
  image.brokers.push_back(BrokerEndpoint{1, "PLAINTEXT", "127.0.0.1", 9092, std::nullopt});
  image.next_producer_id = 5000;
  image.cluster_configs["log.retention.ms"] = "3600000";
  image.broker_configs[1]["log.roll.ms"] = "600000";
  for (int i = 0; i < 10'000; ++i) {
    auto topic = std::make_shared<TopicState>();
    topic->name = fmt::format("topic-{:05d}", i);
    topic->id = kfk::protocol::Uuid::random();
    for (int p = 0; p < 3; ++p) topic->partitions.push_back(PartitionState{p, 1, 0, {1}, {1}});
    topic->configs["retention.ms"] = std::to_string(1000 + i);
    topic->configs["cleanup.policy"] = "compact";
    image.topics[topic->name] = std::move(topic);
  }
  image.offset = 123'456;
  TempDir tmp;
  const auto started = std::chrono::steady_clock::now();
  auto written = write_snapshot(tmp.path(), image);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  REQUIRE(written);
  MESSAGE("10,000 topics: ", written->records, " records, ", written->bytes, " bytes in ", ms,
          " ms");
  MetadataImage loaded;
  loaded.controller_id = 1;
  loaded.brokers = image.brokers;
  auto snapshot = load_newest_snapshot(tmp.path(), loaded);
  REQUIRE(snapshot);
  REQUIRE(*snapshot);
  CHECK(image_differences(loaded, image) == "");
}

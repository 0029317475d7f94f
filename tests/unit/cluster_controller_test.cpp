// The controller and the metadata log: operations, validation, and replay after a restart.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config/broker_config.h"
#include "metadata_test_support.h"
#include "server/cluster/metadata_log.h"
#include "storage_test_support.h"

using namespace kfk::server;
using kfk::protocol::ErrorCode;
using kfk::server::testing::MetadataNode;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

struct Harness {
  kfk::config::BrokerConfig config = kfk::config::default_broker_config();
  std::shared_ptr<const MetadataImage> published;
  int publications = 0;
  std::unique_ptr<MetadataNode> controller;

  void open(const fs::path& dir) {
    controller.reset();
    MetadataImage base;
    base.cluster_id = "test";
    base.brokers.push_back(BrokerEndpoint{1, "PLAINTEXT", "127.0.0.1", 9092, std::nullopt});
    auto c =
        MetadataNode::open(config, dir, base, [this](std::shared_ptr<const MetadataImage> image) {
          published = std::move(image);
          ++publications;
          return PublishOutcome{};
        });
    REQUIRE_MESSAGE(c, c.error().message());
    controller = std::move(c).value();
  }
};

NewTopic topic(std::string name, int32_t partitions) {
  NewTopic t;
  t.name = std::move(name);
  t.num_partitions = partitions;
  return t;
}

}  // namespace

TEST_CASE("controller: topics, configs and producer ids survive a restart") {
  TempDir tmp;
  Harness h;
  h.open(tmp.path());
  auto orders = topic("orders", 3);
  orders.configs.emplace_back("cleanup.policy", "compact");
  auto created = h.controller->create_topic(orders, false);
  REQUIRE(created.result.ok());
  CHECK(created.num_partitions == 3);
  CHECK(created.replication_factor == 1);
  CHECK_FALSE(created.topic_id.is_zero());
  REQUIRE(h.controller->create_topic(topic("events", 1), false).result.ok());
  REQUIRE(h.controller->create_partitions("events", 4, std::nullopt, false).ok());
  std::vector<ConfigChange> changes{{"retention.ms", ConfigOp::set, "1000"}};
  REQUIRE(
      h.controller->alter_configs(ConfigResourceType::topic, "events", changes, false, false).ok());
  REQUIRE(h.controller->create_topic(topic("gone", 1), false).result.ok());
  REQUIRE(h.controller->delete_topic("gone").ok());
  std::string error;
  const auto pid1 = h.controller->next_producer_id(error);
  const auto pid2 = h.controller->next_producer_id(error);
  REQUIRE(pid1);
  REQUIRE(pid2);
  CHECK(*pid2 == *pid1 + 1);
  CHECK(h.published == h.controller->image());

  h.open(tmp.path());
  const auto image = h.controller->image();
  REQUIRE(image->topics.size() == 2);
  const TopicState* o = image->find_topic("orders");
  REQUIRE(o != nullptr);
  CHECK(o->id == created.topic_id);
  CHECK(o->partitions.size() == 3);
  CHECK(o->configs.at("cleanup.policy") == "compact");
  const TopicState* e = image->find_topic("events");
  REQUIRE(e != nullptr);
  CHECK(e->partitions.size() == 4);
  CHECK(e->partitions[3].leader == 1);
  CHECK(e->configs.at("retention.ms") == "1000");
  CHECK(image->find_topic("gone") == nullptr);
  // Ids are never handed out twice, even after a restart.
  const auto pid3 = h.controller->next_producer_id(error);
  REQUIRE(pid3);
  CHECK(*pid3 > *pid2);
}

TEST_CASE("controller: refuses invalid topics with Kafka's errors") {
  TempDir tmp;
  Harness h;
  h.open(tmp.path());
  REQUIRE(h.controller->create_topic(topic("a.b", 1), false).result.ok());
  CHECK(h.controller->create_topic(topic("a.b", 1), false).result.error ==
        ErrorCode::topic_already_exists);
  CHECK(h.controller->create_topic(topic("a_b", 1), false).result.error ==
        ErrorCode::invalid_topic_exception);
  CHECK(h.controller->create_topic(topic("bad name", 1), false).result.error ==
        ErrorCode::invalid_topic_exception);
  CHECK(h.controller->create_topic(topic(std::string(250, 'x'), 1), false).result.error ==
        ErrorCode::invalid_topic_exception);
  CHECK(h.controller->create_topic(topic("..", 1), false).result.error ==
        ErrorCode::invalid_topic_exception);
  CHECK(h.controller->create_topic(topic("__cluster_metadata", 1), false).result.error ==
        ErrorCode::invalid_topic_exception);
  CHECK(h.controller->create_topic(topic("zero", 0), false).result.error ==
        ErrorCode::invalid_partitions);
  auto rf3 = topic("rf3", 1);
  rf3.replication_factor = 3;
  CHECK(h.controller->create_topic(rf3, false).result.error ==
        ErrorCode::invalid_replication_factor);
  auto bad_config = topic("cfg", 1);
  bad_config.configs.emplace_back("retention.ms", "soon");
  auto r = h.controller->create_topic(bad_config, false);
  CHECK(r.result.error == ErrorCode::invalid_config);
  CHECK(r.result.message.find("retention.ms") != std::string::npos);
  auto unknown_config = topic("cfg", 1);
  unknown_config.configs.emplace_back("retention.msec", "1");
  CHECK(h.controller->create_topic(unknown_config, false).result.error ==
        ErrorCode::invalid_config);
  auto manual = topic("manual", -1);
  manual.assignments[0] = {1};
  manual.assignments[1] = {2};
  CHECK(h.controller->create_topic(manual, false).result.error ==
        ErrorCode::invalid_replica_assignment);
  manual.assignments[1] = {1};
  auto ok = h.controller->create_topic(manual, true);
  CHECK(ok.result.ok());
  CHECK(ok.num_partitions == 2);
  // validate_only changes nothing.
  CHECK(h.controller->image()->find_topic("manual") == nullptr);
  CHECK(h.controller->create_partitions("a.b", 1, std::nullopt, false).error ==
        ErrorCode::invalid_partitions);
  CHECK(h.controller->create_partitions("nope", 2, std::nullopt, false).error ==
        ErrorCode::unknown_topic_or_partition);
  CHECK(h.controller->delete_topic("nope").error == ErrorCode::unknown_topic_or_partition);
}

TEST_CASE("controller: incremental config operations and broker settings") {
  TempDir tmp;
  Harness h;
  h.open(tmp.path());
  REQUIRE(h.controller->create_topic(topic("t", 1), false).result.ok());
  std::vector<ConfigChange> append{{"cleanup.policy", ConfigOp::append, "compact"}};
  REQUIRE(h.controller->alter_configs(ConfigResourceType::topic, "t", append, false, false).ok());
  CHECK(h.controller->image()->find_topic("t")->configs.at("cleanup.policy") == "delete,compact");
  std::vector<ConfigChange> subtract{{"cleanup.policy", ConfigOp::subtract, "delete"}};
  REQUIRE(h.controller->alter_configs(ConfigResourceType::topic, "t", subtract, false, false).ok());
  CHECK(h.controller->image()->find_topic("t")->configs.at("cleanup.policy") == "compact");
  std::vector<ConfigChange> remove{{"cleanup.policy", ConfigOp::remove, std::nullopt}};
  REQUIRE(h.controller->alter_configs(ConfigResourceType::topic, "t", remove, false, false).ok());
  CHECK(h.controller->image()->find_topic("t")->configs.empty());
  std::vector<ConfigChange> not_list{{"retention.ms", ConfigOp::append, "5"}};
  CHECK(h.controller->alter_configs(ConfigResourceType::topic, "t", not_list, false, false).error ==
        ErrorCode::invalid_config);

  std::vector<ConfigChange> broker{{"log.retention.ms", ConfigOp::set, "5000"}};
  REQUIRE(h.controller->alter_configs(ConfigResourceType::broker, "", broker, false, false).ok());
  CHECK(h.controller->image()->cluster_configs.at("log.retention.ms") == "5000");
  std::vector<ConfigChange> read_only{{"node.id", ConfigOp::set, "5"}};
  CHECK_FALSE(
      h.controller->alter_configs(ConfigResourceType::broker, "1", read_only, false, false).ok());
  h.open(tmp.path());
  CHECK(h.controller->image()->cluster_configs.at("log.retention.ms") == "5000");
}

TEST_CASE("metadata log: a torn tail is dropped, committed records are kept") {
  TempDir tmp;
  Harness h;
  h.open(tmp.path());
  REQUIRE(h.controller->create_topic(topic("kept", 2), false).result.ok());
  h.controller.reset();
  const fs::path segment = tmp.path() / "__cluster_metadata-0" / "00000000000000000000.log";
  {
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    const char torn[] = "\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x01\x00garbage";
    out.write(torn, sizeof torn - 1);
  }
  h.open(tmp.path());
  CHECK(h.controller->image()->find_topic("kept") != nullptr);
  REQUIRE(h.controller->create_topic(topic("after", 1), false).result.ok());
  h.open(tmp.path());
  CHECK(h.controller->image()->topics.size() == 2);
}

TEST_CASE("metadata log: a damaged batch before valid ones stops the replay, naming it") {
  TempDir tmp;
  Harness h;
  h.open(tmp.path());
  for (const char* name : {"a", "b", "c"})
    REQUIRE(h.controller->create_topic(topic(name, 1), false).result.ok());
  h.controller.reset();
  const fs::path segment = tmp.path() / "__cluster_metadata-0" / "00000000000000000000.log";
  std::fstream file(segment, std::ios::binary | std::ios::in | std::ios::out);
  // The second batch: after the first, whose length is the big-endian int32 at byte 8.
  unsigned char length[4];
  file.seekg(8);
  file.read(reinterpret_cast<char*>(length), 4);
  const uint64_t second =
      12 + ((uint64_t{length[0]} << 24) | (length[1] << 16) | (length[2] << 8) | length[3]);
  file.seekp(static_cast<std::streamoff>(second + 64));  // in its records: the CRC fails
  file.write("damage", 6);
  file.close();

  auto c =
      MetadataNode::open(h.config, tmp.path(), MetadataImage{},
                         [](std::shared_ptr<const MetadataImage>) { return PublishOutcome{}; });
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == kfk::storage::StorageErrorKind::corrupt_batch);
  const std::string detail = c.error().detail;
  CHECK_MESSAGE(detail.find(segment.string()) != std::string::npos, detail);
  CHECK_MESSAGE(detail.find(fmt::format("bytes {}..", second)) != std::string::npos, detail);
}

TEST_CASE("controller: an image is published on the loader's thread, not the controller's") {
  // Publishing creates logs on disk. While one publication is under way, other requests are
  // still validated, and each request returns only once an image covering it is published.
  TempDir tmp;
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, held = false;
  std::vector<int64_t> published;
  MetadataImage base;
  base.cluster_id = "test";
  base.brokers.push_back(BrokerEndpoint{1, "PLAINTEXT", "127.0.0.1", 9092, std::nullopt});
  const auto config = kfk::config::default_broker_config();
  auto opened =
      MetadataNode::open(config, tmp.path(), base, [&](std::shared_ptr<const MetadataImage> image) {
        std::unique_lock lock(mu);
        published.push_back(image->offset);
        if (hold) {
          held = true;
          cv.notify_all();
          cv.wait(lock, [&] { return !hold; });
        }
        return PublishOutcome{};
      });
  REQUIRE(opened);
  auto controller = std::move(opened).value();
  {
    std::lock_guard lock(mu);
    hold = true;
  }
  std::thread creator(
      [&] { CHECK(controller->create_topic(topic("slow", 1), false).result.ok()); });
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return held; }));
  }
  // The publication is blocked: validation still answers, at once.
  auto validated = std::async(std::launch::async, [&] {
    return controller->create_topic(topic("other", 2), true).result.ok();
  });
  CHECK(validated.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  {
    std::lock_guard lock(mu);
    hold = false;
  }
  cv.notify_all();
  CHECK(validated.get());
  creator.join();
  // Published in order, each image once.
  std::lock_guard lock(mu);
  REQUIRE(published.size() == 2);
  CHECK(published[0] < published[1]);
}

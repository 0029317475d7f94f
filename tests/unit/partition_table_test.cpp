// The partition layer: how PartitionTable finds a partition to serve, and what
// PartitionManager keeps from one published table to the next.
#include <doctest/doctest.h>

#include "core/config/broker_config.h"
#include "server/partition/partition_manager.h"
#include "server/storage/log_manager.h"
#include "storage_test_support.h"

using kfk::protocol::ErrorCode;
using kfk::protocol::Uuid;
using namespace kfk::server;

namespace {

std::shared_ptr<TopicState> make_topic(const std::string& name, int partitions, int32_t leader,
                                       int32_t epoch = 3) {
  auto t = std::make_shared<TopicState>();
  t->name = name;
  t->id = Uuid::random();
  for (int p = 0; p < partitions; ++p) {
    PartitionState s;
    s.partition = p;
    s.leader = leader;
    s.leader_epoch = epoch;
    s.replicas = {leader};
    s.isr = {leader};
    t->partitions.push_back(s);
  }
  return t;
}

// A log dir and a partition manager for broker 1.
struct Fixture {
  kfk::storage::testing::TempDir tmp;
  std::unique_ptr<kfk::storage::LogManager> logs;
  kfk::config::BrokerConfig config = kfk::config::default_broker_config();
  std::unique_ptr<PartitionManager> manager;

  Fixture() {
    kfk::storage::LogManagerOptions o;
    o.log_dirs = {tmp.path()};
    auto m = kfk::storage::LogManager::open(o);
    REQUIRE_MESSAGE(m, m.error().message());
    logs = std::move(m).value();
    config.node_id = 1;
    manager = std::make_unique<PartitionManager>(config);
  }
};

}  // namespace

TEST_CASE("partition table: one lookup answers Kafka's error for each partition") {
  Fixture f;
  auto& logs = f.logs;
  PartitionManager& manager = *f.manager;

  auto image = std::make_shared<MetadataImage>();
  auto orders = make_topic("orders", 2, 1);
  auto elsewhere = make_topic("elsewhere", 1, 2);
  auto unlogged = make_topic("unlogged", 1, 1);
  image->topics = {{"orders", orders}, {"elsewhere", elsewhere}, {"unlogged", unlogged}};
  REQUIRE(logs->create_partition({"orders", 0}, {}));
  REQUIRE(logs->create_partition({"orders", 1}, {}));
  REQUIRE(logs->create_partition({"elsewhere", 0}, {}));
  manager.publish(image, {}, logs.get());
  const auto table = manager.table();

  auto found = table->leader("orders", 1);
  REQUIRE(found.ok());
  CHECK(found.partition->topic() == "orders");
  CHECK(found.partition->index() == 1);
  CHECK(&found.partition->log() == logs->partition({"orders", 1}).get());
  CHECK(found.state->leader_epoch == 3);
  REQUIRE(found.settings != nullptr);
  CHECK(found.settings->resolved.has_value());

  CHECK(table->leader("nope", 0).error == ErrorCode::unknown_topic_or_partition);
  CHECK(table->leader("orders", 2).error == ErrorCode::unknown_topic_or_partition);
  CHECK(table->leader("orders", -1).error == ErrorCode::unknown_topic_or_partition);
  // The topic is known even when the partition is not.
  CHECK(table->leader("orders", 7).topic == orders.get());
  // Led by another broker, though its log is here.
  CHECK(table->leader("elsewhere", 0).error == ErrorCode::not_leader_or_follower);
  CHECK(table->local("elsewhere", 0) != nullptr);
  // Led here by the image, but without a log: not served.
  CHECK(table->leader("unlogged", 0).error == ErrorCode::not_leader_or_follower);
  CHECK(table->local("unlogged", 0) == nullptr);

  // The client's leader epoch against the image's.
  CHECK(table->leader("orders", 0, 3).ok());
  CHECK(table->leader("orders", 0, -1).ok());
  CHECK(table->leader("orders", 0, 2).error == ErrorCode::fenced_leader_epoch);
  CHECK(table->leader("orders", 0, 4).error == ErrorCode::unknown_leader_epoch);

  // By topic id.
  CHECK(table->leader(orders->id, 0).ok());
  CHECK(table->topic(orders->id) == orders.get());
  CHECK(table->leader(Uuid::random(), 0).error == ErrorCode::unknown_topic_id);
  CHECK(table->leader(Uuid{}, 0).error == ErrorCode::unknown_topic_id);
  CHECK(table->leader(orders->id, 0, 2).error == ErrorCode::fenced_leader_epoch);
}

TEST_CASE("partition table: replicas and settings carry over while unchanged") {
  Fixture f;
  auto& logs = f.logs;
  auto& config = f.config;
  PartitionManager& manager = *f.manager;

  auto orders = make_topic("orders", 1, 1);
  auto first = std::make_shared<MetadataImage>();
  first->topics = {{"orders", orders}};
  REQUIRE(logs->create_partition({"orders", 0}, {}));
  manager.publish(first, manager.resolve_settings(*first, false), logs.get());
  const auto before = manager.table();
  const Partition* replica = before->leader("orders", 0).partition;
  const TopicSettings* settings = before->settings("orders");
  REQUIRE(replica != nullptr);
  CHECK(settings->log.retention_ms == config.log_defaults.retention_ms);

  // An image that leaves the topic as it was keeps its replica and its resolved settings.
  auto second = std::make_shared<MetadataImage>(*first);
  second->offset = 10;
  manager.publish(second, manager.resolve_settings(*second, false), logs.get());
  CHECK(manager.table()->leader("orders", 0).partition == replica);
  CHECK(manager.table()->settings("orders") == settings);
  // The earlier table is unchanged for a request still holding it.
  CHECK(&before->image() == first.get());

  // A changed override is resolved anew; the replica stays the same object.
  auto changed = std::make_shared<TopicState>(*orders);
  changed->configs["retention.ms"] = "1000";
  auto third = std::make_shared<MetadataImage>(*second);
  third->topics["orders"] = changed;
  manager.publish(third, manager.resolve_settings(*third, false), logs.get());
  CHECK(manager.table()->leader("orders", 0).partition == replica);
  CHECK(manager.table()->settings("orders")->log.retention_ms == 1000);

  // Changed broker layers resolve every topic again.
  auto fourth = std::make_shared<MetadataImage>(*third);
  fourth->cluster_configs["log.retention.ms"] = "5000";
  auto resolved = manager.resolve_settings(*fourth, true);
  CHECK(resolved.at("orders").get() != manager.table()->settings("orders"));

  // A topic whose log was deleted and created again gets a new replica.
  REQUIRE(logs->delete_partition({"orders", 0}).ok());
  REQUIRE(logs->create_partition({"orders", 0}, {}));
  manager.publish(fourth, std::move(resolved), logs.get());
  CHECK(manager.table()->leader("orders", 0).partition != replica);
}

TEST_CASE("partition manager: leadership listeners hear what is newly led and no longer led") {
  Fixture f;
  auto& logs = f.logs;
  PartitionManager& manager = *f.manager;
  std::vector<LeadershipChange> heard;
  auto record = [&](const LeadershipChange& c) { heard.push_back(c); };

  // Nothing led yet: the first call says so.
  auto watch = manager.watch_leadership("offsets", record);
  REQUIRE(heard.size() == 1);
  CHECK(heard[0].led.empty());
  CHECK(heard[0].resigned.empty());

  // The topic is created: both partitions are led; another topic's changes are not heard.
  auto image = std::make_shared<MetadataImage>();
  image->topics = {{"offsets", make_topic("offsets", 2, 1)}, {"other", make_topic("other", 1, 1)}};
  REQUIRE(logs->create_partition({"offsets", 0}, {}));
  REQUIRE(logs->create_partition({"offsets", 1}, {}));
  REQUIRE(logs->create_partition({"other", 0}, {}));
  manager.publish(image, manager.resolve_settings(*image, false), logs.get());
  REQUIRE(heard.size() == 2);
  CHECK(heard[1].topic == "offsets");
  CHECK(heard[1].led == std::vector<int32_t>{0, 1});
  CHECK(heard[1].resigned.empty());
  CHECK(heard[1].table == manager.table());

  // An image that leaves the topic as it was: no call.
  auto same = std::make_shared<MetadataImage>(*image);
  same->topics.erase("other");
  manager.publish(same, manager.resolve_settings(*same, false), logs.get());
  CHECK(heard.size() == 2);

  // Partition 1 moves to another broker, partition 0 gets a new leader epoch.
  auto moved = std::make_shared<MetadataImage>(*same);
  auto topic = std::make_shared<TopicState>(*same->topics.at("offsets"));
  topic->partitions[0].leader_epoch = 4;
  topic->partitions[1].leader = 2;
  moved->topics["offsets"] = topic;
  manager.publish(moved, manager.resolve_settings(*moved, false), logs.get());
  REQUIRE(heard.size() == 3);
  CHECK(heard[2].led == std::vector<int32_t>{0});
  CHECK(heard[2].resigned == std::vector<int32_t>{0, 1});

  // A second listener starts with what is led now; the topic deleted: both hear it.
  std::vector<LeadershipChange> second;
  auto watch2 =
      manager.watch_leadership("offsets", [&](const LeadershipChange& c) { second.push_back(c); });
  REQUIRE(second.size() == 1);
  CHECK(second[0].led == std::vector<int32_t>{0});
  auto gone = std::make_shared<MetadataImage>(*moved);
  gone->topics.erase("offsets");
  manager.publish(gone, manager.resolve_settings(*gone, false), logs.get());
  REQUIRE(heard.size() == 4);
  CHECK(heard[3].resigned == std::vector<int32_t>{0});
  REQUIRE(second.size() == 2);
  CHECK(second[1].resigned == std::vector<int32_t>{0});

  // A listener reset (or destroyed) hears nothing more, even after the manager is gone.
  watch.reset();
  manager.publish(image, manager.resolve_settings(*image, false), logs.get());
  CHECK(heard.size() == 4);
  CHECK(second.size() == 3);
  f.manager.reset();
  watch2.reset();
}

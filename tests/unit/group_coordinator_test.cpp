// The group coordinator's state machine against an in-memory store: joins, syncs,
// heartbeats, expiry, static membership, offsets, and reloading from the stored records.
#include "server/group/group_coordinator.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "core/client/consumer_protocol.h"
#include "server/group/group_records.h"

using namespace kfk::server::group;
using kfk::protocol::Bytes;
using kfk::protocol::ErrorCode;
using kfk::server::CoordinatorStore;
using kfk::server::StoreAppend;
using kfk::server::StoreLeadership;
using kfk::server::StoreRecord;

namespace {

// The records in memory. A test can hold a write's commit (commit_hook, called without the
// store's lock), hold a partition's load (read_hook), and move leadership.
class MemoryStore : public CoordinatorStore {
 public:
  int32_t partitions() override { return 3; }
  StoreAppend append(int32_t partition, const std::vector<StoreRecord>& records, int64_t) override {
    std::lock_guard lock(mu);
    StoreAppend a;
    a.partition = partition;
    if (fail) {
      a.error = ErrorCode::not_leader_or_follower;
      return a;
    }
    for (const auto& r : records) log[partition].push_back(r);
    a.end_offset = static_cast<int64_t>(log[partition].size());
    return a;
  }
  ErrorCode await_commit(const StoreAppend& a) override {
    std::function<ErrorCode(const StoreAppend&)> hook;
    {
      std::lock_guard lock(mu);
      hook = commit_hook;
    }
    return hook ? hook(a) : ErrorCode::none;
  }
  ErrorCode read_all(int32_t partition, const Visit& visit) override {
    std::function<void(int32_t)> hook;
    std::vector<StoreRecord> records;
    {
      std::lock_guard lock(mu);
      hook = read_hook;
      records = log[partition];
    }
    if (hook) hook(partition);
    for (const auto& r : records) {
      std::optional<std::span<const uint8_t>> value;
      if (r.value) value = std::span<const uint8_t>(*r.value);
      visit(std::span<const uint8_t>(r.key), value);
    }
    return ErrorCode::none;
  }
  // Every partition is led here from the start.
  void watch_leadership(LeadershipListener l) override {
    std::lock_guard lock(leadership_mu);
    listener = std::move(l);
    if (!listener) return;
    StoreLeadership all;
    for (int32_t p = 0; p < partitions(); ++p) all.led.push_back({p, has_records(p)});
    listener(all);
  }
  void move_leadership(const StoreLeadership& change) {
    std::lock_guard lock(leadership_mu);
    if (listener) listener(change);
  }
  bool has_records(int32_t partition) {
    std::lock_guard lock(mu);
    return !log[partition].empty();
  }
  void set_commit_hook(std::function<ErrorCode(const StoreAppend&)> hook) {
    std::lock_guard lock(mu);
    commit_hook = std::move(hook);
  }
  void set_read_hook(std::function<void(int32_t)> hook) {
    std::lock_guard lock(mu);
    read_hook = std::move(hook);
  }

  std::mutex mu;
  bool fail = false;
  std::map<int32_t, std::vector<StoreRecord>> log;
  std::function<ErrorCode(const StoreAppend&)> commit_hook;
  std::function<void(int32_t)> read_hook;
  std::mutex leadership_mu;
  LeadershipListener listener;
};

// A result delivered by a callback, awaited with a timeout.
template <class T>
struct Awaited {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> value;
  std::function<void(T)> callback() {
    return [this](T v) {
      std::lock_guard lock(mu);
      value = std::move(v);
      cv.notify_all();
    };
  }
  bool ready() {
    std::lock_guard lock(mu);
    return value.has_value();
  }
  T get(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, timeout, [&] { return value.has_value(); }));
    return *value;
  }
};

CoordinatorConfig test_config() {
  CoordinatorConfig c;
  c.min_session_timeout_ms = 10;
  c.initial_rebalance_delay_ms = 0;
  c.offsets_retention_check_interval_ms = 3600000;
  return c;
}

JoinRequest join_request(const std::string& member_id, int32_t session_ms = 10000,
                         std::optional<std::string> instance = std::nullopt) {
  JoinRequest r;
  r.group_id = "g";
  r.member_id = member_id;
  r.group_instance_id = std::move(instance);
  r.client_id = "client";
  r.client_host = "/127.0.0.1";
  r.session_timeout_ms = session_ms;
  r.rebalance_timeout_ms = session_ms;
  r.protocol_type = "consumer";
  r.protocols = {{"range", Bytes{1, 2, 3}}};
  return r;
}

// KIP-394: the first JoinGroup returns a member id, the second joins with it.
std::string member_id_for(GroupCoordinator& c, int32_t session_ms = 10000) {
  Awaited<JoinResult> first;
  c.join_group(join_request("", session_ms), first.callback());
  auto r = first.get();
  REQUIRE(r.error == ErrorCode::member_id_required);
  REQUIRE(!r.member_id.empty());
  return r.member_id;
}

SyncRequest sync_request(const JoinResult& j,
                         std::vector<std::pair<std::string, Bytes>> assignments = {}) {
  SyncRequest s;
  // Assigned from a std::string: GCC 12 at -O3 warns (-Wrestrict, a known false positive of
  // its string inlining) on assigning the literal here.
  s.group_id = std::string("g");
  s.generation_id = j.generation_id;
  s.member_id = j.member_id;
  s.assignments = std::move(assignments);
  return s;
}

// Waits (bounded) for a condition the coordinator's timer thread brings about.
template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return f();
}

}  // namespace

TEST_CASE("group records: Kafka's key and value formats round trip") {
  CommittedOffset c{42, 3, "meta", 1700000000000, -1};
  std::string error;
  auto key = offset_commit_key("grp", TopicPartitionKey{"t", 7});
  auto value = offset_commit_value(c);
  CHECK(key[0] == 0);
  CHECK(key[1] == 1);    // key version 1
  CHECK(value[1] == 3);  // OffsetCommitValue v3
  auto rec =
      parse_stored_record(std::span<const uint8_t>(key), std::span<const uint8_t>(value), error);
  REQUIRE_MESSAGE(rec, error);
  CHECK(rec->group_id == "grp");
  CHECK(rec->partition.topic == "t");
  CHECK(rec->partition.partition == 7);
  REQUIRE(rec->offset);
  CHECK(rec->offset->offset == 42);
  CHECK(rec->offset->leader_epoch == 3);
  CHECK(rec->offset->metadata == "meta");

  auto tomb = parse_stored_record(std::span<const uint8_t>(key), std::nullopt, error);
  REQUIRE(tomb);
  CHECK(!tomb->offset);

  Group g;
  g.group_id = "grp";
  g.protocol_type = "consumer";
  g.protocol_name = "range";
  g.generation_id = 5;
  g.leader_id = "m1";
  Member m;
  m.member_id = "m1";
  m.group_instance_id = "i1";
  m.client_id = "c";
  m.client_host = "/h";
  m.session_timeout_ms = 10000;
  m.rebalance_timeout_ms = 20000;
  m.protocols = {{"range", Bytes{9}}};
  m.assignment = Bytes{7, 7};
  g.members.emplace("m1", m);
  auto gkey = group_metadata_key("grp");
  auto gvalue = group_metadata_value(g, 1);
  CHECK(gkey[1] == 2);
  auto grec =
      parse_stored_record(std::span<const uint8_t>(gkey), std::span<const uint8_t>(gvalue), error);
  REQUIRE_MESSAGE(grec, error);
  CHECK(grec->kind == StoredRecord::Kind::group_metadata);
  CHECK(grec->group.generation_id == 5);
  CHECK(grec->group.state == GroupState::stable);
  REQUIRE(grec->group.members.count("m1") == 1);
  const Member& back = grec->group.members.at("m1");
  CHECK(back.group_instance_id == std::optional<std::string>("i1"));
  CHECK(back.rebalance_timeout_ms == 20000);
  CHECK(back.assignment == Bytes{7, 7});
  REQUIRE(back.metadata_for("range") != nullptr);
  CHECK(*back.metadata_for("range") == Bytes{9});
  CHECK(grec->group.static_members.at("i1") == "m1");

  // Garbage is reported, not trusted.
  Bytes junk{0, 9, 1};
  CHECK(!parse_stored_record(std::span<const uint8_t>(junk), std::nullopt, error));
  CHECK(!error.empty());
}

TEST_CASE("group records: partition of a group as Kafka computes it") {
  // abs(String.hashCode) mod partitions; "polygenelubricants" hashes to Integer.MIN_VALUE.
  CHECK(partition_for_group("abc", 50) == 96354 % 50);
  CHECK(partition_for_group("polygenelubricants", 50) == 0);
  CHECK(partition_for_group("\xC3\xA9", 1000) == 233);                  // U+00E9
  CHECK(partition_for_group("\xF0\x9F\x98\x80", 10000000) == 1772899);  // a surrogate pair
}

TEST_CASE("group coordinator: members join, the leader assigns, followers receive") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();

  const std::string a = member_id_for(c);
  Awaited<JoinResult> ja;
  c.join_group(join_request(a), ja.callback());
  auto ra = ja.get();
  REQUIRE(ra.error == ErrorCode::none);
  CHECK(ra.generation_id == 1);
  CHECK(ra.leader == a);
  CHECK(ra.protocol_name == std::optional<std::string>("range"));
  CHECK(ra.members.size() == 1);
  Awaited<SyncResult> sa;
  c.sync_group(sync_request(ra, {{a, Bytes{0xA}}}), sa.callback());
  CHECK(sa.get().assignment == Bytes{0xA});
  CHECK(c.describe_group("g").state == GroupState::stable);

  // A second member triggers a rebalance; the first learns it from its heartbeat.
  const std::string b = member_id_for(c);
  Awaited<JoinResult> jb;
  c.join_group(join_request(b), jb.callback());
  CHECK(c.describe_group("g").state == GroupState::preparing_rebalance);
  CHECK(c.heartbeat("g", a, std::nullopt, 1) == ErrorCode::rebalance_in_progress);
  CHECK(!jb.ready());
  Awaited<JoinResult> ja2;
  c.join_group(join_request(a), ja2.callback());
  auto ra2 = ja2.get();
  auto rb = jb.get();
  CHECK(ra2.generation_id == 2);
  CHECK(rb.generation_id == 2);
  CHECK(ra2.leader == a);
  CHECK(ra2.members.size() == 2);
  CHECK(rb.members.empty());

  // The follower waits for the leader's SyncGroup.
  Awaited<SyncResult> sb;
  c.sync_group(sync_request(rb), sb.callback());
  CHECK(!sb.ready());
  CHECK(c.heartbeat("g", b, std::nullopt, 2) == ErrorCode::none);  // CompletingRebalance
  Awaited<SyncResult> sa2;
  c.sync_group(sync_request(ra2, {{a, Bytes{1}}, {b, Bytes{2}}}), sa2.callback());
  CHECK(sa2.get().assignment == Bytes{1});
  CHECK(sb.get().assignment == Bytes{2});
  CHECK(c.heartbeat("g", b, std::nullopt, 2) == ErrorCode::none);
  CHECK(c.heartbeat("g", b, std::nullopt, 1) == ErrorCode::illegal_generation);
  CHECK(c.heartbeat("g", "nobody", std::nullopt, 2) == ErrorCode::unknown_member_id);

  auto d = c.describe_group("g");
  CHECK(d.state == GroupState::stable);
  CHECK(d.protocol_name == "range");
  REQUIRE(d.members.size() == 2);

  // The leader leaves: the other member becomes leader in the next generation.
  ErrorCode group_error;
  auto errors = c.leave_group(
      "g", {LeavingMember{a, std::nullopt}, LeavingMember{"x", std::nullopt}}, group_error);
  CHECK(group_error == ErrorCode::none);
  CHECK(errors == std::vector<ErrorCode>{ErrorCode::none, ErrorCode::unknown_member_id});
  Awaited<JoinResult> jb2;
  c.join_group(join_request(b), jb2.callback());
  auto rb2 = jb2.get();
  CHECK(rb2.generation_id == 3);
  CHECK(rb2.leader == b);
  c.shutdown();
}

TEST_CASE("group coordinator: validation errors") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  Awaited<JoinResult> r1;
  c.join_group(join_request("", 1), r1.callback());  // below group.min.session.timeout.ms
  CHECK(r1.get().error == ErrorCode::invalid_session_timeout);
  Awaited<JoinResult> r2;
  auto bad = join_request("");
  bad.group_id = "";
  c.join_group(bad, r2.callback());
  CHECK(r2.get().error == ErrorCode::invalid_group_id);
  Awaited<JoinResult> r3;
  c.join_group(join_request("unknown-member"), r3.callback());
  CHECK(r3.get().error == ErrorCode::unknown_member_id);

  const std::string a = member_id_for(c);
  Awaited<JoinResult> ja;
  c.join_group(join_request(a), ja.callback());
  REQUIRE(ja.get().error == ErrorCode::none);
  // A member speaking another protocol cannot join.
  Awaited<JoinResult> r4;
  auto other = join_request("");
  other.protocols = {{"roundrobin", Bytes{}}};
  c.join_group(other, r4.callback());
  CHECK(r4.get().error == ErrorCode::inconsistent_group_protocol);
  Awaited<SyncResult> s1;
  SyncRequest wrong;
  wrong.group_id = "g";
  wrong.member_id = a;
  wrong.generation_id = 99;
  c.sync_group(wrong, s1.callback());
  CHECK(s1.get().error == ErrorCode::illegal_generation);
  // Deleting a group with members is refused.
  CHECK(c.delete_group("g") == ErrorCode::non_empty_group);
  CHECK(c.delete_group("nope") == ErrorCode::group_id_not_found);
  c.shutdown();
}

TEST_CASE("group coordinator: an expired session removes the member") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  const std::string a = member_id_for(c, 50);
  Awaited<JoinResult> ja;
  c.join_group(join_request(a, 50), ja.callback());
  auto ra = ja.get();
  Awaited<SyncResult> sa;
  c.sync_group(sync_request(ra, {{a, Bytes{1}}}), sa.callback());
  REQUIRE(sa.get().error == ErrorCode::none);
  // No heartbeats: after 50 ms the member is gone and the group is empty again.
  CHECK(eventually([&] { return c.describe_group("g").state == GroupState::empty; }));
  CHECK(c.describe_group("g").members.empty());
  CHECK(c.heartbeat("g", a, std::nullopt, ra.generation_id) == ErrorCode::unknown_member_id);
  c.shutdown();
}

TEST_CASE("group coordinator: a static member rejoins without a rebalance") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  Awaited<JoinResult> j1;
  c.join_group(join_request("", 10000, "instance-1"), j1.callback());
  auto r1 = j1.get();
  REQUIRE(r1.error == ErrorCode::none);  // static members skip the member-id round
  Awaited<SyncResult> s1;
  c.sync_group(sync_request(r1, {{r1.member_id, Bytes{5}}}), s1.callback());
  REQUIRE(s1.get().assignment == Bytes{5});

  // The process restarts: same instance id, no member id.
  Awaited<JoinResult> j2;
  c.join_group(join_request("", 10000, "instance-1"), j2.callback());
  auto r2 = j2.get();
  REQUIRE(r2.error == ErrorCode::none);
  CHECK(r2.member_id != r1.member_id);
  CHECK(r2.generation_id == r1.generation_id);  // no rebalance
  CHECK(c.describe_group("g").state == GroupState::stable);
  Awaited<SyncResult> s2;
  c.sync_group(sync_request(r2), s2.callback());
  CHECK(s2.get().assignment == Bytes{5});
  // The old incarnation is fenced.
  CHECK(c.heartbeat("g", r1.member_id, std::string("instance-1"), r1.generation_id) ==
        ErrorCode::fenced_instance_id);
  c.shutdown();
}

TEST_CASE("group coordinator: a static member's restart state does not rebalance, new topics do") {
  // A cooperative-sticky consumer restarts with the same topics but without the partitions and
  // generation it owned: Kafka keeps the group Stable (its protocol does not change).
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  auto subscription = [](std::vector<std::string> topics, int32_t generation) {
    kfk::client::Subscription s;
    s.topics = std::move(topics);
    s.generation = generation;
    if (generation >= 0) s.owned_partitions = {kfk::client::TopicPartition{"t", 0}};
    return kfk::client::encode_subscription(s);
  };
  auto request = [&](Bytes metadata) {
    JoinRequest r = join_request("", 10000, "instance-1");
    r.protocols = {{"cooperative-sticky", std::move(metadata)}};
    return r;
  };
  Awaited<JoinResult> j1;
  c.join_group(request(subscription({"t"}, -1)), j1.callback());
  auto r1 = j1.get();
  REQUIRE(r1.error == ErrorCode::none);
  Awaited<SyncResult> s1;
  c.sync_group(sync_request(r1, {{r1.member_id, Bytes{5}}}), s1.callback());
  REQUIRE(s1.get().assignment == Bytes{5});

  Awaited<JoinResult> j2;
  c.join_group(request(subscription({"t"}, r1.generation_id)), j2.callback());
  auto r2 = j2.get();
  REQUIRE(r2.error == ErrorCode::none);
  CHECK(r2.generation_id == r1.generation_id);
  CHECK(c.describe_group("g").state == GroupState::stable);
  Awaited<SyncResult> s2;
  c.sync_group(sync_request(r2), s2.callback());
  CHECK(s2.get().assignment == Bytes{5});

  // Another topic: the group rebalances so that the member gets it.
  Awaited<JoinResult> j3;
  c.join_group(request(subscription({"t", "u"}, r2.generation_id)), j3.callback());
  auto r3 = j3.get(std::chrono::milliseconds(3000));
  REQUIRE(r3.error == ErrorCode::none);
  CHECK(r3.generation_id == r2.generation_id + 1);
  c.shutdown();
}

TEST_CASE("group coordinator: offsets are committed, fetched, reloaded and deleted") {
  MemoryStore store;
  {
    GroupCoordinator c(test_config(), store);
    REQUIRE(c.load() == ErrorCode::none);
    c.start();
    CommitRequest commit;
    commit.group_id = "g";
    commit.partitions = {{TopicPartitionKey{"t", 0}, 10, 1, std::string("m")},
                         {TopicPartitionKey{"t", 1}, 20, -1, std::nullopt},
                         {TopicPartitionKey{"t", 2}, 30, -1, std::string(5000, 'x')}};
    auto errors = c.commit_offsets(commit);
    CHECK(errors == std::vector<ErrorCode>{ErrorCode::none, ErrorCode::none,
                                           ErrorCode::offset_metadata_too_large});
    std::vector<FetchedOffset> out;
    CHECK(c.fetch_offsets(
              "g", std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0, 1, 2}}},
              out) == ErrorCode::none);
    REQUIRE(out.size() == 3);
    CHECK(out[0].offset == 10);
    CHECK(out[0].metadata == std::optional<std::string>("m"));
    CHECK(out[1].offset == 20);
    CHECK(out[2].offset == -1);
    // A member-less commit with a generation is refused for an unknown group.
    CommitRequest stale = commit;
    stale.group_id = "other";
    stale.generation_id = 3;
    stale.member_id = "m";
    CHECK(c.commit_offsets(stale)[0] == ErrorCode::illegal_generation);
    // A failing store fails the commit and changes nothing.
    store.fail = true;
    CommitRequest again;
    again.group_id = "g";
    again.partitions = {{TopicPartitionKey{"t", 0}, 99, -1, std::nullopt}};
    CHECK(c.commit_offsets(again)[0] == ErrorCode::not_coordinator);
    store.fail = false;
    c.shutdown();
  }
  {
    GroupCoordinator c(test_config(), store);
    REQUIRE(c.load() == ErrorCode::none);
    std::vector<FetchedOffset> out;
    c.fetch_offsets("g", std::nullopt, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].offset == 10);
    CHECK(out[1].offset == 20);
    std::vector<ErrorCode> errors;
    CHECK(c.delete_offsets("g", {TopicPartitionKey{"t", 1}}, errors) == ErrorCode::none);
    CHECK(c.delete_group("g") == ErrorCode::none);
    ErrorCode listed = ErrorCode::unknown_server_error;
    CHECK(c.list_groups(listed).empty());
    CHECK(listed == ErrorCode::none);
  }
  {
    GroupCoordinator c(test_config(), store);
    REQUIRE(c.load() == ErrorCode::none);
    CHECK(c.group_count() == 0);  // the tombstones were read back
  }
}

TEST_CASE("group coordinator: offsets of an empty group expire after the retention") {
  MemoryStore store;
  auto config = test_config();
  config.offsets_retention_ms = 1000;
  GroupCoordinator c(config, store);
  REQUIRE(c.load() == ErrorCode::none);
  CommitRequest commit;
  commit.group_id = "g";
  commit.partitions = {{TopicPartitionKey{"t", 0}, 10, -1, std::nullopt}};
  REQUIRE(c.commit_offsets(commit)[0] == ErrorCode::none);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  c.expire_offsets(now);
  CHECK(c.group_count() == 1);
  c.expire_offsets(now + 2000);
  CHECK(c.group_count() == 0);
}

TEST_CASE("group coordinator: OffsetCommit v1's commit time counts for the retention") {
  MemoryStore store;
  auto config = test_config();
  config.offsets_retention_ms = 1000;
  GroupCoordinator c(config, store);
  REQUIRE(c.load() == ErrorCode::none);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  CommitRequest commit;
  commit.group_id = "g";
  commit.partitions = {{TopicPartitionKey{"t", 0}, 10, -1, std::nullopt, now - 5000}};
  REQUIRE(c.commit_offsets(commit)[0] == ErrorCode::none);
  c.expire_offsets(now);
  CHECK(c.group_count() == 0);
}

TEST_CASE("group coordinator: a rebalance ends at its timeout without the missing members") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  const std::string a = member_id_for(c, 100);
  Awaited<JoinResult> ja;
  c.join_group(join_request(a, 100), ja.callback());
  auto ra = ja.get();
  Awaited<SyncResult> sa;
  c.sync_group(sync_request(ra, {{a, Bytes{1}}}), sa.callback());
  REQUIRE(sa.get().error == ErrorCode::none);
  // b joins; a never rejoins (it stopped heartbeating): after the rebalance timeout b
  // alone forms the next generation.
  const std::string b = member_id_for(c, 100);
  Awaited<JoinResult> jb;
  c.join_group(join_request(b, 100), jb.callback());
  auto rb = jb.get();
  CHECK(rb.error == ErrorCode::none);
  CHECK(rb.leader == b);
  CHECK(rb.members.size() == 1);
  c.shutdown();
}

namespace {

constexpr int32_t kLongRebalanceMs = 300000;  // the Java client's max.poll.interval.ms default

JoinRequest long_join_request(const std::string& member_id,
                              std::optional<std::string> instance = std::nullopt,
                              Bytes metadata = Bytes{1, 2, 3}) {
  JoinRequest r = join_request(member_id, 10000, std::move(instance));
  r.rebalance_timeout_ms = kLongRebalanceMs;
  r.protocols = {{"range", std::move(metadata)}};
  return r;
}

// One member that joined (generation 1, CompletingRebalance) with a 300 s rebalance timeout.
JoinResult join_alone(GroupCoordinator& c, std::optional<std::string> instance = std::nullopt) {
  std::string id;
  if (!instance) {
    Awaited<JoinResult> first;
    c.join_group(long_join_request(""), first.callback());
    id = first.get().member_id;
  }
  Awaited<JoinResult> j;
  c.join_group(long_join_request(id, instance), j.callback());
  auto r = j.get();
  REQUIRE(r.error == ErrorCode::none);
  REQUIRE(r.generation_id == 1);
  return r;
}

void sync_alone(GroupCoordinator& c, const JoinResult& r) {
  Awaited<SyncResult> s;
  c.sync_group(sync_request(r, {{r.member_id, Bytes{7}}}), s.callback());
  REQUIRE(s.get().error == ErrorCode::none);
  REQUIRE(c.describe_group("g").state == GroupState::stable);
}

// The rejoin must complete at once: every member has joined; the rebalance timeout is 300 s.
JoinResult rejoin_completes_at_once(GroupCoordinator& c, const JoinRequest& req,
                                    int32_t generation = 2) {
  Awaited<JoinResult> j;
  c.join_group(req, j.callback());
  auto r = j.get(std::chrono::milliseconds(3000));
  REQUIRE(r.error == ErrorCode::none);
  CHECK(r.generation_id == generation);
  CHECK(r.members.size() == 1);
  CHECK(c.describe_group("g").state == GroupState::completing_rebalance);
  return r;
}

}  // namespace

TEST_CASE("group coordinator: a lone member's changed subscription rebalances at once") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  auto r1 = join_alone(c);
  sync_alone(c, r1);
  // Its regex subscription picked up a topic (or a topic went, or gained partitions): the
  // leader rejoins from the Stable state with new metadata.
  auto r2 = rejoin_completes_at_once(c, long_join_request(r1.member_id, std::nullopt, Bytes{9}));
  CHECK(r2.leader == r1.member_id);
  REQUIRE(r2.members.size() == 1);
  CHECK(r2.members[0].metadata == Bytes{9});
  // Unchanged metadata from the leader rebalances too (Kafka's rule for the leader).
  sync_alone(c, r2);
  rejoin_completes_at_once(c, long_join_request(r1.member_id, std::nullopt, Bytes{9}), 3);
  c.shutdown();
}

TEST_CASE("group coordinator: a protocol change during CompletingRebalance completes at once") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  auto r1 = join_alone(c);
  // No SyncGroup yet: the member joins again with other metadata.
  auto r2 = rejoin_completes_at_once(c, long_join_request(r1.member_id, std::nullopt, Bytes{4}));
  CHECK(r2.members[0].metadata == Bytes{4});
  // A SyncGroup of the old generation is refused; the new one completes.
  Awaited<SyncResult> old_sync;
  c.sync_group(sync_request(r1), old_sync.callback());
  CHECK(old_sync.get().error == ErrorCode::illegal_generation);
  sync_alone(c, r2);
  c.shutdown();
}

TEST_CASE("group coordinator: a static member rejoining with new metadata completes at once") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  const std::string instance = "instance-1";
  auto r1 = join_alone(c, instance);
  sync_alone(c, r1);
  SUBCASE("Stable, restarted without a member id") {
    auto r2 = rejoin_completes_at_once(c, long_join_request("", instance, Bytes{8}));
    CHECK(r2.member_id != r1.member_id);
    CHECK(r2.leader == r2.member_id);
    CHECK(r2.members[0].metadata == Bytes{8});
  }
  SUBCASE("Stable, with its member id") {
    auto r2 = rejoin_completes_at_once(c, long_join_request(r1.member_id, instance, Bytes{8}));
    CHECK(r2.member_id == r1.member_id);
  }
  SUBCASE("CompletingRebalance, restarted without a member id") {
    auto r2 = rejoin_completes_at_once(c, long_join_request(r1.member_id, instance, Bytes{8}));
    // Before its SyncGroup the process restarts.
    Awaited<JoinResult> j;
    c.join_group(long_join_request("", instance, Bytes{8}), j.callback());
    auto r3 = j.get(std::chrono::milliseconds(3000));
    REQUIRE(r3.error == ErrorCode::none);
    CHECK(r3.generation_id == 3);
    CHECK(r3.member_id != r2.member_id);
  }
  c.shutdown();
}

TEST_CASE("group coordinator: the last member leaving empties the group at once") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  auto r1 = join_alone(c);
  sync_alone(c, r1);
  ErrorCode group_error;
  c.leave_group("g", {LeavingMember{r1.member_id, std::nullopt}}, group_error);
  auto d = c.describe_group("g");
  CHECK(d.state == GroupState::empty);
  CHECK(d.members.empty());
  c.shutdown();
}

namespace {

// A group id whose records go to `partition` (of MemoryStore's 3).
std::string group_on_partition(int32_t partition) {
  for (int i = 0;; ++i) {
    std::string id = "group-" + std::to_string(i);
    if (partition_for_group(id, 3) == partition) return id;
  }
}

CommitRequest commit_of(const std::string& group, int64_t offset) {
  CommitRequest commit;
  commit.group_id = group;
  commit.partitions = {{TopicPartitionKey{"t", 0}, offset, -1, std::nullopt}};
  return commit;
}

// The group's committed offset of t-0 (-1: none), or the fetch's error as a negative code.
int64_t committed(GroupCoordinator& c, const std::string& group) {
  std::vector<FetchedOffset> out;
  const auto err = c.fetch_offsets(
      group, std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0}}}, out);
  if (err != ErrorCode::none) return -1000 - static_cast<int64_t>(err);
  return out.at(0).offset;
}

// A gate a store hook waits at (bounded, so a broken coordinator fails the test, not hangs it).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  bool entered = false;
  bool timed_out = false;
  void wait() {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return open; })) timed_out = true;
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  bool was_entered() {
    std::lock_guard lock(mu);
    return entered;
  }
};

}  // namespace

TEST_CASE("group coordinator: a commit is awaited without the coordinator's lock") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  const std::string slow = group_on_partition(0);
  const std::string fast = group_on_partition(1);
  // The commit of `slow` is held until a commit of `fast` has completed: a coordinator that
  // held its lock over the wait could not serve that one, and the gate would time out.
  Gate gate;
  store.set_commit_hook([&](const StoreAppend& a) {
    if (a.partition == 0) gate.wait();
    return ErrorCode::none;
  });
  std::vector<ErrorCode> slow_errors;
  std::thread t([&] { slow_errors = c.commit_offsets(commit_of(slow, 10)); });
  REQUIRE(eventually([&] { return gate.was_entered(); }));
  CHECK(committed(c, slow) == -1);  // not applied before its commit
  CHECK(c.commit_offsets(commit_of(fast, 20)) == std::vector<ErrorCode>{ErrorCode::none});
  CHECK(committed(c, fast) == 20);
  gate.release();
  t.join();
  CHECK(!gate.timed_out);
  CHECK(slow_errors == std::vector<ErrorCode>{ErrorCode::none});
  CHECK(committed(c, slow) == 10);
}

TEST_CASE("group coordinator: commits apply in log order, whatever order their waits end") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  Gate first_gate;
  std::atomic<int> calls{0};
  std::atomic<ErrorCode> second_result{ErrorCode::none};
  store.set_commit_hook([&](const StoreAppend&) {
    const int call = calls++;
    if (call == 0) first_gate.wait();
    return call == 1 ? second_result.load() : ErrorCode::none;
  });

  SUBCASE("a later commit covers the earlier one: both apply, the later last") {
    std::vector<ErrorCode> first;
    std::thread t([&] { first = c.commit_offsets(commit_of("g", 1)); });
    REQUIRE(eventually([&] { return first_gate.was_entered(); }));
    CHECK(c.commit_offsets(commit_of("g", 2)) == std::vector<ErrorCode>{ErrorCode::none});
    CHECK(committed(c, "g") == 2);
    first_gate.release();
    t.join();
    CHECK(first == std::vector<ErrorCode>{ErrorCode::none});
    CHECK(committed(c, "g") == 2);  // the earlier write never overwrites the later one
  }
  SUBCASE("a later commit that fails waits for the earlier one and answers the error") {
    // A failed fsync is KAFKA_STORAGE_ERROR, which a commit answers as NOT_COORDINATOR.
    second_result = ErrorCode::kafka_storage_error;
    std::vector<ErrorCode> first;
    std::vector<ErrorCode> second;
    std::thread t1([&] { first = c.commit_offsets(commit_of("g", 1)); });
    REQUIRE(eventually([&] { return first_gate.was_entered(); }));
    std::thread t2([&] { second = c.commit_offsets(commit_of("g", 2)); });
    REQUIRE(eventually([&] { return calls.load() == 2; }));
    CHECK(committed(c, "g") == -1);
    first_gate.release();
    t1.join();
    t2.join();
    CHECK(first == std::vector<ErrorCode>{ErrorCode::none});
    CHECK(second == std::vector<ErrorCode>{ErrorCode::not_coordinator});
    CHECK(committed(c, "g") == 1);
  }
  CHECK(!first_gate.timed_out);
}

TEST_CASE("group coordinator: SyncGroup answers once the assignment is committed") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  const std::string a = member_id_for(c);
  Awaited<JoinResult> ja;
  c.join_group(join_request(a), ja.callback());
  auto ra = ja.get();
  REQUIRE(ra.error == ErrorCode::none);

  Gate gate;
  store.set_commit_hook([&](const StoreAppend&) {
    gate.wait();
    return ErrorCode::none;
  });
  Awaited<SyncResult> sa;
  std::thread t([&] { c.sync_group(sync_request(ra, {{a, Bytes{0xA}}}), sa.callback()); });
  REQUIRE(eventually([&] { return gate.was_entered(); }));
  // Written, not committed: no answer yet, the group still completing its rebalance (and
  // served meanwhile: the wait holds no lock).
  CHECK(!sa.ready());
  CHECK(c.describe_group("g").state == GroupState::completing_rebalance);
  CHECK(c.heartbeat("g", a, std::nullopt, ra.generation_id) == ErrorCode::none);
  gate.release();
  t.join();
  CHECK(sa.get().assignment == Bytes{0xA});
  CHECK(c.describe_group("g").state == GroupState::stable);
  CHECK(!gate.timed_out);

  // A commit that fails: the waiting members get the error and the group rebalances.
  store.set_commit_hook([](const StoreAppend&) { return ErrorCode::kafka_storage_error; });
  const std::string b = member_id_for(c);
  Awaited<JoinResult> jb;
  c.join_group(join_request(b), jb.callback());
  Awaited<JoinResult> ja2;
  c.join_group(join_request(a), ja2.callback());
  auto ra2 = ja2.get();
  REQUIRE(ra2.error == ErrorCode::none);
  REQUIRE(jb.get().error == ErrorCode::none);
  Awaited<SyncResult> sa2;
  c.sync_group(sync_request(ra2, {{a, Bytes{1}}, {b, Bytes{2}}}), sa2.callback());
  CHECK(sa2.get().error == ErrorCode::not_coordinator);
  CHECK(c.describe_group("g").state == GroupState::preparing_rebalance);
  c.shutdown();
}

TEST_CASE("group coordinator: partitions are unloaded and loaded as leadership moves") {
  MemoryStore store;
  GroupCoordinator c(test_config(), store);
  REQUIRE(c.load() == ErrorCode::none);
  c.start();
  const int32_t p = partition_for_group("g", 3);
  REQUIRE(c.commit_offsets(commit_of("g", 10)) == std::vector<ErrorCode>{ErrorCode::none});

  // A member waits in JoinGroup for another one: unloading answers it.
  const std::string a = member_id_for(c);
  Awaited<JoinResult> ja;
  c.join_group(join_request(a), ja.callback());
  REQUIRE(ja.get().error == ErrorCode::none);
  const std::string b = member_id_for(c);
  Awaited<JoinResult> jb;
  c.join_group(join_request(b), jb.callback());
  CHECK(!jb.ready());

  StoreLeadership resigned;
  resigned.resigned = {p};
  store.move_leadership(resigned);
  CHECK(jb.get().error == ErrorCode::not_coordinator);
  CHECK(c.group_count() == 0);
  CHECK(committed(c, "g") == -1000 - static_cast<int64_t>(ErrorCode::not_coordinator));
  CHECK(c.commit_offsets(commit_of("g", 11)) == std::vector<ErrorCode>{ErrorCode::not_coordinator});
  CHECK(c.heartbeat("g", a, std::nullopt, 1) == ErrorCode::not_coordinator);
  Awaited<JoinResult> again;
  c.join_group(join_request(""), again.callback());
  CHECK(again.get().error == ErrorCode::not_coordinator);
  // Other partitions are still served.
  const std::string other = group_on_partition((p + 1) % 3);
  CHECK(c.commit_offsets(commit_of(other, 5)) == std::vector<ErrorCode>{ErrorCode::none});

  // Led again: LOAD_IN_PROGRESS while its records are read, then the groups are back.
  Gate reading;
  store.set_read_hook([&](int32_t) { reading.wait(); });
  StoreLeadership led;
  led.led = {{p, true}};
  store.move_leadership(led);
  REQUIRE(eventually([&] { return reading.was_entered(); }));
  CHECK(committed(c, "g") == -1000 - static_cast<int64_t>(ErrorCode::coordinator_load_in_progress));
  CHECK(c.describe_group("g").error == ErrorCode::coordinator_load_in_progress);
  ErrorCode listed = ErrorCode::none;
  c.list_groups(listed);
  CHECK(listed == ErrorCode::coordinator_load_in_progress);
  CHECK(committed(c, other) == 5);
  reading.release();
  REQUIRE(eventually([&] { return committed(c, "g") == 10; }));
  c.list_groups(listed);
  CHECK(listed == ErrorCode::none);
  // Membership is stored with a generation's assignment, which this group never had.
  CHECK(c.describe_group("g").state == GroupState::empty);
  CHECK(!reading.timed_out);

  // A new partition (nothing to read) is served at once.
  store.set_read_hook(nullptr);
  store.move_leadership(resigned);
  led.led = {{p, false}};
  store.move_leadership(led);
  CHECK(committed(c, "g") == -1);
  c.shutdown();
}

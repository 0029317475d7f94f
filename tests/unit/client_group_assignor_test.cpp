// The classic group assignors: worked examples from the Java client's documentation, and
// properties checked over random groups (every subscribed partition assigned exactly once,
// only to a member subscribed to its topic; balanced when subscriptions are equal; sticky
// and two-phase for cooperative-sticky).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/client/assignor.h"

using namespace kfk::client;

namespace {

MemberSubscription member(std::string id, std::vector<std::string> topics,
                          std::vector<TopicPartition> owned = {}, int32_t generation = -1) {
  MemberSubscription m;
  m.member_id = std::move(id);
  m.subscription.topics = std::move(topics);
  m.subscription.owned_partitions = std::move(owned);
  m.subscription.generation = generation;
  return m;
}

TopicPartition tp(std::string topic, int32_t p) { return TopicPartition{std::move(topic), p}; }

bool subscribed(const MemberSubscription& m, const std::string& topic) {
  const auto& t = m.subscription.topics;
  return std::find(t.begin(), t.end(), topic) != t.end();
}

// Disjoint, complete, and only to subscribed members.
void check_valid(const std::vector<MemberSubscription>& members, const PartitionCounts& counts,
                 const GroupAssignment& result) {
  REQUIRE(result.size() == members.size());
  std::map<TopicPartition, int> seen;
  for (const auto& m : members) {
    REQUIRE(result.count(m.member_id) == 1);
    for (const auto& p : result.at(m.member_id)) {
      ++seen[p];
      CHECK(subscribed(m, p.topic));
      REQUIRE(counts.count(p.topic) == 1);
      CHECK(p.partition >= 0);
      CHECK(p.partition < counts.at(p.topic));
    }
  }
  for (const auto& entry : counts) {
    const std::string& topic = entry.first;
    const int32_t n = entry.second;
    const bool wanted = std::any_of(members.begin(), members.end(),
                                    [&](const auto& m) { return subscribed(m, topic); });
    for (int32_t p = 0; p < n; ++p) CHECK(seen[tp(topic, p)] == (wanted ? 1 : 0));
  }
}

size_t spread(const GroupAssignment& result) {
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [m, list] : result) {
    lo = std::min(lo, list.size());
    hi = std::max(hi, list.size());
  }
  return result.empty() ? 0 : hi - lo;
}

}  // namespace

TEST_CASE("assignor: names and rebalance protocol") {
  CHECK(assignor_name(AssignorKind::range) == "range");
  CHECK(assignor_name(AssignorKind::roundrobin) == "roundrobin");
  CHECK(assignor_name(AssignorKind::cooperative_sticky) == "cooperative-sticky");
  CHECK(assignor_by_name("cooperative-sticky") == AssignorKind::cooperative_sticky);
  CHECK_FALSE(assignor_by_name("sticky").has_value());
  // The Java client's default list (range first) rebalances eagerly.
  CHECK(rebalance_protocol({AssignorKind::range, AssignorKind::cooperative_sticky}) ==
        RebalanceProtocol::eager);
  CHECK(rebalance_protocol({AssignorKind::cooperative_sticky}) == RebalanceProtocol::cooperative);
}

TEST_CASE("assignor: range, the Java client's example") {
  // Two consumers, two topics of three partitions: C0 gets [t0p0, t0p1, t1p0, t1p1].
  const std::vector<MemberSubscription> members = {member("c1", {"t0", "t1"}),
                                                   member("c0", {"t0", "t1"})};
  const PartitionCounts counts = {{"t0", 3}, {"t1", 3}};
  const auto result = assign_range(members, counts);
  check_valid(members, counts, result);
  CHECK(result.at("c0") == std::vector{tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)});
  CHECK(result.at("c1") == std::vector{tp("t0", 2), tp("t1", 2)});
}

TEST_CASE("assignor: range orders static members first") {
  std::vector<MemberSubscription> members = {member("a", {"t"}), member("b", {"t"})};
  members[1].group_instance_id = "instance-1";
  const auto result = assign_range(members, {{"t", 3}});
  CHECK(result.at("b") == std::vector{tp("t", 0), tp("t", 1)});
  CHECK(result.at("a") == std::vector{tp("t", 2)});
}

TEST_CASE("assignor: roundrobin, the Java client's example") {
  // C0: [t0p0, t0p2, t1p1], C1: [t0p1, t1p0, t1p2].
  const std::vector<MemberSubscription> members = {member("c0", {"t0", "t1"}),
                                                   member("c1", {"t0", "t1"})};
  const PartitionCounts counts = {{"t0", 3}, {"t1", 3}};
  const auto result = assign_roundrobin(members, counts);
  check_valid(members, counts, result);
  CHECK(result.at("c0") == std::vector{tp("t0", 0), tp("t0", 2), tp("t1", 1)});
  CHECK(result.at("c1") == std::vector{tp("t0", 1), tp("t1", 0), tp("t1", 2)});
}

TEST_CASE("assignor: roundrobin skips members not subscribed to a topic") {
  // The Java client's example with unequal subscriptions: C0 [t0], C1 [t0, t1], C2 [t0, t1, t2].
  const std::vector<MemberSubscription> members = {member("c0", {"t0"}), member("c1", {"t0", "t1"}),
                                                   member("c2", {"t0", "t1", "t2"})};
  const PartitionCounts counts = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto result = assign_roundrobin(members, counts);
  check_valid(members, counts, result);
  CHECK(result.at("c0") == std::vector{tp("t0", 0)});
  CHECK(result.at("c1") == std::vector{tp("t1", 0)});
  CHECK(result.at("c2") == std::vector{tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)});
}

TEST_CASE("assignor: unknown topics and empty groups") {
  const std::vector<MemberSubscription> members = {member("a", {"gone"}), member("b", {"t"})};
  for (auto kind :
       {AssignorKind::range, AssignorKind::roundrobin, AssignorKind::cooperative_sticky}) {
    const auto result = assign(kind, members, {{"t", 2}});
    CHECK(result.at("a").empty());
    CHECK(result.at("b") == std::vector{tp("t", 0), tp("t", 1)});
    CHECK(assign(kind, {}, {{"t", 2}}).empty());
  }
}

TEST_CASE("assignor: every assignor is valid over random groups, balanced when equal") {
  std::mt19937 rng(20240501);
  for (int round = 0; round < 300; ++round) {
    const int topic_count = 1 + static_cast<int>(rng() % 4);
    PartitionCounts counts;
    std::vector<std::string> topics;
    for (int t = 0; t < topic_count; ++t) {
      topics.push_back("t" + std::to_string(t));
      counts[topics.back()] = static_cast<int32_t>(rng() % 9);
    }
    const bool equal = rng() % 2 == 0;
    const int member_count = 1 + static_cast<int>(rng() % 6);
    std::vector<MemberSubscription> members;
    for (int m = 0; m < member_count; ++m) {
      std::vector<std::string> mine;
      for (const auto& t : topics) {
        if (equal || rng() % 2 == 0) mine.push_back(t);
      }
      if (mine.empty()) mine.push_back(topics.front());
      members.push_back(member("m" + std::to_string(rng() % 1000) + "-" + std::to_string(m), mine));
    }
    // Random previous ownership for the sticky assignor, with generations.
    for (auto& m : members) {
      m.subscription.generation = static_cast<int32_t>(rng() % 3);
      for (const auto& [topic, n] : counts) {
        for (int32_t p = 0; p < n; ++p) {
          if (rng() % 4 == 0) m.subscription.owned_partitions.push_back(tp(topic, p));
        }
      }
    }
    CAPTURE(round);
    for (auto kind : {AssignorKind::range, AssignorKind::roundrobin}) {
      const auto result = assign(kind, members, counts);
      check_valid(members, counts, result);
    }
    const auto rr = assign_roundrobin(members, counts);
    const auto sticky = assign_sticky(members, counts);
    check_valid(members, counts, sticky);
    if (equal) {
      CHECK(spread(rr) <= 1);
      CHECK(spread(sticky) <= 1);
    }
    // Cooperative: a subset of the sticky assignment, leaving out exactly the partitions
    // that change owner.
    const auto cooperative = assign_cooperative_sticky(members, counts);
    for (const auto& m : members) {
      for (const auto& p : cooperative.at(m.member_id)) {
        const auto& full = sticky.at(m.member_id);
        CHECK(std::find(full.begin(), full.end(), p) != full.end());
      }
    }
  }
}

TEST_CASE("assignor: cooperative-sticky keeps partitions with their owners") {
  // Three members shared six partitions; one leaves: the others keep theirs and split its two.
  const std::vector<MemberSubscription> members = {member("a", {"t"}, {tp("t", 0), tp("t", 1)}, 4),
                                                   member("c", {"t"}, {tp("t", 4), tp("t", 5)}, 4)};
  const auto result = assign_cooperative_sticky(members, {{"t", 6}});
  check_valid(members, {{"t", 6}}, result);
  CHECK(result.at("a").size() == 3);
  CHECK(result.at("c").size() == 3);
  for (const auto& p : {tp("t", 0), tp("t", 1)}) {
    CHECK(std::find(result.at("a").begin(), result.at("a").end(), p) != result.at("a").end());
  }
  for (const auto& p : {tp("t", 4), tp("t", 5)}) {
    CHECK(std::find(result.at("c").begin(), result.at("c").end(), p) != result.at("c").end());
  }
}

TEST_CASE("assignor: cooperative-sticky moves partitions in two rebalances (KIP-429)") {
  const PartitionCounts counts = {{"t", 4}};
  // A owns everything; B joins. First round: A keeps two, gives up two; B gets nothing yet.
  const std::vector<MemberSubscription> first = {
      member("a", {"t"}, {tp("t", 0), tp("t", 1), tp("t", 2), tp("t", 3)}, 1), member("b", {"t"})};
  const auto round1 = assign_cooperative_sticky(first, counts);
  REQUIRE(round1.at("a").size() == 2);
  CHECK(round1.at("b").empty());
  // A revoked the other two and rejoins: now they are unowned and go to B.
  const std::vector<MemberSubscription> second = {member("a", {"t"}, round1.at("a"), 2),
                                                  member("b", {"t"}, {}, 2)};
  const auto round2 = assign_cooperative_sticky(second, counts);
  check_valid(second, counts, round2);
  CHECK(round2.at("a") == round1.at("a"));
  CHECK(round2.at("b").size() == 2);
  // The plain sticky assignment already knew where they were going.
  CHECK(assign_sticky(first, counts).at("b") == round2.at("b"));
}

TEST_CASE("assignor: cooperative-sticky resolves conflicting claims by generation") {
  const PartitionCounts counts = {{"t", 2}};
  // Both claim t-0; b's claim is from a later generation, so a's is stale.
  const std::vector<MemberSubscription> members = {member("a", {"t"}, {tp("t", 0)}, 3),
                                                   member("b", {"t"}, {tp("t", 0)}, 5)};
  const auto result = assign_cooperative_sticky(members, counts);
  check_valid(members, counts, result);
  CHECK(result.at("b") == std::vector{tp("t", 0)});
  CHECK(result.at("a") == std::vector{tp("t", 1)});
  // The generation may also come from the sticky user data of old subscriptions.
  std::vector<MemberSubscription> old = {member("a", {"t"}, {tp("t", 0)}),
                                         member("b", {"t"}, {tp("t", 0)})};
  old[0].subscription.user_data = sticky_user_data(7);
  old[1].subscription.user_data = sticky_user_data(6);
  CHECK(assign_cooperative_sticky(old, counts).at("a") == std::vector{tp("t", 0)});
}

TEST_CASE("assignor: cooperative-sticky drops claims on unsubscribed or missing partitions") {
  const std::vector<MemberSubscription> members = {member("a", {"u"}, {tp("t", 0), tp("u", 9)}, 2),
                                                   member("b", {"t"}, {}, 2)};
  const auto result = assign_cooperative_sticky(members, {{"t", 1}, {"u", 1}});
  CHECK(result.at("b") == std::vector{tp("t", 0)});  // no longer a's: given at once
  CHECK(result.at("a") == std::vector{tp("u", 0)});
}

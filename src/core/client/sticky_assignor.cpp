// The cooperative-sticky assignor.
//
// 1. Previous owners: every member claims the partitions it owns (Subscription v1+), from the
//    generation it names (v2+, else the generation in its sticky user data). A partition
//    claimed by several members goes to the claim of the highest generation; a tie leaves it
//    unowned. Claims on partitions that no longer exist or that the member no longer
//    subscribes to are dropped.
// 2. Each member keeps what it validly owns; every other partition goes to the least loaded
//    member subscribed to its topic.
// 3. Rebalancing: while some member holds two partitions more than another member that could
//    take one of them, one moves (a partition the member did not own before, if it has one).
//    Each move lowers the sum of squared loads, so this ends; with equal subscriptions it
//    ends with loads differing by at most one, having moved as few partitions as possible.
// 4. Cooperative adjustment (KIP-429): a partition whose previous owner is another member is
//    left out of this round's assignment. Its owner sees it gone, gives it up and rejoins;
//    the next round hands it to the new owner.
#include <algorithm>
#include <set>

#include "core/client/assignor.h"

namespace kfk::client {

namespace {

bool subscribes(const MemberSubscription& m, const std::string& topic) {
  const auto& t = m.subscription.topics;
  return std::find(t.begin(), t.end(), topic) != t.end();
}

int32_t generation_of(const Subscription& s) {
  if (s.generation >= 0) return s.generation;
  return generation_from_sticky_user_data(s.user_data).value_or(-1);
}

// The valid previous owner of each partition, by the rules of step 1.
std::map<TopicPartition, std::string> previous_owners(
    const std::vector<MemberSubscription>& members, const PartitionCounts& partitions) {
  struct Claim {
    int32_t generation = -1;
    std::string member;
    bool tied = false;
  };
  std::map<TopicPartition, Claim> best;
  for (const auto& m : members) {
    const int32_t generation = generation_of(m.subscription);
    for (const auto& tp : m.subscription.owned_partitions) {
      const auto count = partitions.find(tp.topic);
      if (count == partitions.end() || tp.partition < 0 || tp.partition >= count->second ||
          !subscribes(m, tp.topic)) {
        continue;
      }
      auto [it, inserted] = best.try_emplace(tp, Claim{generation, m.member_id, false});
      if (inserted || it->second.member == m.member_id) continue;
      if (generation > it->second.generation) {
        it->second = Claim{generation, m.member_id, false};
      } else if (generation == it->second.generation) {
        it->second.tied = true;
      }
    }
  }
  std::map<TopicPartition, std::string> out;
  for (auto& [tp, claim] : best) {
    if (!claim.tied) out.emplace(tp, std::move(claim.member));
  }
  return out;
}

}  // namespace

GroupAssignment assign_sticky(const std::vector<MemberSubscription>& members,
                              const PartitionCounts& partitions) {
  GroupAssignment out;
  for (const auto& m : members) out[m.member_id];
  if (members.empty()) return out;
  // Members in member id order, so that the result does not depend on the input order.
  std::vector<const MemberSubscription*> order;
  for (const auto& m : members) order.push_back(&m);
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->member_id < b->member_id; });

  const auto owners = previous_owners(members, partitions);
  std::map<std::string, std::set<TopicPartition>> held;
  for (const auto* m : order) held[m->member_id];
  for (const auto& [tp, member] : owners) held[member].insert(tp);

  // Step 2: everything not validly owned, to the least loaded subscribed member.
  std::set<std::string> topics;
  for (const auto* m : order) {
    topics.insert(m->subscription.topics.begin(), m->subscription.topics.end());
  }
  for (const auto& topic : topics) {
    const auto count = partitions.find(topic);
    if (count == partitions.end()) continue;
    for (int32_t p = 0; p < count->second; ++p) {
      const TopicPartition tp{topic, p};
      if (owners.count(tp) > 0) continue;
      const MemberSubscription* target = nullptr;
      for (const auto* m : order) {
        if (!subscribes(*m, topic)) continue;
        if (target == nullptr || held[m->member_id].size() < held[target->member_id].size()) {
          target = m;
        }
      }
      if (target != nullptr) held[target->member_id].insert(tp);
    }
  }

  // Step 3: move partitions from the most loaded members while that improves balance.
  auto owned_before = [&](const TopicPartition& tp, const std::string& member) {
    const auto it = owners.find(tp);
    return it != owners.end() && it->second == member;
  };
  for (bool moved = true; moved;) {
    moved = false;
    std::vector<const MemberSubscription*> by_load = order;
    std::stable_sort(by_load.begin(), by_load.end(), [&](const auto* a, const auto* b) {
      return held[a->member_id].size() > held[b->member_id].size();
    });
    for (const auto* heavy : by_load) {
      auto& from = held[heavy->member_id];
      // Candidates: partitions it did not own before first, then the rest, last ones first.
      std::vector<TopicPartition> candidates;
      for (const auto& tp : from) {
        if (!owned_before(tp, heavy->member_id)) candidates.push_back(tp);
      }
      for (auto it = from.rbegin(); it != from.rend(); ++it) {
        if (owned_before(*it, heavy->member_id)) candidates.push_back(*it);
      }
      for (const auto& tp : candidates) {
        const MemberSubscription* light = nullptr;
        for (const auto* m : order) {
          if (m == heavy || !subscribes(*m, tp.topic)) continue;
          if (held[m->member_id].size() + 1 >= from.size()) continue;
          if (light == nullptr || held[m->member_id].size() < held[light->member_id].size()) {
            light = m;
          }
        }
        if (light == nullptr) continue;
        from.erase(tp);
        held[light->member_id].insert(tp);
        moved = true;
        break;
      }
      if (moved) break;
    }
  }

  for (auto& [member, set] : held) out[member].assign(set.begin(), set.end());
  return out;
}

GroupAssignment assign_cooperative_sticky(const std::vector<MemberSubscription>& members,
                                          const PartitionCounts& partitions) {
  GroupAssignment out = assign_sticky(members, partitions);
  const auto owners = previous_owners(members, partitions);
  for (auto& entry : out) {
    const std::string& member = entry.first;
    std::erase_if(entry.second, [&](const TopicPartition& tp) {
      const auto it = owners.find(tp);
      return it != owners.end() && it->second != member;
    });
  }
  return out;
}

}  // namespace kfk::client

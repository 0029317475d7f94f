// The round-robin assignor: every partition of every subscribed topic, sorted by topic and
// partition, goes to the next member in turn (sorted_members order) that is subscribed to its
// topic. With equal subscriptions the counts differ by at most one.
#include <algorithm>
#include <set>

#include "core/client/assignor.h"

namespace kfk::client {

GroupAssignment assign_roundrobin(const std::vector<MemberSubscription>& members,
                                  const PartitionCounts& partitions) {
  GroupAssignment out;
  for (const auto& m : members) out[m.member_id];
  const auto order = sorted_members(members);
  if (order.empty()) return out;
  std::set<std::string> topics;
  for (const auto& m : members) {
    topics.insert(m.subscription.topics.begin(), m.subscription.topics.end());
  }
  auto subscribed = [](const MemberSubscription& m, const std::string& topic) {
    const auto& t = m.subscription.topics;
    return std::find(t.begin(), t.end(), topic) != t.end();
  };
  size_t next = 0;
  for (const auto& topic : topics) {
    const auto count = partitions.find(topic);
    if (count == partitions.end()) continue;
    for (int32_t p = 0; p < count->second; ++p) {
      // Some member is subscribed to every topic in `topics`, so this ends within one turn.
      while (!subscribed(*order[next], topic)) next = (next + 1) % order.size();
      out[order[next]->member_id].push_back(TopicPartition{topic, p});
      next = (next + 1) % order.size();
    }
  }
  return out;
}

}  // namespace kfk::client

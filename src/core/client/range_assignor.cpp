// The range assignor: per topic, the members subscribed to it (in sorted_members order) get
// consecutive ranges of partitions; when the count does not divide, the first members get one
// partition more. Members subscribed to the same topics therefore get the same partition
// numbers of each topic, which is what co-partitioned joins rely on.
#include <algorithm>
#include <set>

#include "core/client/assignor.h"

namespace kfk::client {

GroupAssignment assign_range(const std::vector<MemberSubscription>& members,
                             const PartitionCounts& partitions) {
  GroupAssignment out;
  for (const auto& m : members) out[m.member_id];
  const auto order = sorted_members(members);
  std::set<std::string> topics;
  for (const auto& m : members)
    topics.insert(m.subscription.topics.begin(), m.subscription.topics.end());
  for (const auto& topic : topics) {
    const auto count = partitions.find(topic);
    if (count == partitions.end() || count->second <= 0) continue;
    std::vector<const MemberSubscription*> subscribed;
    for (const auto* m : order) {
      const auto& t = m->subscription.topics;
      if (std::find(t.begin(), t.end(), topic) != t.end()) subscribed.push_back(m);
    }
    if (subscribed.empty()) continue;
    const int32_t n = count->second;
    const auto consumers = static_cast<int32_t>(subscribed.size());
    const int32_t per_member = n / consumers;
    const int32_t extra = n % consumers;
    for (int32_t i = 0; i < consumers; ++i) {
      const int32_t start = per_member * i + std::min(i, extra);
      const int32_t length = per_member + (i < extra ? 1 : 0);
      auto& list = out[subscribed[static_cast<size_t>(i)]->member_id];
      for (int32_t p = start; p < start + length; ++p) list.push_back(TopicPartition{topic, p});
    }
  }
  for (auto& [member, list] : out) std::sort(list.begin(), list.end());
  return out;
}

}  // namespace kfk::client

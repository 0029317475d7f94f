#include "core/client/assignor.h"

#include <algorithm>

namespace kfk::client {

std::string_view assignor_name(AssignorKind kind) {
  switch (kind) {
    case AssignorKind::range:
      return "range";
    case AssignorKind::roundrobin:
      return "roundrobin";
    case AssignorKind::cooperative_sticky:
      return "cooperative-sticky";
  }
  return "range";
}

std::optional<AssignorKind> assignor_by_name(std::string_view name) {
  for (auto kind :
       {AssignorKind::range, AssignorKind::roundrobin, AssignorKind::cooperative_sticky}) {
    if (assignor_name(kind) == name) return kind;
  }
  return std::nullopt;
}

RebalanceProtocol rebalance_protocol(const std::vector<AssignorKind>& offered) {
  const bool all_cooperative =
      !offered.empty() && std::all_of(offered.begin(), offered.end(), [](AssignorKind k) {
        return k == AssignorKind::cooperative_sticky;
      });
  return all_cooperative ? RebalanceProtocol::cooperative : RebalanceProtocol::eager;
}

GroupAssignment assign(AssignorKind kind, const std::vector<MemberSubscription>& members,
                       const PartitionCounts& partitions) {
  switch (kind) {
    case AssignorKind::range:
      return assign_range(members, partitions);
    case AssignorKind::roundrobin:
      return assign_roundrobin(members, partitions);
    case AssignorKind::cooperative_sticky:
      return assign_cooperative_sticky(members, partitions);
  }
  return assign_range(members, partitions);
}

std::vector<const MemberSubscription*> sorted_members(
    const std::vector<MemberSubscription>& members) {
  std::vector<const MemberSubscription*> out;
  for (const auto& m : members) out.push_back(&m);
  std::sort(out.begin(), out.end(), [](const MemberSubscription* a, const MemberSubscription* b) {
    if (a->group_instance_id && b->group_instance_id) {
      if (*a->group_instance_id != *b->group_instance_id) {
        return *a->group_instance_id < *b->group_instance_id;
      }
      return a->member_id < b->member_id;
    }
    if (a->group_instance_id.has_value() != b->group_instance_id.has_value()) {
      return a->group_instance_id.has_value();
    }
    return a->member_id < b->member_id;
  });
  return out;
}

}  // namespace kfk::client

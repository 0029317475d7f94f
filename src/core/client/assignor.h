// Partition assignors of the classic consumer protocol, run by the group leader over every
// member's Subscription. The three the Java client ships, under its protocol names:
//
//   range               per topic, consecutive partition ranges to the members subscribed to
//                       it (sorted), the first ones getting one more when it does not divide
//   roundrobin          every subscribed partition, sorted, dealt to the members in turn,
//                       skipping those not subscribed to the partition's topic
//   cooperative-sticky  balanced like roundrobin, but a partition stays with its previous
//                       owner where balance allows; a partition that moves to another member
//                       is first only taken away (KIP-429): its new owner gets it in the next
//                       rebalance, which the old owner asks for after giving it up
//
// All are pure functions of their input, so tests can check them directly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/consumer_protocol.h"
#include "core/client/topic_partition.h"

namespace kfk::client {

enum class AssignorKind : uint8_t { range, roundrobin, cooperative_sticky };

// "range", "roundrobin", "cooperative-sticky": the names members agree on in JoinGroup.
std::string_view assignor_name(AssignorKind kind);
std::optional<AssignorKind> assignor_by_name(std::string_view name);

// How members give up partitions in a rebalance: all of them before joining (eager), or only
// those that move, after the assignment says so (cooperative). A group is cooperative when
// every assignor a member offers supports it, as in the Java client.
enum class RebalanceProtocol : uint8_t { eager, cooperative };
RebalanceProtocol rebalance_protocol(const std::vector<AssignorKind>& offered);

struct MemberSubscription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  Subscription subscription;
};

// Partition counts of the subscribed topics; a topic missing here (unknown) gets no members.
using PartitionCounts = std::map<std::string, int32_t>;
// Every member id of the input, each with its partitions in order (possibly none).
using GroupAssignment = std::map<std::string, std::vector<TopicPartition>>;

GroupAssignment assign(AssignorKind kind, const std::vector<MemberSubscription>& members,
                       const PartitionCounts& partitions);

GroupAssignment assign_range(const std::vector<MemberSubscription>& members,
                             const PartitionCounts& partitions);
GroupAssignment assign_roundrobin(const std::vector<MemberSubscription>& members,
                                  const PartitionCounts& partitions);
// The balanced, sticky assignment, before the cooperative adjustment below.
GroupAssignment assign_sticky(const std::vector<MemberSubscription>& members,
                              const PartitionCounts& partitions);
// assign_sticky, then every partition whose valid previous owner is another member is left
// out of its new owner's assignment for this round.
GroupAssignment assign_cooperative_sticky(const std::vector<MemberSubscription>& members,
                                          const PartitionCounts& partitions);

// Members in the order range and roundrobin deal to: those with a group.instance.id first, by
// it, then the others by member id (the Java client's order).
std::vector<const MemberSubscription*> sorted_members(
    const std::vector<MemberSubscription>& members);

}  // namespace kfk::client

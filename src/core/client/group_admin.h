// Consumer group administration, as Kafka's Admin client offers it: list groups (every
// broker, optionally by state), describe them (members with their decoded assignments),
// read, alter and delete committed offsets, delete groups. Each group's requests go to its
// coordinator, found with FindCoordinator and retried as coordinator.h describes. Per-group
// and per-partition errors come back as codes; only failures of a whole request throw.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/client/group_offsets.h"
#include "core/client/topic_partition.h"

namespace kfk::client {

class Client;

struct GroupListing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for consumer groups, "" for offsets-only groups
  std::string state;          // empty when the broker does not say (ListGroups before v4)
  std::string type;           // "classic", "consumer", ... (v5+)
};

struct GroupMemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topics;  // decoded when the protocol type is "consumer"
  std::vector<TopicPartition> assignment;      // likewise
};

struct GroupDescription {
  std::string group_id;
  int16_t error = 0;
  std::string state;  // "Empty", "Stable", "PreparingRebalance", "CompletingRebalance", "Dead"
  std::string protocol_type;
  std::string protocol;  // the assignor, for consumer groups
  int32_t coordinator = -1;
  std::vector<GroupMemberDescription> members;
};

struct GroupResult {
  std::string group_id;
  int16_t error = 0;
};

struct OffsetDeleteResult {
  int16_t error = 0;  // group-level
  std::map<TopicPartition, int16_t> errors;
};

class GroupAdmin {
 public:
  explicit GroupAdmin(Client& client);

  // Every group of every broker, sorted by id; `states` filters by state (case-insensitive).
  std::vector<GroupListing> list_groups(const std::vector<std::string>& states = {});
  std::vector<GroupDescription> describe_groups(const std::vector<std::string>& groups);
  // The group's committed offsets (all of them when `partitions` is nullopt). Throws
  // ClientError(kafka) for a group-level error.
  std::map<TopicPartition, CommittedOffset> committed_offsets(
      const std::string& group, const std::optional<std::vector<TopicPartition>>& partitions);
  // OffsetCommit as a tool does: generation -1, no member id, so only while the group has no
  // active members (else UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION per partition).
  OffsetCommitResult alter_offsets(const std::string& group,
                                   const std::map<TopicPartition, int64_t>& offsets);
  std::vector<GroupResult> delete_groups(const std::vector<std::string>& groups);
  OffsetDeleteResult delete_offsets(const std::string& group,
                                    const std::vector<TopicPartition>& partitions);

 private:
  Client& client_;
};

}  // namespace kfk::client

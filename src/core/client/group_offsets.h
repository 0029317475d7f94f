// One OffsetFetch or OffsetCommit for a group on a given connection (the group's
// coordinator), in whichever version the broker speaks (OffsetFetch v8+ nests everything in
// a list of groups). No retries here: callers wrap these in with_coordinator() or handle the
// membership errors themselves.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/client/topic_partition.h"

namespace kfk::net {
class Connection;
}

namespace kfk::client {

struct CommittedOffset {
  int64_t offset = -1;  // -1: nothing committed
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int16_t error = 0;
};

struct OffsetFetchResult {
  int16_t error = 0;  // group-level error (v2+)
  std::map<TopicPartition, CommittedOffset> offsets;
};

// The committed offsets of `partitions`, or of every partition the group has committed when
// `partitions` is nullopt. `require_stable` waits out pending transactional commits (v7+).
OffsetFetchResult fetch_committed(net::Connection& conn, const std::string& group,
                                  const std::optional<std::vector<TopicPartition>>& partitions,
                                  bool require_stable);

// Who commits: a member of the current generation, or (generation -1, empty member id) a tool
// committing for a group without active members.
struct CommitIdentity {
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct OffsetCommitResult {
  int16_t error = 0;  // the first partition error, for callers that treat the commit whole
  std::map<TopicPartition, int16_t> errors;  // per partition, 0 for committed
};

OffsetCommitResult commit_offsets(net::Connection& conn, const std::string& group,
                                  const CommitIdentity& who,
                                  const std::map<TopicPartition, int64_t>& offsets);

}  // namespace kfk::client

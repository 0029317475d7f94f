// The retry loop of requests that go to each partition's leader (DeleteRecords, ListOffsets):
// the partitions are grouped by leader, a round sends one request to each leader, and what a
// round could not finish (no leader known, a leader that moved, a lost connection) goes again
// after the client's backoff, with fresh metadata, until the client's api timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string_view>

#include "core/client/topic_partition.h"

namespace kfk::client {

class Client;

// Partitions with a value each (the offset to delete before, the timestamp to look up).
using PartitionValues = std::map<TopicPartition, int64_t>;
using PartitionsByLeader = std::map<int32_t, PartitionValues>;

// What a round leaves for the next: the partitions to send again, and the error that held the
// last of them back (the timeout error names it).
struct LeaderRoundRetry {
  PartitionValues partitions;
  int16_t last_error = 0;

  void add(const TopicPartition& tp, int64_t value, int16_t error) {
    partitions[tp] = value;
    last_error = error;
  }
};

// Runs rounds until no partition is left; throws ClientError(timeout) naming `what` ("listing
// offsets of") and the first partition left when the api timeout passes first. `unknown` is
// called for a partition the metadata does not have (nullptr: it waits for a leader like a
// partition without one). `round` sends the requests of one round and answers what it
// finishes itself; errors it throws end the loop.
void retry_per_leader(Client& client, PartitionValues partitions, std::string_view what,
                      const std::function<void(const TopicPartition&)>& unknown,
                      const std::function<void(PartitionsByLeader&, LeaderRoundRetry&)>& round);

}  // namespace kfk::client

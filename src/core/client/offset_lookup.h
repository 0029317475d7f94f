// ListOffsets: the earliest, latest or by-time offsets of partitions, asked of each partition's
// leader (one request per leader, in parallel), retrying retriable errors with a metadata
// refresh until the client's api timeout. Shared by the consumers and the group admin.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/client/topic_partition.h"

namespace kfk::client {

class Client;

inline constexpr int64_t kLatestTimestamp = -1;
inline constexpr int64_t kEarliestTimestamp = -2;

// For kEarliestTimestamp the log start offset, for kLatestTimestamp the log end offset (the
// high watermark; the last stable offset with isolation level 1), for a time in ms the first
// offset whose timestamp is at or after it, or -1 when no record is that recent. Throws
// ClientError(kafka) for a non-retriable error, ClientError(timeout) when retries run out.
std::map<TopicPartition, int64_t> list_offsets(Client& client,
                                               const std::vector<TopicPartition>& partitions,
                                               int64_t timestamp, int8_t isolation_level = 0);

}  // namespace kfk::client

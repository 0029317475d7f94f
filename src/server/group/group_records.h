// The records of __consumer_offsets, in Kafka's own formats so that tools reading the topic
// understand them. Key and value each start with an int16 version:
//   key v0/v1  OffsetCommitKey  (group, topic, partition) -> OffsetCommitValue (v3 written)
//   key v2     GroupMetadataKey (group)                   -> GroupMetadataValue (v3 written)
// A null value is a tombstone: the offset or the group was deleted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/protocol/types.h"
#include "server/group/group.h"

namespace kfk::server::group {

// The __consumer_offsets partition of a group: abs(Java String.hashCode) mod partitions.
int32_t partition_for_group(std::string_view group_id, int32_t partitions);

protocol::Bytes offset_commit_key(std::string_view group_id, const TopicPartitionKey& tp);
protocol::Bytes offset_commit_value(const CommittedOffset& offset);
protocol::Bytes group_metadata_key(std::string_view group_id);
// The group's generation, protocol, leader and members (with the selected protocol's
// metadata and their assignments).
protocol::Bytes group_metadata_value(const Group& group, int64_t now_ms);

// One record read back.
struct StoredRecord {
  enum class Kind : uint8_t { offset_commit, group_metadata } kind = Kind::offset_commit;
  std::string group_id;
  TopicPartitionKey partition;            // offset commits
  std::optional<CommittedOffset> offset;  // nullopt: tombstone
  bool group_tombstone = false;
  Group group;  // group metadata (members without callbacks or deadlines)
};

// Parses a record of the topic; nullopt with `error` set when it is not one.
std::optional<StoredRecord> parse_stored_record(std::optional<std::span<const uint8_t>> key,
                                                std::optional<std::span<const uint8_t>> value,
                                                std::string& error);

}  // namespace kfk::server::group

// The records of the metadata log (__cluster_metadata) and their framing.
//
// A record's value is: uvarint type, uvarint version, then the record's fields in the
// flexible encoding of its definition (src/core/protocol/spec/metadata_records.kp). Keys are
// null. A controller operation appends all its records as one batch, so a batch is applied
// whole or not at all.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "core/protocol/messages/metadata_records.h"
#include "core/protocol/types.h"

namespace kfk::server {

enum class MetadataRecordType : uint16_t {
  topic = 1,
  partition = 2,
  config = 3,
  remove_topic = 4,
  producer_ids = 5,
  partition_change = 6,
  register_broker = 7,
};

// DescribeConfigs' resource types, as the config records carry them.
enum class ConfigResourceType : int8_t { unknown = 0, topic = 2, broker = 4, broker_logger = 8 };

using MetadataRecord =
    std::variant<protocol::MetadataTopicRecord, protocol::MetadataPartitionRecord,
                 protocol::MetadataConfigRecord, protocol::MetadataRemoveTopicRecord,
                 protocol::MetadataProducerIdsRecord, protocol::MetadataPartitionChangeRecord,
                 protocol::MetadataRegisterBrokerRecord>;

protocol::Bytes encode_metadata_record(const MetadataRecord& record);
// nullopt with `error` set for an unknown type or version, or malformed fields.
std::optional<MetadataRecord> decode_metadata_record(std::span<const uint8_t> bytes,
                                                     std::string& error);

}  // namespace kfk::server

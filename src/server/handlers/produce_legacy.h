// Produce v0-2 and the legacy message formats: a step before the produce path proper.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/protocol/errors.h"
#include "core/protocol/messages/produce.h"

namespace kfk::server {

struct LegacyRecordsError {
  protocol::ErrorCode code;
  std::string message;
};

// Produce v0-2 carry message sets of magic 0 or 1 (a v2 batch is accepted there too, as
// Kafka did): such a partition's records are replaced by the one v2 batch they convert to
// (record/legacy_conversion.h), so the rest of the produce path sees format v2 only. Later
// versions are left alone (a legacy entry there is refused like any invalid batch).
std::optional<LegacyRecordsError> convert_legacy_records(
    int16_t version, const protocol::ProduceRequest::PartitionProduceData& data);

}  // namespace kfk::server

#include "server/handlers/produce_legacy.h"

#include "core/record/legacy_conversion.h"

namespace kfk::server {

std::optional<LegacyRecordsError> convert_legacy_records(
    int16_t version, const protocol::ProduceRequest::PartitionProduceData& data) {
  if (version > 2 || !data.records || !record::is_legacy_message_set(*data.records))
    return std::nullopt;
  record::UpConversion converted = record::up_convert_message_set(*data.records);
  if (!converted.error.ok())
    return LegacyRecordsError{converted.error.kafka_error_code(), converted.error.message()};
  // The request is the dispatcher's own decoded copy, shared with no one (produce.cpp
  // appends its batches in place for the same reason).
  const_cast<protocol::Bytes&>(*data.records) = std::move(converted.batch);
  return std::nullopt;
}

}  // namespace kfk::server

// What a producer's batch must pass before it is appended to a partition, in one pass over
// its records (record::RecordScanner): the batch header and every record's structure (as
// Kafka's LogValidator and record reader check them), the topic's timestamp bounds and, for
// compacted topics, keys; the same pass recompresses the batch when the topic has a codec of
// its own.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/protocol/errors.h"
#include "core/protocol/messages/produce.h"
#include "core/record/record_batch.h"

namespace kfk::config {
struct TopicConfig;
}

namespace kfk::storage {

// The topic settings the produce path applies itself (the log applies the others).
struct ProduceSettings {
  std::optional<record::Compression> compression;  // nullopt: keep the producer's codec
  int compression_level = record::kDefaultCompressionLevel;
  bool create_time = true;
  int64_t timestamp_before_max_ms = INT64_MAX;
  int64_t timestamp_after_max_ms = 3'600'000;
  int32_t min_insync_replicas = 1;
  int32_t max_message_bytes = 1'048'588;
  bool compacted = false;  // cleanup.policy contains compact: every record needs a key
};

ProduceSettings produce_settings_from(const config::TopicConfig& config);

struct BatchRejection {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string message;
  std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage> record_errors;
};

struct CheckedBatch {
  std::optional<BatchRejection> rejection;
  // The batch recompressed with the topic's codec, to append instead of the request's bytes.
  std::optional<protocol::Bytes> rebuilt;
  // Every record was checked (the CRC too): the log need not check the CRC again.
  bool validated = false;
};

// Checks the one v2 batch a producer sent for a partition (with Produce request version
// `version`), in the request's own bytes: on success the batch's maxTimestamp is set to its
// records' largest, as Kafka does, and the batch (or `rebuilt`) can be appended with
// AppendOptions::records_validated.
CheckedBatch check_produce_batch(std::span<uint8_t> batch_bytes, int16_t version,
                                 const ProduceSettings& settings, const std::string& topic,
                                 int32_t partition, int64_t now);

}  // namespace kfk::storage

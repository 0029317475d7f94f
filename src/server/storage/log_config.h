// The topic-level settings a partition log obeys, under Kafka's names and defaults.
#pragma once

#include <cstdint>
#include <string>

#include "core/record/record_batch.h"
#include "server/storage/segment.h"

namespace kfk::config {
struct TopicConfig;
}

namespace kfk::storage {

struct LogConfig {
  int64_t segment_bytes = int64_t{1} << 30;            // segment.bytes
  int64_t segment_ms = int64_t{7} * 24 * 3600 * 1000;  // segment.ms
  // segment.jitter.ms: each segment rolls up to this much before segment.ms (drawn at random
  // per segment), so that partitions created together do not all roll together.
  int64_t segment_jitter_ms = 0;
  int64_t segment_index_bytes = int64_t{10} << 20;       // segment.index.bytes
  int64_t index_interval_bytes = 4096;                   // index.interval.bytes
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;  // retention.ms; -1: no limit
  int64_t retention_bytes = -1;                          // retention.bytes; -1: no limit
  // flush.messages / flush.ms: Long.MAX_VALUE, i.e. no explicit flush; the OS writes back
  // and recovery covers a crash.
  int64_t flush_messages = INT64_MAX;
  int64_t flush_ms = INT64_MAX;
  record::TimestampType message_timestamp_type = record::TimestampType::create_time;
  int32_t max_message_bytes = 1048588;  // max.message.bytes
  // Broker-wide in Kafka (producer.id.expiration.ms), kept here so a log needs one config.
  int64_t producer_id_expiration_ms = 86400000;
  // cleanup.policy contains compact, and the settings of the log cleaner (log_cleaner.h).
  bool compact = false;
  double min_cleanable_dirty_ratio = 0.5;             // min.cleanable.dirty.ratio
  int64_t min_compaction_lag_ms = 0;                  // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = INT64_MAX;          // max.compaction.lag.ms
  int64_t delete_retention_ms = int64_t{86'400'000};  // delete.retention.ms: tombstones
  // Not applied here: compression.type (the produce path recompresses before append),
  // message.timestamp.before/after.max.ms (needs each record's timestamp), preallocate,
  // file.delete.delay.ms (deletion is immediate).

  // An empty string when every value is in Kafka's accepted range, else what is wrong.
  std::string validate() const;
  // The options of one segment being created or opened (with its own random roll jitter).
  SegmentOptions segment_options() const;
};

// The storage settings of a topic's resolved configuration (core/config/topic_config.h).
LogConfig log_config_from(const config::TopicConfig& topic,
                          int64_t producer_id_expiration_ms = 86400000);

}  // namespace kfk::storage

#include "server/storage/log_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "core/config/topic_config.h"

namespace kfk::storage {

std::string LogConfig::validate() const {
  // The smallest segment Kafka accepts holds one legacy message header (14 bytes); positions
  // in the offset index are int32.
  if (segment_bytes < 14 || segment_bytes > INT32_MAX)
    return fmt::format("segment.bytes {} is outside [14, {}]", segment_bytes, INT32_MAX);
  if (segment_ms < 1) return fmt::format("segment.ms {} is below 1", segment_ms);
  if (segment_jitter_ms < 0)
    return fmt::format("segment.jitter.ms {} is below 0", segment_jitter_ms);
  if (segment_index_bytes < 4 || segment_index_bytes > INT32_MAX)
    return fmt::format("segment.index.bytes {} is outside [4, {}]", segment_index_bytes, INT32_MAX);
  if (index_interval_bytes < 0 || index_interval_bytes > INT32_MAX)
    return fmt::format("index.interval.bytes {} is outside [0, {}]", index_interval_bytes,
                       INT32_MAX);
  if (retention_ms < -1) return fmt::format("retention.ms {} is below -1", retention_ms);
  if (flush_messages < 1) return fmt::format("flush.messages {} is below 1", flush_messages);
  if (flush_ms < 0) return fmt::format("flush.ms {} is below 0", flush_ms);
  if (max_message_bytes < 0)
    return fmt::format("max.message.bytes {} is below 0", max_message_bytes);
  if (min_cleanable_dirty_ratio < 0 || min_cleanable_dirty_ratio > 1)
    return fmt::format("min.cleanable.dirty.ratio {} is outside [0, 1]", min_cleanable_dirty_ratio);
  if (min_compaction_lag_ms < 0)
    return fmt::format("min.compaction.lag.ms {} is below 0", min_compaction_lag_ms);
  if (max_compaction_lag_ms < 1)
    return fmt::format("max.compaction.lag.ms {} is below 1", max_compaction_lag_ms);
  if (delete_retention_ms < 0)
    return fmt::format("delete.retention.ms {} is below 0", delete_retention_ms);
  if (producer_id_expiration_ms < 1)
    return fmt::format("producer.id.expiration.ms {} is below 1", producer_id_expiration_ms);
  return {};
}

SegmentOptions LogConfig::segment_options() const {
  SegmentOptions o;
  o.index_max_bytes = static_cast<size_t>(segment_index_bytes);
  o.index_interval_bytes = static_cast<uint32_t>(index_interval_bytes);
  if (segment_jitter_ms > 0) {
    thread_local std::minstd_rand rng(std::random_device{}());
    auto bound = static_cast<uint64_t>(std::min(segment_jitter_ms, segment_ms));
    o.roll_jitter_ms = static_cast<int64_t>(rng() % bound);
  }
  return o;
}

LogConfig log_config_from(const config::TopicConfig& topic, int64_t producer_id_expiration_ms) {
  LogConfig c;
  c.segment_bytes = topic.segment_bytes;
  c.segment_ms = topic.segment_ms;
  c.segment_jitter_ms = topic.segment_jitter_ms;
  c.segment_index_bytes = topic.segment_index_bytes;
  c.index_interval_bytes = topic.index_interval_bytes;
  // Without cleanup.policy=delete nothing expires by time or size.
  c.retention_ms = topic.cleanup_delete ? topic.retention_ms : -1;
  c.retention_bytes = topic.cleanup_delete ? topic.retention_bytes : -1;
  c.flush_messages = topic.flush_messages;
  c.flush_ms = topic.flush_ms;
  c.message_timestamp_type = topic.message_timestamp_type == config::TimestampType::log_append_time
                                 ? record::TimestampType::log_append_time
                                 : record::TimestampType::create_time;
  c.max_message_bytes = topic.max_message_bytes;
  c.producer_id_expiration_ms = producer_id_expiration_ms;
  c.compact = topic.cleanup_compact;
  c.min_cleanable_dirty_ratio = topic.min_cleanable_dirty_ratio;
  c.min_compaction_lag_ms = topic.min_compaction_lag_ms;
  c.max_compaction_lag_ms = topic.max_compaction_lag_ms;
  c.delete_retention_ms = topic.delete_retention_ms;
  return c;
}

}  // namespace kfk::storage

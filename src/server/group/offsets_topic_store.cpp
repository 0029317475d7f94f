#include "server/group/offsets_topic_store.h"

#include <spdlog/spdlog.h>

#include <string>

#include "core/record/record_batch.h"
#include "server/broker.h"
#include "server/cluster/controller.h"
#include "server/fetch/fetch_manager.h"
#include "server/storage/partition_log.h"

namespace kfk::server::group {

using protocol::ErrorCode;

ErrorCode OffsetsTopicStore::ensure_topic() {
  if (broker_.metadata()->find_topic(kOffsetsTopic) != nullptr) return ErrorCode::none;
  std::lock_guard lock(create_mu_);
  if (broker_.metadata()->find_topic(kOffsetsTopic) != nullptr) return ErrorCode::none;
  const auto& config = broker_.config();
  NewTopic topic;
  topic.name = kOffsetsTopic;
  topic.num_partitions = config.offsets_topic_num_partitions;
  topic.replication_factor = config.offsets_topic_replication_factor;
  topic.configs = {{"cleanup.policy", "compact"},
                   {"compression.type", "producer"},
                   {"segment.bytes", std::to_string(config.offsets_topic_segment_bytes)}};
  auto created = broker_.controller().create_topic(topic, false);
  if (created.result.error != ErrorCode::none &&
      created.result.error != ErrorCode::topic_already_exists) {
    spdlog::error("could not create {}: {} {}", kOffsetsTopic,
                  protocol::error_name(static_cast<int16_t>(created.result.error)),
                  created.result.message);
    return created.result.error;
  }
  spdlog::info("created {} with {} partitions", kOffsetsTopic, config.offsets_topic_num_partitions);
  return ErrorCode::none;
}

int32_t OffsetsTopicStore::partitions() {
  const auto image = broker_.metadata();
  if (const TopicState* t = image->find_topic(kOffsetsTopic))
    return static_cast<int32_t>(t->partitions.size());
  return broker_.config().offsets_topic_num_partitions;
}

ErrorCode OffsetsTopicStore::append(int32_t partition, const std::vector<StoreRecord>& records,
                                    int64_t now_ms) {
  if (auto err = ensure_topic(); err != ErrorCode::none)
    return ErrorCode::coordinator_not_available;
  auto log = broker_.partition_log(kOffsetsTopic, partition);
  if (!log) return ErrorCode::not_leader_or_follower;
  record::BatchOptions options;
  record::BatchBuilder builder(options);
  for (const auto& r : records) {
    record::NullableBytes value;
    if (r.value) value = std::span<const uint8_t>(*r.value);
    builder.append(now_ms, std::span<const uint8_t>(r.key), value);
  }
  protocol::Bytes batch = builder.build();
  storage::AppendOptions append_options;
  append_options.origin = storage::AppendOrigin::coordinator;
  append_options.now_ms = now_ms;
  if (const TopicState* t = broker_.metadata()->find_topic(kOffsetsTopic))
    if (const PartitionState* p = t->find_partition(partition))
      append_options.leader_epoch = p->leader_epoch;
  auto result = log->append(batch, append_options);
  if (!result.ok()) {
    spdlog::warn("{}-{}: append failed: {}", kOffsetsTopic, partition, result.error_message);
    return result.error;
  }
  if (result.flush_needed) {
    if (auto err = log->flush_up_to(result.last_offset + 1); !err.ok())
      return err.kafka_error_code();
  }
  broker_.fetch_manager().notify(kOffsetsTopic, partition);
  return ErrorCode::none;
}

ErrorCode OffsetsTopicStore::read_all(int32_t partition, const Visit& visit) {
  if (broker_.metadata()->find_topic(kOffsetsTopic) == nullptr) return ErrorCode::none;
  auto log = broker_.partition_log(kOffsetsTopic, partition);
  if (!log) return ErrorCode::none;
  int64_t offset = log->log_start_offset();
  const int64_t end = log->log_end_offset();
  while (offset < end) {
    auto chunk = log->read_bytes(offset, 1 << 20, true, storage::ReadLimit::log_end);
    if (!chunk.ok()) {
      spdlog::error("{}-{} at offset {}: {}", kOffsetsTopic, partition, offset,
                    chunk.error_message);
      return chunk.error;
    }
    record::BatchIterator batches(chunk.bytes);
    bool progressed = false;
    while (auto batch = batches.next()) {
      progressed = true;
      const int64_t next = batch->next_offset();
      if (batch->is_control()) {
        offset = next;
        continue;
      }
      record::DecodedRecords records;
      if (auto err = record::decode_records(*batch, records); !err.ok()) {
        spdlog::warn("{}-{}: skipping the batch at offset {}: {}", kOffsetsTopic, partition,
                     batch->base_offset(), err.message());
        offset = next;
        continue;
      }
      for (const auto& r : records.records)
        if (r.offset >= offset) visit(r.key, r.value);
      offset = next;
    }
    if (!progressed) break;
  }
  return ErrorCode::none;
}

}  // namespace kfk::server::group

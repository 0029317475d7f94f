#include "server/coordinator/internal_topic_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "core/record/record_batch.h"
#include "server/cluster/controller_client.h"
#include "server/delayed/delayed_operations.h"
#include "server/partition/partition_manager.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<ErrorCode> InternalTopicStore::ensure_topic() {
  if (partitions_.table()->image().find_topic(topic_.name) != nullptr) co_return ErrorCode::none;
  NewTopic topic;
  topic.name = topic_.name;
  topic.num_partitions = topic_.partitions;
  topic.replication_factor = topic_.replication_factor;
  for (const auto& [name, value] : topic_.configs) topic.configs.emplace_back(name, value);
  // Requests racing to create it: the controller answers all but one TOPIC_ALREADY_EXISTS.
  auto created = co_await controller_.create_topic(std::move(topic), false);
  if (created.result.error == ErrorCode::topic_already_exists) co_return ErrorCode::none;
  if (created.result.error != ErrorCode::none) {
    spdlog::error("could not create {}: {} {}", topic_.name,
                  protocol::error_name(static_cast<int16_t>(created.result.error)),
                  created.result.message);
    co_return created.result.error;
  }
  spdlog::info("created {} with {} partitions", topic_.name, topic_.partitions);
  co_return ErrorCode::none;
}

int32_t InternalTopicStore::partitions() {
  if (const TopicState* t = partitions_.table()->image().find_topic(topic_.name))
    return static_cast<int32_t>(t->partitions.size());
  return topic_.partitions;
}

StoreAppend InternalTopicStore::append(int32_t partition, const std::vector<StoreRecord>& records,
                                       int64_t now_ms) {
  StoreAppend out;
  out.partition = partition;
  // A coordinator writes only to the partitions this broker leads, of a topic that exists.
  const auto table = partitions_.table();
  const PartitionLookup leader = table->leader(topic_.name, partition);
  if (!leader.ok()) {
    out.error = leader.topic == nullptr ? ErrorCode::coordinator_not_available
                                        : ErrorCode::not_leader_or_follower;
    return out;
  }
  storage::PartitionLog* log = &leader.partition->log();
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
  append_options.leader_epoch = leader.state->leader_epoch;
  auto result = log->append(batch, append_options);
  if (!result.ok()) {
    spdlog::warn("{}-{}: append failed: {}", topic_.name, partition, result.error_message);
    out.error = result.error;
    return out;
  }
  out.end_offset = result.last_offset + 1;
  out.flush = result.flush_needed;
  out.replica = table->local(topic_.name, partition);
  return out;
}

ErrorCode InternalTopicStore::await_commit(const StoreAppend& append) {
  if (append.error != ErrorCode::none) return append.error;
  if (append.flush) {
    // flush_up_to returns at once when a later append's flush already covered this one.
    auto* replica = static_cast<Partition*>(append.replica.get());
    if (auto err = replica->log().flush_up_to(append.end_offset); !err.ok())
      return err.kafka_error_code();
  }
  delayed_.notify(topic_.name, append.partition, append.end_offset);
  return ErrorCode::none;
}

void InternalTopicStore::watch_leadership(LeadershipListener listener) {
  leadership_.reset();
  if (!listener) return;
  leadership_ = partitions_.watch_leadership(
      topic_.name, [listener = std::move(listener)](const LeadershipChange& change) {
        StoreLeadership out;
        out.resigned = change.resigned;
        for (int32_t p : change.led) {
          // Reading the log's bounds costs no disk read: the coordinator's loader reads.
          const auto replica = change.table->local(change.topic, p);
          const bool has_records =
              replica && replica->log().log_end_offset() > replica->log().log_start_offset();
          out.led.push_back(StoreLeadership::Led{p, has_records});
        }
        listener(out);
      });
}

namespace {

// The offsets a read failing with CORRUPT_MESSAGE at `offset` cannot load: the log knows the
// range by then (a read starting in one fails). Its next offset, or -1 when none holds offset.
int64_t damage_end(const storage::PartitionLog& log, int64_t offset) {
  for (const storage::DamagedRange& d : log.damaged_ranges())
    if (d.next_offset > offset) return d.next_offset;
  return -1;
}

}  // namespace

void InternalTopicStore::report_damage(int32_t partition, int64_t first, int64_t next,
                                       std::string_view reason) const {
  spdlog::error(
      "{}-{}: offsets {}..{} are damaged and were not loaded, the records around them were; {} "
      "({})",
      topic_.name, partition, first, next - 1, topic_.damage_consequence, reason);
}

// Damage in the log costs the records it holds, never the others: the broker still starts
// with every intact record loaded, and serves the groups. A read that starts in a range the log
// knows fails with CORRUPT_MESSAGE and is resumed after it; a batch inside a read that fails its
// CRC is read again as the first batch of a read, which the log checks and turns into a range.
ErrorCode InternalTopicStore::read_all(int32_t partition, const Visit& visit) {
  const auto replica = partitions_.table()->local(topic_.name, partition);
  if (!replica) return ErrorCode::none;
  storage::PartitionLog* log = &replica->log();
  int64_t offset = log->log_start_offset();
  const int64_t end = log->log_end_offset();
  while (offset < end) {
    auto chunk = log->read_bytes(offset, 1 << 20, true, storage::ReadLimit::log_end);
    if (!chunk.ok()) {
      const int64_t next =
          chunk.error == ErrorCode::corrupt_message ? damage_end(*log, offset) : -1;
      if (next <= offset) {
        spdlog::error("{}-{}: the records from offset {} on were not loaded: {}", topic_.name,
                      partition, offset, chunk.error_message);
        return chunk.error == ErrorCode::corrupt_message ? ErrorCode::none : chunk.error;
      }
      report_damage(partition, offset, next, chunk.error_message);
      offset = next;
      continue;
    }
    record::BatchIterator batches(chunk.bytes);
    bool first = true;
    bool progressed = false;
    while (auto batch = batches.next()) {
      const bool first_of_read = std::exchange(first, false);
      record::DecodedRecords records;
      record::BatchError err;
      if (!batch->is_control()) err = record::decode_records(*batch, records);
      if (!err.ok()) {
        // Read it again as the first batch of a read: the log checks that one.
        if (!first_of_read) break;
        // The log did not see the damage (a segment checked at start, damaged since): its
        // offsets are the next good batch's base, or what the header claims.
        int64_t next = -1;
        while (auto after = batches.next()) {
          record::DecodedRecords ignored;
          if (record::decode_records(*after, ignored).ok()) {
            next = after->base_offset();
            break;
          }
        }
        if (next <= offset) next = batch->next_offset();
        if (next <= offset || next > end) next = end;
        report_damage(partition, offset, next, err.message());
        offset = next;
        progressed = true;
        break;
      }
      progressed = true;
      for (const auto& r : records.records)
        if (r.offset >= offset) visit(r.key, r.value);
      offset = std::max(offset, batch->next_offset());
    }
    if (!progressed) {
      spdlog::error("{}-{}: the records from offset {} on were not loaded: no whole batch there",
                    topic_.name, partition, offset);
      break;
    }
  }
  return ErrorCode::none;
}

}  // namespace kfk::server

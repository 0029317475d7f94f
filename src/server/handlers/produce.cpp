#include "server/handlers/produce.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "core/protocol/errors.h"
#include "core/record/record_batch.h"
#include "server/broker.h"
#include "server/delayed/delayed_operations.h"
#include "server/handlers/produce_legacy.h"
#include "server/log_rate_limit.h"
#include "server/partition/partition.h"
#include "server/storage/file_io.h"
#include "server/storage/partition_log.h"
#include "server/storage/produce_validation.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using PartitionResponse = protocol::ProduceResponse::PartitionProduceResponse;

void fail(PartitionResponse& out, ErrorCode code, std::optional<std::string> message = {}) {
  out.error_code = static_cast<int16_t>(code);
  out.base_offset = -1;
  out.log_append_time_ms = -1;
  out.log_start_offset = -1;
  out.error_message = std::move(message);
}

// The one well-framed v2 batch of a partition's records, or nullopt (the log reports what
// is wrong with anything else).
std::optional<record::BatchView> single_batch(std::span<const uint8_t> bytes) {
  record::BatchIterator it(bytes);
  auto batch = it.next();
  if (!batch || batch->magic() != record::kMagicV2 || it.next() || it.has_partial_batch())
    return std::nullopt;
  return batch;
}

bool has_transactional_batch(const protocol::ProduceRequest& req) {
  for (const auto& t : req.topic_data)
    for (const auto& p : t.partition_data) {
      if (!p.records) continue;
      record::BatchIterator it(*p.records);
      while (auto b = it.next())
        if (b->magic() == record::kMagicV2 && b->is_transactional()) return true;
    }
  return false;
}

void produce_partition(const PartitionTable& partitions, const std::string& topic_name,
                       const protocol::ProduceRequest::PartitionProduceData& data, int16_t version,
                       int16_t acks, int64_t now, PartitionResponse& out, int64_t& appended_end) {
  out.index = data.index;
  const PartitionLookup found = partitions.leader(topic_name, data.index);
  if (!found.ok()) return fail(out, found.error);
  // The coordinators own the internal topics; a client's records would corrupt their state.
  if (found.topic->internal)
    return fail(out, ErrorCode::invalid_topic_exception,
                fmt::format("Cannot append to internal topic {}", topic_name));
  const storage::ProduceSettings& settings = found.settings->produce;
  if (acks == -1 && static_cast<int32_t>(found.state->isr.size()) < settings.min_insync_replicas)
    return fail(
        out, ErrorCode::not_enough_replicas,
        fmt::format("The size of the current ISR {} is insufficient to satisfy the "
                    "min.isr requirement of {} for partition {}-{}",
                    found.state->isr.size(), settings.min_insync_replicas, topic_name, data.index));
  storage::PartitionLog& log = found.partition->log();

  // The request is the dispatcher's own decoded copy, not shared with anyone: the log
  // assigns offsets by rewriting the batch in place, so it is appended without a copy.
  std::span<uint8_t> bytes;
  if (data.records) {
    auto& records = const_cast<protocol::Bytes&>(*data.records);
    bytes = std::span(records);
  }
  storage::AppendOptions options;
  options.leader_epoch = found.state->leader_epoch;
  options.now_ms = now;
  storage::CheckedBatch checked;
  if (single_batch(bytes)) {
    checked = storage::check_produce_batch(bytes, version, settings, topic_name, data.index, now);
    if (checked.rejection) {
      fail(out, checked.rejection->error, std::move(checked.rejection->message));
      out.record_errors = std::move(checked.rejection->record_errors);
      return;
    }
    if (checked.rebuilt) bytes = std::span(*checked.rebuilt);
    options.records_validated = checked.validated;
  }
  storage::AppendResult r = log.append(bytes, options);
  if (!r.ok()) return fail(out, r.error, r.error_message);
  if (r.flush_needed) {
    if (auto err = log.flush_up_to(r.last_offset + 1); !err.ok()) {
      spdlog::error("partition {}-{}: flush failed: {}", topic_name, data.index, err.message());
      return fail(out, err.kafka_error_code(), err.message());
    }
  }
  out.error_code = 0;
  out.base_offset = r.first_offset;
  out.log_append_time_ms = r.log_append_time;
  out.log_start_offset = r.log_start_offset;
  if (!r.duplicate) appended_end = r.last_offset + 1;
}

}  // namespace

asio::awaitable<void> ProduceHandler::handle(RequestContext& ctx, const Request& req,
                                             Response& resp) {
  resp.throttle_time_ms = 0;
  std::optional<std::pair<ErrorCode, std::string>> all_fail;
  if (req.acks != 0 && req.acks != 1 && req.acks != -1) {
    all_fail.emplace(ErrorCode::invalid_required_acks, "acks must be -1, 0 or 1");
  } else if (has_transactional_batch(req)) {
    // Without a transaction coordinator no producer can hold a transactional id here, so a
    // transactional batch is refused as Kafka refuses one from a producer not allowed to
    // use its transactional id: a fatal error for the Java client and librdkafka, rather
    // than one they would retry.
    all_fail.emplace(ErrorCode::transactional_id_authorization_failed,
                     "Transactions are not supported by this broker");
  }
  const auto partitions = ctx.broker.partitions();
  const int64_t now = storage::wall_clock_ms();
  bool any_error = false;
  // Fetches waiting for these partitions are woken once the whole request is appended: a
  // fetch woken by the first partition would otherwise run (on another reactor) while the
  // others are still being appended, contend for their locks, and answer with part of the
  // data, costing the consumer another round trip for the rest.
  struct Appended {
    const std::string* topic;
    int32_t partition;
    int64_t end_offset;
  };
  std::vector<Appended> appended_to;
  for (const auto& topic : req.topic_data) {
    auto& t = resp.responses.emplace_back();
    t.name = topic.name;
    for (const auto& data : topic.partition_data) {
      auto& out = t.partition_responses.emplace_back();
      out.index = data.index;
      if (all_fail)
        fail(out, all_fail->first, all_fail->second);
      else if (auto legacy = convert_legacy_records(ctx.version(), data))
        fail(out, legacy->code, std::move(legacy->message));
      else {
        int64_t appended_end = -1;
        produce_partition(*partitions, topic.name, data, ctx.version(), req.acks, now, out,
                          appended_end);
        if (appended_end >= 0) appended_to.push_back({&topic.name, data.index, appended_end});
      }
      any_error = any_error || out.error_code != 0;
    }
  }
  for (const Appended& a : appended_to)
    ctx.broker.delayed_operations().notify(*a.topic, a.partition, a.end_offset);
  if (req.acks == 0) {
    ctx.respond = false;
    // Kafka closes the connection of an acks=0 producer whose request failed: the only way
    // to tell it.
    if (any_error) {
      log_limited(spdlog::level::info, fmt::format("{} acks=0", peer_host(ctx.connection.peer)),
                  "closing connection from {}: an acks=0 produce request failed",
                  ctx.connection.peer);
      ctx.close = true;
    }
  }
  co_return;
}

}  // namespace kfk::server

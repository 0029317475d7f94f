#include "server/handlers/produce.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config/topic_config.h"
#include "core/protocol/errors.h"
#include "core/record/record_batch.h"
#include "server/broker.h"
#include "server/cluster/controller.h"
#include "server/fetch/fetch_manager.h"
#include "server/handlers/produce_legacy.h"
#include "server/log_rate_limit.h"
#include "server/storage/file_io.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using PartitionResponse = protocol::ProduceResponse::PartitionProduceResponse;

// The topic settings the produce path applies itself (the log applies the others).
struct ProduceSettings {
  std::optional<record::Compression> compression;  // nullopt: keep the producer's codec
  int compression_level = record::kDefaultCompressionLevel;
  bool create_time = true;
  int64_t timestamp_before_max_ms = INT64_MAX;
  int64_t timestamp_after_max_ms = 3'600'000;
  int32_t min_insync_replicas = 1;
  bool compacted = false;  // cleanup.policy contains compact: every record needs a key
};

ProduceSettings settings_from(const config::TopicConfig& c) {
  ProduceSettings s;
  s.compression = c.compression;
  if (c.compression) {
    switch (*c.compression) {
      case record::Compression::gzip:
        s.compression_level = c.compression_gzip_level;
        break;
      case record::Compression::lz4:
        s.compression_level = c.compression_lz4_level;
        break;
      case record::Compression::zstd:
        s.compression_level = c.compression_zstd_level;
        break;
      default:
        break;
    }
  }
  s.create_time = c.message_timestamp_type == config::TimestampType::create_time;
  s.timestamp_before_max_ms = c.message_timestamp_before_max_ms;
  s.timestamp_after_max_ms = c.message_timestamp_after_max_ms;
  s.min_insync_replicas = c.min_insync_replicas;
  s.compacted = c.cleanup_compact;
  return s;
}

// Resolving a topic's settings parses its overrides and the broker layers: done once per
// topic and metadata image on each reactor thread, not once per request.
const ProduceSettings& settings_for(Broker& broker,
                                    const std::shared_ptr<const MetadataImage>& image,
                                    const TopicState& topic) {
  struct Cache {
    std::shared_ptr<const MetadataImage> image;
    std::unordered_map<std::string, ProduceSettings> topics;
  };
  thread_local Cache cache;
  if (cache.image != image) {
    cache.image = image;
    cache.topics.clear();
  }
  auto it = cache.topics.find(topic.name);
  if (it != cache.topics.end()) return it->second;
  auto resolved =
      config::resolve_topic_config(broker.controller().broker_layers(*image), topic.configs);
  ProduceSettings s = resolved ? settings_from(resolved.value()) : ProduceSettings{};
  return cache.topics.emplace(topic.name, s).first->second;
}

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

// The records of one batch, decoded at most once for all the checks that need them (the
// timestamp and key checks and recompression).
class BatchRecords {
 public:
  explicit BatchRecords(const record::BatchView& batch) : batch_(batch) {}
  // nullptr (and `out` failed) when the batch does not decode.
  const record::DecodedRecords* get(PartitionResponse& out) {
    if (!decoded_) {
      decoded_.emplace();
      error_ = record::decode_records(batch_, *decoded_);
    }
    if (error_.ok()) return &*decoded_;
    fail(out, error_.kafka_error_code(), error_.message());
    return nullptr;
  }
  const record::BatchView& batch() const { return batch_; }

 private:
  const record::BatchView& batch_;
  std::optional<record::DecodedRecords> decoded_;
  record::BatchError error_;
};

// message.timestamp.before.max.ms / after.max.ms for CreateTime topics, as Kafka checks each
// record. The header's maxTimestamp decides the common case (only `after` is bounded)
// without decoding; records are decoded only when `before` is bounded or a record is out of
// range, to name it.
bool check_timestamps(BatchRecords& batch_records, const ProduceSettings& s, int64_t now,
                      PartitionResponse& out) {
  const record::BatchView& batch = batch_records.batch();
  const bool before_bounded = s.timestamp_before_max_ms != INT64_MAX;
  const auto too_new = [&](int64_t ts) {
    return ts != record::kNoTimestamp && ts > now && ts - now > s.timestamp_after_max_ms;
  };
  const auto too_old = [&](int64_t ts) {
    return ts != record::kNoTimestamp && before_bounded && ts < now &&
           now - ts > s.timestamp_before_max_ms;
  };
  if (!before_bounded && !too_new(batch.max_timestamp())) return true;
  const record::DecodedRecords* decoded = batch_records.get(out);
  if (decoded == nullptr) return false;
  const auto& records = *decoded;
  std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage> errors;
  for (size_t i = 0; i < records.records.size(); ++i) {
    const int64_t ts = records.records[i].timestamp;
    if (!too_new(ts) && !too_old(ts)) continue;
    auto& e = errors.emplace_back();
    e.batch_index = static_cast<int32_t>(i);
    const int64_t low = before_bounded ? now - s.timestamp_before_max_ms : INT64_MIN;
    e.batch_index_error_message = fmt::format(
        "Timestamp {} of message with offset {} is out of range. The timestamp should be within "
        "[{}, {}]",
        ts, records.records[i].offset, low, now + s.timestamp_after_max_ms);
  }
  if (errors.empty()) return true;
  fail(out, ErrorCode::invalid_timestamp,
       "One or more records have been rejected due to invalid timestamp");
  out.record_errors = std::move(errors);
  return false;
}

// A compacted topic keeps the latest record per key, so a record without a key is refused,
// naming each one, as Kafka does.
bool check_keys(BatchRecords& batch_records, const std::string& topic, int32_t partition,
                PartitionResponse& out) {
  if (batch_records.batch().is_control()) return true;
  const record::DecodedRecords* decoded = batch_records.get(out);
  if (decoded == nullptr) return false;
  const auto& records = *decoded;
  std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage> errors;
  for (size_t i = 0; i < records.records.size(); ++i) {
    if (records.records[i].key) continue;
    auto& e = errors.emplace_back();
    e.batch_index = static_cast<int32_t>(i);
    e.batch_index_error_message =
        fmt::format("Compacted topic cannot accept message without key in topic partition {}-{}.",
                    topic, partition);
  }
  if (errors.empty()) return true;
  fail(out, ErrorCode::invalid_record, "One or more records have been rejected");
  out.record_errors = std::move(errors);
  return false;
}

// Rebuilds the batch with the topic's codec, keeping the producer id, epoch and sequence,
// the transactional flag, and each record's offset delta, timestamp, key, value and headers.
std::optional<protocol::Bytes> recompress(BatchRecords& batch_records, const ProduceSettings& s,
                                          PartitionResponse& out) {
  const record::BatchView& batch = batch_records.batch();
  const record::DecodedRecords* decoded = batch_records.get(out);
  if (decoded == nullptr) return std::nullopt;
  const auto& records = *decoded;
  record::BatchOptions options;
  options.base_offset = batch.base_offset();
  options.compression = *s.compression;
  options.compression_level = s.compression_level;
  options.timestamp_type = batch.timestamp_type();
  options.producer_id = batch.producer_id();
  options.producer_epoch = batch.producer_epoch();
  options.base_sequence = batch.base_sequence();
  options.transactional = batch.is_transactional();
  record::BatchBuilder builder(options);
  for (const auto& r : records.records) {
    if (!builder.append_with_offset(r.offset, r.timestamp, r.key, r.value, r.headers)) {
      fail(out, ErrorCode::invalid_record, "a record could not be recompressed");
      return std::nullopt;
    }
  }
  return builder.build();
}

void produce_partition(Broker& broker, const std::shared_ptr<const MetadataImage>& image,
                       const std::string& topic_name,
                       const protocol::ProduceRequest::PartitionProduceData& data, int16_t acks,
                       int64_t now, PartitionResponse& out, bool& appended) {
  out.index = data.index;
  const TopicState* topic = image->find_topic(topic_name);
  const PartitionState* part = topic != nullptr ? topic->find_partition(data.index) : nullptr;
  if (part == nullptr) return fail(out, ErrorCode::unknown_topic_or_partition);
  if (part->leader != broker.config().node_id) return fail(out, ErrorCode::not_leader_or_follower);
  // The coordinators own the internal topics; a client's records would corrupt their state.
  if (topic->internal)
    return fail(out, ErrorCode::invalid_topic_exception,
                fmt::format("Cannot append to internal topic {}", topic_name));
  const ProduceSettings& settings = settings_for(broker, image, *topic);
  if (acks == -1 && static_cast<int32_t>(part->isr.size()) < settings.min_insync_replicas)
    return fail(
        out, ErrorCode::not_enough_replicas,
        fmt::format("The size of the current ISR {} is insufficient to satisfy the "
                    "min.isr requirement of {} for partition {}-{}",
                    part->isr.size(), settings.min_insync_replicas, topic_name, data.index));
  auto log = broker.partition_log(topic_name, data.index);
  if (!log) return fail(out, ErrorCode::not_leader_or_follower);

  // The request is the dispatcher's own decoded copy, not shared with anyone: the log
  // assigns offsets by rewriting the batch in place, so it is appended without a copy.
  std::span<uint8_t> bytes;
  if (data.records) {
    auto& records = const_cast<protocol::Bytes&>(*data.records);
    bytes = std::span(records);
  }
  protocol::Bytes rebuilt;
  if (auto batch = single_batch(bytes)) {
    BatchRecords batch_records(*batch);
    if (settings.create_time && !check_timestamps(batch_records, settings, now, out)) return;
    if (settings.compacted && !check_keys(batch_records, topic_name, data.index, out)) return;
    if (settings.compression && *settings.compression != batch->compression()) {
      auto again = recompress(batch_records, settings, out);
      if (!again) return;
      rebuilt = std::move(*again);
      bytes = std::span(rebuilt);
    }
  }
  storage::AppendOptions options;
  options.leader_epoch = part->leader_epoch;
  options.now_ms = now;
  storage::AppendResult r = log->append(bytes, options);
  if (!r.ok()) return fail(out, r.error, r.error_message);
  if (r.flush_needed) {
    if (auto err = log->flush_up_to(r.last_offset + 1); !err.ok()) {
      spdlog::error("partition {}-{}: flush failed: {}", topic_name, data.index, err.message());
      return fail(out, err.kafka_error_code(), err.message());
    }
  }
  out.error_code = 0;
  out.base_offset = r.first_offset;
  out.log_append_time_ms = r.log_append_time;
  out.log_start_offset = r.log_start_offset;
  appended = !r.duplicate;
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
  const auto image = ctx.broker.metadata();
  const int64_t now = storage::wall_clock_ms();
  bool any_error = false;
  // Fetches waiting for these partitions are woken once the whole request is appended: a
  // fetch woken by the first partition would otherwise run (on another reactor) while the
  // others are still being appended, contend for their locks, and answer with part of the
  // data, costing the consumer another round trip for the rest.
  std::vector<std::pair<const std::string*, int32_t>> appended_to;
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
        bool appended = false;
        produce_partition(ctx.broker, image, topic.name, data, req.acks, now, out, appended);
        if (appended) appended_to.emplace_back(&topic.name, data.index);
      }
      any_error = any_error || out.error_code != 0;
    }
  }
  for (const auto& [topic_name, partition] : appended_to)
    ctx.broker.fetch_manager().notify(*topic_name, partition);
  if (req.acks == 0) {
    ctx.respond = false;
    // Kafka closes the connection of an acks=0 producer whose request failed: the only way
    // to tell it.
    if (any_error && ctx.connection.extras) {
      log_limited(spdlog::level::info, fmt::format("{} acks=0", peer_host(ctx.connection.peer)),
                  "closing connection from {}: an acks=0 produce request failed",
                  ctx.connection.peer);
      ctx.connection.extras->close = true;
    }
  }
  co_return;
}

}  // namespace kfk::server

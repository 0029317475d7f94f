#include "server/storage/produce_validation.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/config/topic_config.h"
#include "core/record/record_scanner.h"

namespace kfk::storage {

namespace {

using protocol::ErrorCode;
using RecordError = protocol::ProduceResponse::BatchIndexAndErrorMessage;

// Kafka shows at most this many record errors in the message (all are in record_errors).
constexpr size_t kRecordErrorsInMessage = 3;

// The per-record half of the pass: Kafka's validateRecord (the key of a compacted topic,
// then the timestamp bounds of a CreateTime topic), the largest timestamp, and the records
// handed to the builder when the batch is recompressed.
class ProduceRecordChecks final : public record::RecordVisitor {
 public:
  ProduceRecordChecks(const ProduceSettings& s, const std::string& topic, int32_t partition,
                      int64_t now, record::BatchBuilder* builder)
      : s_(s), topic_(topic), partition_(partition), now_(now), builder_(builder) {}

  bool on_record(int32_t index, const record::RecordView& r) override {
    if (r.timestamp > max_timestamp_) max_timestamp_ = r.timestamp;
    if (s_.compacted && !r.key) {
      add(index,
          fmt::format("Compacted topic cannot accept message without key in topic partition {}-{}.",
                      topic_, partition_));
    } else if (s_.create_time && out_of_range(r.timestamp)) {
      const int64_t low =
          s_.timestamp_before_max_ms == INT64_MAX ? INT64_MIN : now_ - s_.timestamp_before_max_ms;
      add(index, fmt::format("Timestamp {} of message with offset {} is out of range. The "
                             "timestamp should be within [{}, {}]",
                             r.timestamp, r.offset, low, now_ + s_.timestamp_after_max_ms));
      timestamp_error_ = true;
    }
    if (builder_ != nullptr && errors_.empty() &&
        !builder_->append_with_offset(r.offset, r.timestamp, r.key, r.value, r.headers))
      builder_failed_ = true;
    return true;
  }

  int64_t max_timestamp() const { return max_timestamp_; }
  bool builder_failed() const { return builder_failed_; }

  // Kafka's processRecordErrors: INVALID_TIMESTAMP when any record's timestamp is out of
  // range, INVALID_RECORD otherwise.
  std::optional<BatchRejection> rejection() {
    if (errors_.empty()) return std::nullopt;
    BatchRejection r;
    if (timestamp_error_) {
      r.error = ErrorCode::invalid_timestamp;
      r.message = "One or more records have been rejected due to invalid timestamp";
    } else {
      r.error = ErrorCode::invalid_record;
      std::string shown;
      for (size_t i = 0; i < std::min(errors_.size(), kRecordErrorsInMessage); ++i)
        shown +=
            fmt::format("{}RecordError(batchIndex={}, message='{}')", i ? ", " : "",
                        errors_[i].batch_index, errors_[i].batch_index_error_message.value_or(""));
      r.message = fmt::format(
          "One or more records have been rejected due to {} record errors in total, and only "
          "showing the first three errors at most: [{}]",
          errors_.size(), shown);
    }
    r.record_errors = std::move(errors_);
    return r;
  }

 private:
  bool out_of_range(int64_t ts) const {
    if (ts == record::kNoTimestamp) return false;
    if (ts > now_) return ts - now_ > s_.timestamp_after_max_ms;
    return s_.timestamp_before_max_ms != INT64_MAX && now_ - ts > s_.timestamp_before_max_ms;
  }
  void add(int32_t index, std::string message) {
    auto& e = errors_.emplace_back();
    e.batch_index = index;
    e.batch_index_error_message = std::move(message);
  }

  const ProduceSettings& s_;
  const std::string& topic_;
  int32_t partition_;
  int64_t now_;
  record::BatchBuilder* builder_;
  int64_t max_timestamp_ = record::kNoTimestamp;
  bool timestamp_error_ = false;
  bool builder_failed_ = false;
  std::vector<RecordError> errors_;
};

CheckedBatch reject(ErrorCode error, std::string message) {
  CheckedBatch c;
  c.rejection.emplace();
  c.rejection->error = error;
  c.rejection->message = std::move(message);
  return c;
}

// One scanner per reactor thread: its window and codec contexts are reused by every batch.
record::RecordScanner& thread_scanner(size_t max_record_bytes) {
  thread_local record::RecordScanner scanner;
  record::ScanLimits limits;
  limits.max_record_bytes = std::max(limits.max_record_bytes, max_record_bytes);
  scanner.set_limits(limits);
  return scanner;
}

}  // namespace

ProduceSettings produce_settings_from(const config::TopicConfig& c) {
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
  s.max_message_bytes = c.max_message_bytes;
  s.compacted = c.cleanup_compact;
  return s;
}

CheckedBatch check_produce_batch(std::span<uint8_t> batch_bytes, int16_t version,
                                 const ProduceSettings& s, const std::string& topic,
                                 int32_t partition, int64_t now) {
  const record::BatchView batch(batch_bytes);
  // Kafka's order: the request version's codecs, the size, then the CRC and the records.
  if (version < 7 && batch.compression() == record::Compression::zstd)
    return reject(ErrorCode::unsupported_compression_type,
                  fmt::format("Produce requests with version {} are not allowed to use "
                              "ZStandard compression",
                              version));
  if (static_cast<int64_t>(batch.size()) > s.max_message_bytes)
    return {};  // the log refuses it with MESSAGE_TOO_LARGE

  std::optional<record::BatchBuilder> builder;
  if (s.compression && *s.compression != batch.compression()) {
    record::BatchOptions options;
    options.base_offset = batch.base_offset();
    options.compression = *s.compression;
    options.compression_level = s.compression_level;
    options.timestamp_type = batch.timestamp_type();
    options.producer_id = batch.producer_id();
    options.producer_epoch = batch.producer_epoch();
    options.base_sequence = batch.base_sequence();
    options.transactional = batch.is_transactional();
    builder.emplace(options);
  }
  ProduceRecordChecks checks(s, topic, partition, now, builder ? &*builder : nullptr);
  record::ScanOptions options;
  options.header.client_rules = true;
  options.collect_headers = builder.has_value();
  record::RecordScanner& scanner = thread_scanner(static_cast<size_t>(s.max_message_bytes));
  if (record::BatchError err = scanner.scan(batch, options, &checks); !err.ok())
    return reject(err.kafka_error_code(),
                  fmt::format("Record batch at base offset {} of partition {}-{} is refused: {}",
                              batch.base_offset(), topic, partition, err.message()));
  CheckedBatch result;
  result.rejection = checks.rejection();
  if (result.rejection) return result;
  result.validated = true;
  if (builder) {
    if (checks.builder_failed())
      return reject(ErrorCode::invalid_record, "a record could not be recompressed");
    result.rebuilt = builder->build();
  } else if (s.create_time && batch.max_timestamp() != checks.max_timestamp()) {
    // Kafka writes the records' largest timestamp into the header; the time index and
    // ListOffsets by time rely on it.
    record::MutableBatchView(batch_bytes)
        .set_max_timestamp(record::TimestampType::create_time, checks.max_timestamp());
  }
  return result;
}

}  // namespace kfk::storage

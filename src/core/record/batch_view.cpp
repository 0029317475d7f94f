// BatchView accessors and validation, in-place rewrites, and iteration over batches.
#include <fmt/format.h>

#include "core/record/crc32c.h"
#include "core/record/record_batch.h"
#include "core/util/big_endian.h"

namespace kfk::record {

std::string_view to_string(BatchErrorKind kind) {
  switch (kind) {
    case BatchErrorKind::none:
      return "no error";
    case BatchErrorKind::truncated:
      return "truncated batch";
    case BatchErrorKind::invalid_length:
      return "invalid batch length";
    case BatchErrorKind::unsupported_magic:
      return "unsupported magic";
    case BatchErrorKind::legacy_format:
      return "unsupported legacy message format";
    case BatchErrorKind::crc_mismatch:
      return "CRC mismatch";
    case BatchErrorKind::unsupported_codec:
      return "unsupported compression codec";
    case BatchErrorKind::invalid_header:
      return "invalid batch header";
    case BatchErrorKind::invalid_control:
      return "invalid control batch";
    case BatchErrorKind::invalid_timestamp:
      return "invalid timestamp";
    case BatchErrorKind::invalid_record:
      return "invalid record";
    case BatchErrorKind::decompression_failed:
      return "decompression failed";
    case BatchErrorKind::too_large:
      return "decompressed records too large";
  }
  return "unknown batch error";
}

std::string BatchError::message() const {
  std::string m = fmt::format("{} in field '{}'", to_string(kind), field);
  if (record_index >= 0) m += fmt::format(" of record {}", record_index);
  if (!detail.empty()) m += ": " + detail;
  return m;
}

protocol::ErrorCode BatchError::kafka_error_code() const {
  using E = protocol::ErrorCode;
  switch (kind) {
    case BatchErrorKind::none:
      return E::none;
    case BatchErrorKind::truncated:
    case BatchErrorKind::invalid_length:
    case BatchErrorKind::unsupported_magic:
    case BatchErrorKind::crc_mismatch:
    case BatchErrorKind::decompression_failed:
      return E::corrupt_message;
    case BatchErrorKind::too_large:
      return E::message_too_large;
    case BatchErrorKind::invalid_timestamp:
      return E::invalid_timestamp;
    case BatchErrorKind::unsupported_codec:
      return E::unsupported_compression_type;
    case BatchErrorKind::legacy_format:
    case BatchErrorKind::invalid_header:
    case BatchErrorKind::invalid_control:
    case BatchErrorKind::invalid_record:
      return E::invalid_record;
  }
  return E::corrupt_message;
}

namespace {

// A header field, or 0 when the view is too short to hold it.
template <BigEndianInt T>
T header_field(std::span<const uint8_t> b, size_t pos) {
  return b.size() < pos + sizeof(T) ? T{0} : load_be<T>(b.data() + pos);
}

BatchError make_error(BatchErrorKind kind, const char* field, std::string detail = {}) {
  BatchError e;
  e.kind = kind;
  e.field = field;
  e.detail = std::move(detail);
  return e;
}

}  // namespace

int64_t BatchView::base_offset() const {
  return header_field<int64_t>(bytes_, batch_pos::base_offset);
}
int32_t BatchView::batch_length() const {
  return header_field<int32_t>(bytes_, batch_pos::batch_length);
}
int32_t BatchView::partition_leader_epoch() const {
  return header_field<int32_t>(bytes_, batch_pos::partition_leader_epoch);
}
int8_t BatchView::magic() const {
  return bytes_.size() > batch_pos::magic ? static_cast<int8_t>(bytes_[batch_pos::magic]) : 0;
}
uint32_t BatchView::crc() const { return header_field<uint32_t>(bytes_, batch_pos::crc); }
uint16_t BatchView::attributes() const {
  return header_field<uint16_t>(bytes_, batch_pos::attributes);
}
int32_t BatchView::last_offset_delta() const {
  return header_field<int32_t>(bytes_, batch_pos::last_offset_delta);
}
int64_t BatchView::base_timestamp() const {
  return header_field<int64_t>(bytes_, batch_pos::base_timestamp);
}
int64_t BatchView::max_timestamp() const {
  return header_field<int64_t>(bytes_, batch_pos::max_timestamp);
}
int64_t BatchView::producer_id() const {
  return header_field<int64_t>(bytes_, batch_pos::producer_id);
}
int16_t BatchView::producer_epoch() const {
  return header_field<int16_t>(bytes_, batch_pos::producer_epoch);
}
int32_t BatchView::base_sequence() const {
  return header_field<int32_t>(bytes_, batch_pos::base_sequence);
}
int32_t BatchView::records_count() const {
  return header_field<int32_t>(bytes_, batch_pos::records_count);
}

Compression BatchView::compression() const {
  return compression_from_id(codec_id()).value_or(Compression::none);
}

TimestampType BatchView::timestamp_type() const {
  return (attributes() & batch_attr::log_append_time) ? TimestampType::log_append_time
                                                      : TimestampType::create_time;
}

std::optional<int64_t> BatchView::delete_horizon_ms() const {
  if (!has_delete_horizon()) return std::nullopt;
  return base_timestamp();
}

std::span<const uint8_t> BatchView::records_bytes() const {
  if (bytes_.size() < kBatchHeaderSize) return {};
  return bytes_.subspan(kBatchHeaderSize);
}

uint32_t BatchView::compute_crc() const {
  if (bytes_.size() < batch_pos::attributes) return 0;
  return crc32c(bytes_.subspan(batch_pos::attributes));
}

BatchError BatchView::validate(const ValidateOptions& options) const {
  using K = BatchErrorKind;
  // Magic first, so that an old-format message gets a clear answer even though it is
  // usually shorter than a v2 header.
  if (bytes_.size() <= batch_pos::magic)
    return make_error(K::truncated, "magic", fmt::format("only {} bytes", bytes_.size()));
  int8_t m = magic();
  if (m == kMagicV0 || m == kMagicV1)
    return make_error(K::legacy_format, "magic", fmt::format("message format v{}", m));
  if (m != kMagicV2) return make_error(K::unsupported_magic, "magic", fmt::format("magic {}", m));
  if (bytes_.size() < kBatchHeaderSize)
    return make_error(K::truncated, "batch header",
                      fmt::format("{} bytes, a header needs {}", bytes_.size(), kBatchHeaderSize));
  int32_t length = batch_length();
  if (length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead))
    return make_error(K::invalid_length, "batchLength", fmt::format("batchLength {}", length));
  size_t total = kLogOverhead + static_cast<size_t>(length);
  if (total > bytes_.size())
    return make_error(K::truncated, "batchLength",
                      fmt::format("batch of {} bytes but only {} present", total, bytes_.size()));
  if (total < bytes_.size())
    return make_error(K::invalid_length, "batchLength",
                      fmt::format("{} bytes after the batch", bytes_.size() - total));
  if (options.verify_crc) {
    uint32_t computed = compute_crc();
    if (computed != crc())
      return make_error(K::crc_mismatch, "crc",
                        fmt::format("stored {:#010x}, computed {:#010x}", crc(), computed));
  }
  if (!compression_from_id(codec_id()))
    return make_error(K::unsupported_codec, "attributes", fmt::format("codec id {}", codec_id()));

  int32_t count = records_count();
  int32_t last_delta = last_offset_delta();
  if (count < 0)
    return make_error(K::invalid_header, "recordsCount", fmt::format("count {}", count));
  if (last_delta < 0)
    return make_error(K::invalid_header, "lastOffsetDelta", fmt::format("delta {}", last_delta));
  // Offsets may have gaps after compaction, but each record needs its own offset.
  if (count > 0 && last_delta < count - 1)
    return make_error(K::invalid_header, "lastOffsetDelta",
                      fmt::format("delta {} cannot hold {} records", last_delta, count));
  if (base_offset() > INT64_MAX - last_delta)
    return make_error(K::invalid_header, "baseOffset", "last offset overflows");
  if (compression() == Compression::none &&
      static_cast<size_t>(count) > records_bytes().size() / kMinRecordSize)
    return make_error(
        K::invalid_header, "recordsCount",
        fmt::format("{} records cannot fit in {} bytes", count, records_bytes().size()));

  if (is_control()) {
    if (options.client_rules)
      return make_error(K::invalid_control, "attributes", "clients may not write control batches");
    // A transaction marker: one record from a real producer.
    if (is_transactional() && (producer_id() < 0 || count != 1))
      return make_error(K::invalid_control, producer_id() < 0 ? "producerId" : "recordsCount",
                        "a transaction marker batch holds one record of a producer");
  }

  if (options.client_rules) {
    if (count <= 0)
      return make_error(K::invalid_header, "recordsCount", fmt::format("count {}", count));
    if (static_cast<int64_t>(last_delta) + 1 != count)
      return make_error(K::invalid_header, "lastOffsetDelta",
                        fmt::format("offset range of {} for {} records",
                                    static_cast<int64_t>(last_delta) + 1, count));
    if (has_producer_id() && base_sequence() < 0)
      return make_error(
          K::invalid_header, "baseSequence",
          fmt::format("sequence {} with producer id {}", base_sequence(), producer_id()));
    if (timestamp_type() == TimestampType::log_append_time)
      return make_error(K::invalid_timestamp, "attributes", "producers may not set LogAppendTime");
  }
  return {};
}

bool MutableBatchView::set_base_offset(int64_t base_offset) {
  if (bytes_.size() < kBatchHeaderSize) return false;
  store_be<int64_t>(bytes_.data() + batch_pos::base_offset, base_offset);
  return true;
}

bool MutableBatchView::set_last_offset(int64_t last_offset) {
  if (bytes_.size() < kBatchHeaderSize) return false;
  return set_base_offset(last_offset - view().last_offset_delta());
}

bool MutableBatchView::set_partition_leader_epoch(int32_t epoch) {
  if (bytes_.size() < kBatchHeaderSize) return false;
  store_be<int32_t>(bytes_.data() + batch_pos::partition_leader_epoch, epoch);
  return true;
}

bool MutableBatchView::set_max_timestamp(TimestampType type, int64_t max_timestamp) {
  if (bytes_.size() < kBatchHeaderSize) return false;
  BatchView v = view();
  if (v.timestamp_type() == type && v.max_timestamp() == max_timestamp) return true;
  uint16_t attrs = v.attributes();
  if (type == TimestampType::log_append_time)
    attrs |= batch_attr::log_append_time;
  else
    attrs &= static_cast<uint16_t>(~batch_attr::log_append_time);
  store_be<uint16_t>(bytes_.data() + batch_pos::attributes, attrs);
  store_be<int64_t>(bytes_.data() + batch_pos::max_timestamp, max_timestamp);
  return update_crc();
}

bool MutableBatchView::update_crc() {
  if (bytes_.size() < kBatchHeaderSize) return false;
  store_be<uint32_t>(bytes_.data() + batch_pos::crc, view().compute_crc());
  return true;
}

namespace {
// The smallest entry of any format: a v0 message (crc, magic, attributes, key and value
// lengths) after the 12-byte log overhead.
constexpr int32_t kMinEntrySize = 14;
}  // namespace

BatchIterator::BatchIterator(std::span<const uint8_t> buffer, size_t max_batch_size)
    : buffer_(buffer), max_batch_size_(max_batch_size) {}

std::optional<BatchView> BatchIterator::next() {
  if (!error_.ok() || partial_) return std::nullopt;
  size_t left = buffer_.size() - pos_;
  if (left == 0) return std::nullopt;
  if (left < kLogOverhead) {
    partial_ = true;
    return std::nullopt;
  }
  BatchView head(buffer_.subspan(pos_));
  int32_t length = head.batch_length();
  if (length < kMinEntrySize) {
    error_ = make_error(BatchErrorKind::invalid_length, "batchLength",
                        fmt::format("length {} at byte {}", length, pos_));
    return std::nullopt;
  }
  size_t total = kLogOverhead + static_cast<size_t>(length);
  if (total > max_batch_size_) {
    error_ = make_error(BatchErrorKind::invalid_length, "batchLength",
                        fmt::format("batch of {} bytes at byte {} exceeds the limit of {}", total,
                                    pos_, max_batch_size_));
    return std::nullopt;
  }
  if (total > left) {
    partial_ = true;
    return std::nullopt;
  }
  int8_t m = head.magic();
  if (m < kMagicV0 || m > kMagicV2) {
    error_ = make_error(BatchErrorKind::unsupported_magic, "magic",
                        fmt::format("magic {} at byte {}", m, pos_));
    return std::nullopt;
  }
  BatchView batch(buffer_.subspan(pos_, total));
  pos_ += total;
  return batch;
}

}  // namespace kfk::record

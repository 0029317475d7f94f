// Encoding records into a v2 batch.
#include <limits>

#include "core/protocol/writer.h"
#include "core/record/crc32c.h"
#include "core/record/record_batch.h"
#include "core/util/big_endian.h"

namespace kfk::record {

namespace {

template <class W>
void write_nullable(W& w, const NullableBytes& b) {
  if (!b) {
    w.write_varint(-1);
    return;
  }
  w.write_varint(static_cast<int32_t>(b->size()));
  w.write_raw(*b);
}

// Everything after the length prefix; run once on a SizeCounter, once on a Writer.
template <class W>
void write_body(W& w, int64_t timestamp_delta, int32_t offset_delta, const NullableBytes& key,
                const NullableBytes& value, std::span<const HeaderView> headers) {
  w.write_int8(0);  // record attributes: none defined
  w.write_varlong(timestamp_delta);
  w.write_varint(offset_delta);
  write_nullable(w, key);
  write_nullable(w, value);
  w.write_varint(static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) {
    w.write_varint(static_cast<int32_t>(h.key.size()));
    w.write_raw(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.key.data()), h.key.size()));
    write_nullable(w, h.value);
  }
}

constexpr size_t kMaxFieldSize = static_cast<size_t>(std::numeric_limits<int32_t>::max());

bool fits(const NullableBytes& b) { return !b || b->size() <= kMaxFieldSize; }

}  // namespace

BatchBuilder::BatchBuilder(const BatchOptions& options) : options_(options) {}

int64_t BatchBuilder::next_offset() const {
  // Wraps instead of overflowing near INT64_MAX; append_with_offset then refuses the offset.
  return static_cast<int64_t>(static_cast<uint64_t>(options_.base_offset) +
                              static_cast<uint64_t>(static_cast<int64_t>(last_offset_delta_) + 1));
}

bool BatchBuilder::append(int64_t timestamp, NullableBytes key, NullableBytes value,
                          std::span<const HeaderView> headers) {
  return append_with_offset(next_offset(), timestamp, key, value, headers);
}

bool BatchBuilder::append_with_offset(int64_t offset, int64_t timestamp, NullableBytes key,
                                      NullableBytes value, std::span<const HeaderView> headers) {
  if (offset < options_.base_offset) return false;
  // Overflow-safe: compare in unsigned space once offset >= base_offset.
  uint64_t delta = static_cast<uint64_t>(offset) - static_cast<uint64_t>(options_.base_offset);
  if (delta > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return false;
  if (static_cast<int64_t>(delta) <= last_offset_delta_) return false;
  if (count_ == std::numeric_limits<int32_t>::max()) return false;
  if (!fits(key) || !fits(value) || headers.size() > kMaxFieldSize) return false;
  for (const auto& h : headers)
    if (h.key.size() > kMaxFieldSize || !fits(h.value)) return false;

  // Kafka takes the first record's timestamp as the base; the delete horizon replaces it.
  int64_t base = options_.delete_horizon_ms.value_or(base_timestamp_.value_or(timestamp));
  auto ts_delta =
      static_cast<int64_t>(static_cast<uint64_t>(timestamp) - static_cast<uint64_t>(base));
  auto offset_delta = static_cast<int32_t>(delta);

  protocol::SizeCounter counter;
  write_body(counter, ts_delta, offset_delta, key, value, headers);
  if (counter.size() > kMaxFieldSize) return false;
  if (kBatchHeaderSize + records_.size() + counter.size() + 5 > kMaxFieldSize) return false;

  protocol::Writer w(counter.size() + 5);
  w.write_varint(static_cast<int32_t>(counter.size()));
  write_body(w, ts_delta, offset_delta, key, value, headers);
  records_.insert(records_.end(), w.bytes().begin(), w.bytes().end());

  if (!base_timestamp_) base_timestamp_ = base;
  if (count_ == 0 || timestamp > max_timestamp_) max_timestamp_ = timestamp;
  last_offset_delta_ = offset_delta;
  ++count_;
  return true;
}

bool BatchBuilder::append(const Record& record) {
  std::vector<HeaderView> headers;
  headers.reserve(record.headers.size());
  for (const auto& h : record.headers) {
    NullableBytes v;
    if (h.value) v = std::span<const uint8_t>(*h.value);
    headers.push_back(HeaderView{h.key, v});
  }
  NullableBytes key, value;
  if (record.key) key = std::span<const uint8_t>(*record.key);
  if (record.value) value = std::span<const uint8_t>(*record.value);
  int64_t offset = record.offset >= 0 ? record.offset : next_offset();
  return append_with_offset(offset, record.timestamp, key, value, headers);
}

Bytes BatchBuilder::build() const {
  Compression codec = options_.compression;
  Bytes out;
  if (codec != Compression::none) {
    CodecResult c = compress(codec, records_, options_.compression_level);
    if (c.ok()) {
      out.reserve(kBatchHeaderSize + c.data.size());
      out.resize(kBatchHeaderSize);
      out.insert(out.end(), c.data.begin(), c.data.end());
    } else {
      codec = Compression::none;
    }
  }
  if (codec == Compression::none) {
    out.reserve(kBatchHeaderSize + records_.size());
    out.resize(kBatchHeaderSize);
    out.insert(out.end(), records_.begin(), records_.end());
  }

  auto attrs = static_cast<uint16_t>(codec);
  bool log_append = options_.timestamp_type == TimestampType::log_append_time;
  if (log_append) attrs |= batch_attr::log_append_time;
  if (options_.transactional) attrs |= batch_attr::transactional;
  if (options_.control) attrs |= batch_attr::control;
  if (options_.delete_horizon_ms) attrs |= batch_attr::delete_horizon;

  int64_t base_ts = options_.delete_horizon_ms.value_or(base_timestamp_.value_or(kNoTimestamp));
  int64_t max_ts =
      log_append ? options_.log_append_time : (count_ > 0 ? max_timestamp_ : kNoTimestamp);
  int32_t last_delta = count_ > 0 ? last_offset_delta_ : 0;

  uint8_t* b = out.data();
  store_be<int64_t>(b + batch_pos::base_offset, options_.base_offset);
  store_be<uint32_t>(b + batch_pos::batch_length, static_cast<uint32_t>(out.size() - kLogOverhead));
  store_be<int32_t>(b + batch_pos::partition_leader_epoch, options_.partition_leader_epoch);
  b[batch_pos::magic] = static_cast<uint8_t>(kMagicV2);
  store_be<uint16_t>(b + batch_pos::attributes, attrs);
  store_be<int32_t>(b + batch_pos::last_offset_delta, last_delta);
  store_be<int64_t>(b + batch_pos::base_timestamp, base_ts);
  store_be<int64_t>(b + batch_pos::max_timestamp, max_ts);
  store_be<int64_t>(b + batch_pos::producer_id, options_.producer_id);
  store_be<int16_t>(b + batch_pos::producer_epoch, options_.producer_epoch);
  store_be<int32_t>(b + batch_pos::base_sequence, options_.base_sequence);
  store_be<int32_t>(b + batch_pos::records_count, count_);
  store_be<uint32_t>(b + batch_pos::crc,
                     crc32c(std::span<const uint8_t>(out).subspan(batch_pos::attributes)));
  return out;
}

Bytes build_batch(const BatchOptions& options, std::span<const Record> records) {
  BatchBuilder b(options);
  for (const auto& r : records) b.append(r);
  return b.build();
}

}  // namespace kfk::record

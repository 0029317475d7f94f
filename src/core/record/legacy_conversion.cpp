#include "core/record/legacy_conversion.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "core/record/legacy_lz4.h"
#include "core/record/legacy_records.h"
#include "core/util/big_endian.h"

namespace kfk::record {

namespace {

// Positions in a legacy log entry: offset int64, size int32, then the message.
constexpr size_t kLegacyCrcPos = kLogOverhead;
constexpr size_t kLegacyAttributesPos = kLogOverhead + 5;  // after crc and magic
constexpr uint8_t kLegacyLogAppendTime = 0x08;

BatchError make_error(BatchErrorKind kind, const char* field, std::string detail) {
  BatchError e;
  e.kind = kind;
  e.field = field;
  e.detail = std::move(detail);
  return e;
}

void put_bytes32(Bytes& out, NullableBytes b) {
  if (!b) {
    append_be<int32_t>(out, -1);
    return;
  }
  append_be<uint32_t>(out, static_cast<uint32_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

void append_legacy_entry(Bytes& out, int8_t magic, int64_t offset, uint8_t attributes,
                         int64_t timestamp, NullableBytes key, NullableBytes value) {
  const size_t start = out.size();
  append_be<int64_t>(out, offset);
  append_be<uint32_t>(out, 0);  // size, set below
  append_be<uint32_t>(out, 0);  // crc, set below
  out.push_back(static_cast<uint8_t>(magic));
  out.push_back(attributes);
  if (magic == kMagicV1) append_be<int64_t>(out, timestamp);
  put_bytes32(out, key);
  put_bytes32(out, value);
  store_be<uint32_t>(out.data() + start + 8,
                     static_cast<uint32_t>(out.size() - start - kLogOverhead));
  const size_t covered = start + kLegacyCrcPos + 4;
  const auto crc = ::crc32(::crc32(0L, nullptr, 0), out.data() + covered,
                           static_cast<uInt>(out.size() - covered));
  store_be<uint32_t>(out.data() + start + kLegacyCrcPos, static_cast<uint32_t>(crc));
}

bool is_legacy_message_set(std::span<const uint8_t> bytes) {
  if (bytes.size() <= batch_pos::magic) return false;
  const auto magic = static_cast<int8_t>(bytes[batch_pos::magic]);
  return magic == kMagicV0 || magic == kMagicV1;
}

UpConversion up_convert_message_set(std::span<const uint8_t> message_set,
                                    const DecodeOptions& options) {
  UpConversion out;
  BatchIterator it(message_set);
  std::optional<Compression> source_codec;
  std::vector<DecodedRecords> entries;  // the builder reads their views
  size_t uncompressed = 0;
  while (auto entry = it.next()) {
    if (entry->magic() == kMagicV2) {
      out.error = make_error(BatchErrorKind::invalid_record, "magic",
                             "a record batch of magic 2 among legacy messages");
      return out;
    }
    const uint8_t attributes = entry->bytes()[kLegacyAttributesPos];
    if (entry->magic() == kMagicV1 && (attributes & kLegacyLogAppendTime) != 0) {
      out.error = make_error(BatchErrorKind::invalid_timestamp, "attributes",
                             "the producer may not set the timestamp type to LogAppendTime");
      return out;
    }
    // One cap for the whole request, not one per wrapper.
    DecodeOptions entry_options = options;
    entry_options.verify_crc = true;
    entry_options.max_uncompressed_bytes = options.max_uncompressed_bytes - uncompressed;
    DecodedRecords& d = entries.emplace_back();
    if (BatchError e = decode_legacy_records(*entry, d, entry_options); !e.ok()) {
      out.error = std::move(e);
      return out;
    }
    uncompressed += d.storage.size();
    if (auto codec = attributes & batch_attr::codec_mask; codec != 0)
      source_codec = static_cast<Compression>(codec);
  }
  if (!it.error().ok()) {
    out.error = it.error();
    return out;
  }
  if (it.has_partial_batch()) {
    out.error =
        make_error(BatchErrorKind::truncated, "messageSize",
                   fmt::format("the message set ends {} bytes into a message", it.partial_bytes()));
    return out;
  }
  if (entries.empty()) {
    out.error = make_error(BatchErrorKind::invalid_record, "messageSize", "no messages");
    return out;
  }
  BatchOptions batch_options;
  batch_options.compression = source_codec.value_or(Compression::none);
  BatchBuilder builder(batch_options);
  for (const DecodedRecords& d : entries)
    for (const RecordView& r : d.records)
      if (!builder.append(r.timestamp, r.key, r.value)) {
        out.error = make_error(BatchErrorKind::invalid_record, "records",
                               "more messages than a record batch holds");
        return out;
      }
  out.batch = builder.build();
  return out;
}

namespace {

// Appends entries to a message set until it would pass max_bytes.
class MessageSetWriter {
 public:
  explicit MessageSetWriter(const DownConversionOptions& options) : options_(options) {}

  bool full() const { return done_ || out_.size() >= options_.max_bytes; }

  // Appends one entry; false when the set is full (the entry kept or cut per the options
  // when it is the first).
  bool append(int64_t offset, uint8_t attributes, int64_t timestamp, NullableBytes key,
              NullableBytes value) {
    const size_t before = out_.size();
    append_legacy_entry(out_, options_.magic, offset, attributes, timestamp, key, value);
    if (out_.size() <= options_.max_bytes) return true;
    done_ = true;
    if (before > 0)
      out_.resize(before);
    else if (!options_.allow_oversized_first)
      out_.resize(options_.max_bytes);
    return false;
  }

  Bytes take() { return std::move(out_); }
  bool empty() const { return out_.empty(); }

 private:
  const DownConversionOptions& options_;
  Bytes out_;
  bool done_ = false;
};

}  // namespace

DownConversion down_convert_batches(std::span<const uint8_t> batches,
                                    const DownConversionOptions& options) {
  DownConversion result;
  MessageSetWriter writer(options);
  const bool v1 = options.magic == kMagicV1;
  BatchIterator it(batches);
  Bytes inner;
  while (!writer.full()) {
    auto batch = it.next();
    if (!batch) break;
    if (batch->magic() != kMagicV2) {
      result.error = make_error(BatchErrorKind::unsupported_magic, "magic",
                                fmt::format("magic {} in the log", batch->magic()));
      break;
    }
    if (batch->is_control() || batch->last_offset() < options.first_offset) continue;
    const Compression codec = batch->compression();
    if (codec == Compression::zstd) {
      // Format v0/v1 has no zstd: an old client cannot read these records at all.
      if (writer.empty())
        result.error = make_error(BatchErrorKind::unsupported_codec, "attributes",
                                  "zstd records cannot be converted for this fetch version");
      break;
    }
    DecodedRecords d;
    DecodeOptions decode_options;
    decode_options.max_uncompressed_bytes = options.max_uncompressed_bytes;
    if (BatchError e = decode_records(*batch, d, decode_options); !e.ok()) {
      if (writer.empty()) result.error = std::move(e);
      break;
    }
    const bool log_append = batch->timestamp_type() == TimestampType::log_append_time;
    const uint8_t time_attr = v1 && log_append ? kLegacyLogAppendTime : 0;
    const auto timestamp = [&](const RecordView& r) {
      if (!v1) return kNoTimestamp;
      return log_append ? batch->max_timestamp() : r.timestamp;
    };
    if (codec == Compression::none) {
      for (const RecordView& r : d.records) {
        if (r.offset < options.first_offset) continue;
        if (!writer.append(r.offset, time_attr, timestamp(r), r.key, r.value)) break;
      }
      continue;
    }
    // A compressed batch becomes one wrapper: v1 inner offsets count from its first record,
    // v0 ones are absolute; the wrapper carries the last offset and the largest timestamp.
    inner.clear();
    int64_t first = -1;
    int64_t last = -1;
    int64_t max_timestamp = kNoTimestamp;
    for (const RecordView& r : d.records) {
      if (r.offset < options.first_offset) continue;
      if (first < 0) first = r.offset;
      last = r.offset;
      max_timestamp = std::max(max_timestamp, timestamp(r));
      append_legacy_entry(inner, options.magic, v1 ? r.offset - first : r.offset, time_attr,
                          timestamp(r), r.key, r.value);
    }
    if (first < 0) continue;
    CodecResult c = compress(codec, inner);
    if (!c.ok()) {
      if (writer.empty())
        result.error = make_error(BatchErrorKind::decompression_failed, "records", c.message);
      break;
    }
    if (codec == Compression::lz4 && !v1) lz4_set_kafka_v0_header_checksum(c.data);
    const auto attributes = static_cast<uint8_t>(static_cast<uint8_t>(codec) | time_attr);
    if (!writer.append(last, attributes, max_timestamp, std::nullopt, std::span(c.data))) break;
  }
  if (result.error.ok()) result.message_set = writer.take();
  return result;
}

}  // namespace kfk::record

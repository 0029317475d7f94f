#include "core/record/legacy_records.h"

#include <fmt/format.h>
#include <zlib.h>

#include "core/protocol/reader.h"
#include "core/record/legacy_lz4.h"

namespace kfk::record {

namespace {

using protocol::Reader;

constexpr int32_t kMinMessageSize = 14;  // v0: crc, magic, attributes, key and value lengths
constexpr size_t kMinEntrySize = kLogOverhead + kMinMessageSize;
constexpr uint8_t kLegacyLogAppendTime = 0x08;

struct Message {
  int64_t offset = 0;
  int8_t magic = 0;
  uint8_t attributes = 0;
  int64_t timestamp = kNoTimestamp;
  NullableBytes key;
  NullableBytes value;
};

NullableBytes read_bytes32(Reader& r, const char* field) {
  int32_t n = r.read_int32(field);
  if (!r.ok() || n == -1) return std::nullopt;
  if (n < -1) {
    r.fail(protocol::DecodeErrorKind::negative_length, field);
    return std::nullopt;
  }
  return r.read_raw(static_cast<size_t>(n), field);
}

// Reads one log entry. index is -1 for the outer entry, else the inner message number.
BatchError read_entry(Reader& r, bool verify_crc, int32_t index, Message& m) {
  m.offset = r.read_int64("offset");
  int32_t size = r.read_int32("messageSize");
  if (!r.ok()) return BatchError::at(BatchErrorKind::truncated, r.error().field, index, "");
  if (size < kMinMessageSize)
    return BatchError::at(BatchErrorKind::invalid_length, "messageSize", index,
                          fmt::format("size {}", size));
  std::span<const uint8_t> body = r.read_raw(static_cast<size_t>(size), "message");
  if (!r.ok())
    return BatchError::at(BatchErrorKind::truncated, "messageSize", index,
                          fmt::format("message of {} bytes, {} present", size, r.remaining()));
  Reader b(body);
  uint32_t crc = b.read_uint32("crc");
  m.magic = b.read_int8("magic");
  if (m.magic != kMagicV0 && m.magic != kMagicV1)
    return BatchError::at(BatchErrorKind::unsupported_magic, "magic", index,
                          fmt::format("magic {}", m.magic));
  m.attributes = static_cast<uint8_t>(b.read_int8("attributes"));
  m.timestamp = m.magic == kMagicV1 ? b.read_int64("timestamp") : kNoTimestamp;
  m.key = read_bytes32(b, "key");
  m.value = read_bytes32(b, "value");
  b.expect_end("messageSize");
  if (!b.ok()) {
    const auto& d = b.error();
    return BatchError::at(
        BatchErrorKind::invalid_record, d.field, index,
        fmt::format("{} at byte {} of the message", protocol::to_string(d.kind), d.offset));
  }
  if (verify_crc) {
    auto covered = body.subspan(4);
    auto computed = static_cast<uint32_t>(
        ::crc32(::crc32(0L, nullptr, 0), covered.data(), static_cast<uInt>(covered.size())));
    if (computed != crc)
      return BatchError::at(BatchErrorKind::crc_mismatch, "crc", index,
                            fmt::format("stored {:#010x}, computed {:#010x}", crc, computed));
  }
  return {};
}

RecordView to_view(const Message& m, int64_t offset, int64_t timestamp) {
  RecordView v;
  v.offset = offset;
  v.timestamp = timestamp;
  v.attributes = static_cast<int8_t>(m.attributes);
  v.key = m.key;
  v.value = m.value;
  return v;
}

}  // namespace

BatchError decode_legacy_records(const BatchView& entry, DecodedRecords& out,
                                 const DecodeOptions& options) {
  out.records.clear();
  out.storage.clear();
  Reader r(entry.bytes());
  Message outer;
  BatchError e = read_entry(r, options.verify_crc, -1, outer);
  if (!e.ok()) return e;
  if (r.remaining() != 0)
    return BatchError::at(BatchErrorKind::invalid_length, "messageSize", -1,
                          fmt::format("{} bytes after the message", r.remaining()));

  int codec = outer.attributes & batch_attr::codec_mask;
  if (codec == 0) {
    out.records.push_back(to_view(outer, outer.offset, outer.timestamp));
    return {};
  }
  // zstd came with format v2; 5-7 were never assigned.
  if (codec > static_cast<int>(Compression::lz4))
    return BatchError::at(BatchErrorKind::unsupported_codec, "attributes", -1,
                          fmt::format("codec id {}", codec));
  if (!outer.value)
    return BatchError::at(BatchErrorKind::invalid_record, "value", -1, "null wrapper value");
  auto codec_enum = static_cast<Compression>(codec);
  std::span<const uint8_t> compressed = *outer.value;
  Bytes fixed_frame;
  if (codec_enum == Compression::lz4 && outer.magic == kMagicV0) {
    // Kafka 0.8-0.9's frame header checksum (legacy_lz4.h): Kafka ignores it, so the
    // standard one is put in its place.
    fixed_frame.assign(compressed.begin(), compressed.end());
    lz4_set_standard_header_checksum(fixed_frame);
    compressed = fixed_frame;
  }
  CodecResult c = decompress(codec_enum, compressed, options.max_uncompressed_bytes);
  if (!c.ok())
    return BatchError::at(c.error == CodecError::too_large ? BatchErrorKind::too_large
                                                           : BatchErrorKind::decompression_failed,
                          "value", -1, fmt::format("{}: {}", to_string(codec_enum), c.message));
  out.storage = std::move(c.data);

  std::vector<Message> inner;
  inner.reserve(out.storage.size() / kMinEntrySize);
  Reader ir(out.storage);
  while (ir.remaining() > 0) {
    Message m;
    auto index = static_cast<int32_t>(inner.size());
    e = read_entry(ir, options.verify_crc, index, m);
    if (!e.ok()) return e;
    if (m.magic != outer.magic)
      return BatchError::at(
          BatchErrorKind::invalid_record, "magic", index,
          fmt::format("inner magic {} in a wrapper of magic {}", m.magic, outer.magic));
    if ((m.attributes & batch_attr::codec_mask) != 0)
      return BatchError::at(BatchErrorKind::invalid_record, "attributes", index,
                            "nested compression");
    inner.push_back(m);
  }
  if (inner.empty())
    return BatchError::at(BatchErrorKind::invalid_record, "value", -1, "empty wrapper");

  // v1 inner offsets count from the wrapper's base, which sits before its last offset.
  int64_t base = 0;
  if (outer.magic == kMagicV1)
    base = static_cast<int64_t>(static_cast<uint64_t>(outer.offset) -
                                static_cast<uint64_t>(inner.back().offset));
  bool log_append = outer.magic == kMagicV1 && (outer.attributes & kLegacyLogAppendTime) != 0;
  out.records.reserve(inner.size());
  for (const Message& m : inner) {
    auto offset =
        static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(m.offset));
    out.records.push_back(to_view(m, offset, log_append ? outer.timestamp : m.timestamp));
  }
  return {};
}

BatchError decode_any_records(const BatchView& entry, DecodedRecords& out,
                              const DecodeOptions& options) {
  if (entry.size() > batch_pos::magic && (entry.magic() == kMagicV0 || entry.magic() == kMagicV1))
    return decode_legacy_records(entry, out, options);
  return decode_records(entry, out, options);
}

}  // namespace kfk::record

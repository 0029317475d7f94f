// Decoding the records of a v2 batch.
#include <fmt/format.h>

#include "core/protocol/reader.h"
#include "core/record/control_record.h"
#include "core/record/record_batch.h"

namespace kfk::record {

namespace {

using protocol::Reader;

BatchError record_error(BatchErrorKind kind, const char* field, int32_t index, std::string detail) {
  BatchError e;
  e.kind = kind;
  e.field = field;
  e.record_index = index;
  e.detail = std::move(detail);
  return e;
}

BatchError from_reader(const Reader& r, int32_t index) {
  const auto& d = r.error();
  return record_error(
      BatchErrorKind::invalid_record, d.field, index,
      fmt::format("{} at byte {} of the record", protocol::to_string(d.kind), d.offset));
}

// A length-prefixed field whose length -1 means null.
NullableBytes read_nullable(Reader& r, const char* field) {
  int32_t n = r.read_varint(field);
  if (!r.ok()) return std::nullopt;
  if (n < -1) {
    r.fail(protocol::DecodeErrorKind::negative_length, field);
    return std::nullopt;
  }
  if (n == -1) return std::nullopt;
  if (static_cast<size_t>(n) > r.remaining()) {
    r.fail(protocol::DecodeErrorKind::length_too_large, field);
    return std::nullopt;
  }
  return r.read_raw(static_cast<size_t>(n), field);
}

// Parses the body of one record (the bytes after its length).
bool parse_body(Reader& r, RecordView& rec, int64_t& timestamp_delta, int32_t& offset_delta) {
  rec.attributes = r.read_int8("record attributes");
  timestamp_delta = r.read_varlong("timestampDelta");
  offset_delta = r.read_varint("offsetDelta");
  rec.key = read_nullable(r, "key");
  rec.value = read_nullable(r, "value");
  int32_t header_count = r.read_varint("headersCount");
  if (!r.ok()) return false;
  if (header_count < 0) {
    r.fail(protocol::DecodeErrorKind::negative_length, "headersCount");
    return false;
  }
  // Each header takes at least two bytes: a bound before reserving.
  if (static_cast<size_t>(header_count) > r.remaining() / 2) {
    r.fail(protocol::DecodeErrorKind::length_too_large, "headersCount");
    return false;
  }
  rec.headers.reserve(static_cast<size_t>(header_count));
  for (int32_t i = 0; i < header_count && r.ok(); ++i) {
    int32_t key_len = r.read_varint("header key length");
    if (!r.ok()) break;
    if (key_len < 0) {
      r.fail(protocol::DecodeErrorKind::negative_length, "header key length");
      break;
    }
    auto key = r.read_raw(static_cast<size_t>(key_len), "header key");
    NullableBytes value = read_nullable(r, "header value");
    if (!r.ok()) break;
    rec.headers.push_back(
        HeaderView{std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), value});
  }
  return r.expect_end("record length");
}

int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// Control records: a valid control key, and a marker value for ABORT and COMMIT.
BatchError check_control(const RecordView& rec, int32_t index) {
  std::optional<ControlKey> key;
  if (rec.key) key = parse_control_key(*rec.key);
  if (!key)
    return record_error(BatchErrorKind::invalid_control, "key", index,
                        "invalid control record key");
  bool marker = key->type == static_cast<int16_t>(ControlRecordType::abort) ||
                key->type == static_cast<int16_t>(ControlRecordType::commit);
  if (marker && !(rec.value && parse_end_txn_marker(*rec.value)))
    return record_error(BatchErrorKind::invalid_control, "value", index,
                        "invalid end transaction marker");
  return {};
}

}  // namespace

BatchError decode_records(const BatchView& batch, DecodedRecords& out,
                          const DecodeOptions& options) {
  out.records.clear();
  out.storage.clear();
  ValidateOptions vo;
  vo.verify_crc = options.verify_crc;
  BatchError err = batch.validate(vo);
  if (!err.ok()) return err;

  std::span<const uint8_t> data = batch.records_bytes();
  if (batch.compression() != Compression::none) {
    CodecResult r = decompress(batch.compression(), data, options.max_uncompressed_bytes);
    if (!r.ok()) {
      BatchErrorKind kind = r.error == CodecError::too_large ? BatchErrorKind::too_large
                                                             : BatchErrorKind::decompression_failed;
      return record_error(kind, "records", -1,
                          fmt::format("{}: {}", to_string(batch.compression()), r.message));
    }
    out.storage = std::move(r.data);
    data = out.storage;
  }

  int32_t count = batch.records_count();
  if (static_cast<size_t>(count) > data.size() / kMinRecordSize)
    return record_error(BatchErrorKind::invalid_record, "recordsCount", -1,
                        fmt::format("{} records cannot fit in {} bytes", count, data.size()));
  out.records.reserve(static_cast<size_t>(count));

  const int64_t base_offset = batch.base_offset();
  const int64_t base_timestamp = batch.base_timestamp();
  const int32_t last_delta = batch.last_offset_delta();
  const bool log_append = batch.timestamp_type() == TimestampType::log_append_time;
  const bool control = batch.is_control();
  int64_t previous_delta = -1;

  Reader reader(data);
  for (int32_t i = 0; i < count; ++i) {
    int32_t length = reader.read_varint("record length");
    if (!reader.ok()) return from_reader(reader, i);
    if (length < 0)
      return record_error(BatchErrorKind::invalid_record, "record length", i,
                          fmt::format("negative length {}", length));
    if (static_cast<size_t>(length) > reader.remaining())
      return record_error(BatchErrorKind::invalid_record, "record length", i,
                          fmt::format("length {} but {} bytes left", length, reader.remaining()));
    Reader body(reader.read_raw(static_cast<size_t>(length), "record"));
    RecordView rec;
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    if (!parse_body(body, rec, timestamp_delta, offset_delta)) return from_reader(body, i);
    if (offset_delta <= previous_delta || offset_delta > last_delta)
      return record_error(BatchErrorKind::invalid_record, "offsetDelta", i,
                          fmt::format("delta {} after {}, last allowed {}", offset_delta,
                                      previous_delta, last_delta));
    previous_delta = offset_delta;
    rec.offset = base_offset + offset_delta;
    rec.timestamp =
        log_append ? batch.max_timestamp() : wrapping_add(base_timestamp, timestamp_delta);
    if (control) {
      BatchError ce = check_control(rec, i);
      if (!ce.ok()) return ce;
    }
    out.records.push_back(std::move(rec));
  }
  if (reader.remaining() != 0)
    return record_error(BatchErrorKind::invalid_record, "records", -1,
                        fmt::format("{} bytes after the last record", reader.remaining()));
  return {};
}

Record to_record(const RecordView& view) {
  Record r;
  r.offset = view.offset;
  r.timestamp = view.timestamp;
  if (view.key) r.key.emplace(view.key->begin(), view.key->end());
  if (view.value) r.value.emplace(view.value->begin(), view.value->end());
  r.headers.reserve(view.headers.size());
  for (const auto& h : view.headers) {
    Header out;
    out.key = std::string(h.key);
    if (h.value) out.value.emplace(h.value->begin(), h.value->end());
    r.headers.push_back(std::move(out));
  }
  return r;
}

}  // namespace kfk::record

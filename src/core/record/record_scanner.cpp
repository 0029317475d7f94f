// The single validating pass over a batch's records (record_scanner.h).
#include "core/record/record_scanner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/record/control_record.h"

namespace kfk::record {

namespace {

constexpr size_t kMaxVarintBytes = 5;
constexpr size_t kMaxVarlongBytes = 10;

// Where a record's fields are read from: its body, in the batch or in the window. The first
// failure names the field; later reads are not attempted (each caller returns at once).
struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  const char* field = nullptr;  // set on failure
  const char* why = nullptr;

  bool fail(const char* f, const char* w) {
    field = f;
    why = w;
    return false;
  }
  size_t left() const { return static_cast<size_t>(end - p); }
};

// Zigzag varints as Kafka writes them: at most 5 bytes (10 for a varlong), the last
// without its continuation bit.
template <typename T, typename U, size_t MaxBytes>
bool read_zigzag(Cursor& c, T& out, const char* field) {
  U raw = 0;
  for (size_t i = 0; i < MaxBytes; ++i) {
    if (c.p == c.end) return c.fail(field, "the record ends inside a varint");
    const uint8_t b = *c.p++;
    // The last byte may only hold the bits the type has left.
    if (i == MaxBytes - 1 && ((b & 0x7f) >> (sizeof(U) * 8 - 7 * i)) != 0) break;
    raw |= static_cast<U>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      out = static_cast<T>((raw >> 1) ^ (~(raw & 1) + 1));
      return true;
    }
  }
  return c.fail(field, "varint longer than its type allows");
}

bool read_varint(Cursor& c, int32_t& out, const char* field) {
  return read_zigzag<int32_t, uint32_t, kMaxVarintBytes>(c, out, field);
}
bool read_varlong(Cursor& c, int64_t& out, const char* field) {
  return read_zigzag<int64_t, uint64_t, kMaxVarlongBytes>(c, out, field);
}

// A length-prefixed field whose length -1 means null.
bool read_nullable(Cursor& c, NullableBytes& out, const char* field) {
  int32_t n = 0;
  if (!read_varint(c, n, field)) return false;
  if (n < -1) return c.fail(field, "negative length");
  if (n == -1) {
    out.reset();
    return true;
  }
  if (static_cast<size_t>(n) > c.left()) return c.fail(field, "length past the end of the record");
  out.emplace(c.p, static_cast<size_t>(n));
  c.p += n;
  return true;
}

struct RecordFields {
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
};

// Parses a record body (the bytes after its length) into `rec`; headers are stored only when
// asked, but always checked.
bool parse_body(Cursor& c, RecordView& rec, RecordFields& f, bool collect_headers) {
  if (c.p == c.end) return c.fail("record attributes", "empty record");
  rec.attributes = static_cast<int8_t>(*c.p++);
  if (!read_varlong(c, f.timestamp_delta, "timestampDelta")) return false;
  if (!read_varint(c, f.offset_delta, "offsetDelta")) return false;
  if (!read_nullable(c, rec.key, "key")) return false;
  if (!read_nullable(c, rec.value, "value")) return false;
  int32_t header_count = 0;
  if (!read_varint(c, header_count, "headersCount")) return false;
  if (header_count < 0) return c.fail("headersCount", "negative header count");
  // Each header takes at least two bytes.
  if (static_cast<size_t>(header_count) > c.left() / 2)
    return c.fail("headersCount", "more headers than the record can hold");
  rec.headers.clear();
  for (int32_t i = 0; i < header_count; ++i) {
    int32_t key_len = 0;
    if (!read_varint(c, key_len, "header key length")) return false;
    if (key_len < 0) return c.fail("header key length", "negative header key length");
    if (static_cast<size_t>(key_len) > c.left())
      return c.fail("header key length", "length past the end of the record");
    const auto* key = reinterpret_cast<const char*>(c.p);
    c.p += key_len;
    NullableBytes value;
    if (!read_nullable(c, value, "header value")) return false;
    if (collect_headers)
      rec.headers.push_back(HeaderView{std::string_view(key, static_cast<size_t>(key_len)), value});
  }
  if (c.p != c.end) return c.fail("record length", "bytes left in the record after its headers");
  return true;
}

int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

}  // namespace

// The records section as a sequence of bytes: in place for uncompressed batches, or
// decompressed into the window a chunk at a time.
class RecordScanner::Source {
 public:
  // In place.
  explicit Source(std::span<const uint8_t> data)
      : data_(data.data()), end_(data.data() + data.size()) {}
  // Streaming through `window`.
  Source(StreamDecompressor& d, Bytes& window, size_t& peak)
      : decompressor_(&d), window_(&window), peak_(&peak) {
    data_ = end_ = window.data();
  }

  const uint8_t* data() const { return data_; }
  size_t available() const { return static_cast<size_t>(end_ - data_); }
  size_t position() const { return consumed_; }
  void consume(size_t n) {
    data_ += n;
    consumed_ += n;
  }
  // Makes at least n bytes available; false when the stream ends (or fails) first.
  bool ensure(size_t n) {
    if (available() >= n) return true;
    if (decompressor_ == nullptr || decompressor_->at_end() || !decompressor_->ok()) return false;
    Bytes& w = *window_;
    const size_t have = available();
    if (have > 0 && data_ != w.data()) std::memmove(w.data(), data_, have);
    if (w.size() < n) {
      w.reserve(n);  // exactly one record's room, not the vector's doubling
      w.resize(n);
      *peak_ = std::max(*peak_, w.capacity());
    }
    data_ = w.data();
    end_ = data_ + have;
    while (available() < n) {
      const size_t got =
          decompressor_->read(std::span(w.data() + available(), w.size() - available()));
      end_ += got;
      if (got == 0) break;
    }
    return available() >= n;
  }
  // True when the bytes ran out because the codec failed rather than because they ended.
  bool failed() const { return decompressor_ != nullptr && !decompressor_->ok(); }

 private:
  StreamDecompressor* decompressor_ = nullptr;
  Bytes* window_ = nullptr;
  size_t* peak_ = nullptr;
  const uint8_t* data_ = nullptr;
  const uint8_t* end_ = nullptr;
  size_t consumed_ = 0;
};

RecordScanner::RecordScanner(const ScanLimits& limits) : limits_(limits) {}

BatchError RecordScanner::scan(const BatchView& batch, const ScanOptions& options,
                               RecordVisitor* visitor) {
  BatchError err = batch.validate(options.header);
  if (!err.ok()) return err;
  if (batch.compression() == Compression::none) {
    Source source(batch.records_bytes());
    return walk(batch, source, options, visitor);
  }
  // A window grown for one large record is not kept for the next batch.
  if (window_.capacity() > limits_.chunk_bytes) Bytes().swap(window_);
  window_.resize(limits_.chunk_bytes);
  peak_window_ = std::max(peak_window_, window_.capacity());
  decompressor_.start(batch.compression(), batch.records_bytes(), limits_.max_snappy_block_bytes);
  Source source(decompressor_, window_, peak_window_);
  return walk(batch, source, options, visitor);
}

BatchError RecordScanner::walk(const BatchView& batch, Source& source, const ScanOptions& options,
                               RecordVisitor* visitor) {
  using K = BatchErrorKind;
  const bool streaming = batch.compression() != Compression::none;
  const auto codec_error = [&](int32_t index) {
    const CodecError e = decompressor_.error();
    return BatchError::at(e == CodecError::too_large ? K::too_large : K::decompression_failed,
                          "records", index,
                          fmt::format("{} records do not decompress: {}",
                                      to_string(batch.compression()), decompressor_.message()));
  };
  const int32_t count = batch.records_count();
  const int32_t last_delta = batch.last_offset_delta();
  const int64_t base_offset = batch.base_offset();
  const int64_t base_timestamp = batch.base_timestamp();
  const bool log_append = batch.timestamp_type() == TimestampType::log_append_time;
  const bool exact_deltas = options.header.client_rules;
  const bool control = batch.is_control();
  int32_t previous_delta = -1;
  RecordView& rec = record_;

  for (int32_t i = 0; i < count; ++i) {
    const size_t at = source.position();
    // The length varint: up to five bytes, fewer at the very end of the records.
    source.ensure(kMaxVarintBytes);
    if (source.failed()) return codec_error(i);
    if (source.available() == 0)
      return BatchError::at(K::invalid_record, "recordsCount", i,
                            fmt::format("the header counts {} records but the records section ends "
                                        "after {}",
                                        count, i));
    Cursor head{source.data(), source.data() + std::min(source.available(), kMaxVarintBytes)};
    int32_t length = 0;
    if (!read_varint(head, length, "record length"))
      return BatchError::at(K::invalid_record, "record length", i,
                            fmt::format("{} at byte {} of the records", head.why, at));
    if (length < 0)
      return BatchError::at(
          K::invalid_record, "record length", i,
          fmt::format("negative length {} at byte {} of the records", length, at));
    const auto prefix = static_cast<size_t>(head.p - source.data());
    if (streaming && static_cast<size_t>(length) > limits_.max_record_bytes)
      return BatchError::at(K::too_large, "record length", i,
                            fmt::format("a record of {} bytes exceeds the limit of {}", length,
                                        limits_.max_record_bytes));
    if (!source.ensure(prefix + static_cast<size_t>(length))) {
      if (source.failed()) return codec_error(i);
      return BatchError::at(
          K::invalid_record, "record length", i,
          fmt::format("length {} at byte {} of the records but only {} bytes follow", length, at,
                      source.available() - prefix));
    }
    Cursor body{source.data() + prefix, source.data() + prefix + length};
    RecordFields f;
    if (!parse_body(body, rec, f, options.collect_headers))
      return BatchError::at(K::invalid_record, body.field, i,
                            fmt::format("{} (record at byte {} of the records)", body.why, at));
    if (exact_deltas ? f.offset_delta != i
                     : (f.offset_delta <= previous_delta || f.offset_delta > last_delta))
      return BatchError::at(K::invalid_record, "offsetDelta", i,
                            exact_deltas
                                ? fmt::format("offset delta {}, expected {}", f.offset_delta, i)
                                : fmt::format("offset delta {} after {}, last allowed {}",
                                              f.offset_delta, previous_delta, last_delta));
    previous_delta = f.offset_delta;
    rec.offset = base_offset + f.offset_delta;
    rec.timestamp =
        log_append ? batch.max_timestamp() : wrapping_add(base_timestamp, f.timestamp_delta);
    if (control) {
      std::optional<ControlKey> key;
      if (rec.key) key = parse_control_key(*rec.key);
      if (!key) return BatchError::at(K::invalid_control, "key", i, "invalid control record key");
      const bool marker = key->type == static_cast<int16_t>(ControlRecordType::abort) ||
                          key->type == static_cast<int16_t>(ControlRecordType::commit);
      if (marker && !(rec.value && parse_end_txn_marker(*rec.value)))
        return BatchError::at(K::invalid_control, "value", i, "invalid end transaction marker");
    }
    if (visitor != nullptr && !visitor->on_record(i, rec)) return {};
    source.consume(prefix + static_cast<size_t>(length));
  }
  // Nothing may follow the last record, and a compressed stream must end properly.
  const bool more = source.ensure(1);
  if (source.failed()) return codec_error(-1);
  if (more)
    return BatchError::at(K::invalid_record, "records", -1,
                          streaming ? fmt::format("bytes after the last of {} records", count)
                                    : fmt::format("{} bytes after the last of {} records",
                                                  source.available(), count));
  return {};
}

}  // namespace kfk::record

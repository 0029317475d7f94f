#include "core/protocol/reader.h"

#include <fmt/format.h>

#include <cstring>

#include "core/util/big_endian.h"

namespace kfk::protocol {

std::string_view to_string(DecodeErrorKind kind) {
  switch (kind) {
    case DecodeErrorKind::none:
      return "no error";
    case DecodeErrorKind::truncated:
      return "truncated";
    case DecodeErrorKind::negative_length:
      return "invalid negative length";
    case DecodeErrorKind::length_too_large:
      return "length larger than the remaining bytes";
    case DecodeErrorKind::varint_too_long:
      return "varint too long";
    case DecodeErrorKind::invalid_value:
      return "invalid value";
    case DecodeErrorKind::trailing_bytes:
      return "unexpected trailing bytes";
    case DecodeErrorKind::unsupported_version:
      return "unsupported version";
  }
  return "unknown decode error";
}

std::string DecodeError::message() const {
  return fmt::format("{} in field '{}' at byte {}", to_string(kind), field, offset);
}

void Reader::fail(DecodeErrorKind kind, const char* field) {
  if (!ok()) return;
  error_ = DecodeError{kind, field, pos_};
  pos_ = data_.size();  // later reads see no bytes
}

bool Reader::expect_end(const char* what) {
  if (ok() && remaining() != 0) fail(DecodeErrorKind::trailing_bytes, what);
  return ok();
}

bool Reader::need(size_t n, const char* field) {
  if (!ok()) return false;
  if (remaining() < n) {
    fail(DecodeErrorKind::truncated, field);
    return false;
  }
  return true;
}

int8_t Reader::read_int8(const char* field) {
  if (!need(1, field)) return 0;
  return static_cast<int8_t>(data_[pos_++]);
}

int16_t Reader::read_int16(const char* field) { return static_cast<int16_t>(read_uint16(field)); }

uint16_t Reader::read_uint16(const char* field) {
  if (!need(2, field)) return 0;
  auto v = load_be<uint16_t>(&data_[pos_]);
  pos_ += 2;
  return v;
}

int32_t Reader::read_int32(const char* field) { return static_cast<int32_t>(read_uint32(field)); }

uint32_t Reader::read_uint32(const char* field) {
  if (!need(4, field)) return 0;
  auto v = load_be<uint32_t>(&data_[pos_]);
  pos_ += 4;
  return v;
}

int64_t Reader::read_int64(const char* field) {
  if (!need(8, field)) return 0;
  auto v = load_be<int64_t>(&data_[pos_]);
  pos_ += 8;
  return v;
}

double Reader::read_float64(const char* field) {
  auto bits = static_cast<uint64_t>(read_int64(field));
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

bool Reader::read_bool(const char* field) { return read_int8(field) != 0; }

Uuid Reader::read_uuid(const char* field) {
  Uuid u;
  if (!need(16, field)) return u;
  std::memcpy(u.bytes.data(), &data_[pos_], 16);
  pos_ += 16;
  return u;
}

uint64_t Reader::read_uvarlong(const char* field) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1, field)) return 0;
    uint8_t b = data_[pos_++];
    if (shift == 63 && (b & 0x7e) != 0) break;  // would overflow 64 bits
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail(DecodeErrorKind::varint_too_long, field);
  return 0;
}

uint32_t Reader::read_uvarint(const char* field) {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1, field)) return 0;
    uint8_t b = data_[pos_++];
    if (shift == 28 && (b & 0x70) != 0) break;  // would overflow 32 bits
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail(DecodeErrorKind::varint_too_long, field);
  return 0;
}

int32_t Reader::read_varint(const char* field) {
  uint32_t z = read_uvarint(field);
  return static_cast<int32_t>((z >> 1) ^ (~(z & 1) + 1));
}

int64_t Reader::read_varlong(const char* field) {
  uint64_t z = read_uvarlong(field);
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

// Validates a decoded length. Returns nullopt for null (when allowed) or on failure.
std::optional<int64_t> Reader::read_length_prefix(int64_t length, bool nullable,
                                                  const char* field) {
  if (!ok()) return std::nullopt;
  if (length < 0) {
    if (length != -1 || !nullable) fail(DecodeErrorKind::negative_length, field);
    return std::nullopt;
  }
  if (static_cast<uint64_t>(length) > remaining()) {
    fail(DecodeErrorKind::length_too_large, field);
    return std::nullopt;
  }
  return length;
}

namespace {
template <class T>
T take(Reader& r, std::optional<int64_t> n, const char* field) {
  if (!n) return T{};
  auto raw = r.read_raw(static_cast<size_t>(*n), field);
  return T(raw.begin(), raw.end());
}
}  // namespace

std::string Reader::read_string(const char* field) {
  auto n = read_length_prefix(read_int16(field), false, field);
  return take<std::string>(*this, n, field);
}

std::optional<std::string> Reader::read_nullable_string(const char* field) {
  int16_t len = read_int16(field);
  auto n = read_length_prefix(len, true, field);
  if (!n) return std::nullopt;
  return take<std::string>(*this, n, field);
}

std::string Reader::read_compact_string(const char* field) {
  auto n = read_length_prefix(static_cast<int64_t>(read_uvarint(field)) - 1, false, field);
  return take<std::string>(*this, n, field);
}

std::optional<std::string> Reader::read_compact_nullable_string(const char* field) {
  auto n = read_length_prefix(static_cast<int64_t>(read_uvarint(field)) - 1, true, field);
  if (!n) return std::nullopt;
  return take<std::string>(*this, n, field);
}

Bytes Reader::read_bytes(const char* field) {
  auto n = read_length_prefix(read_int32(field), false, field);
  return take<Bytes>(*this, n, field);
}

std::optional<Bytes> Reader::read_nullable_bytes(const char* field) {
  auto n = read_length_prefix(read_int32(field), true, field);
  if (!n) return std::nullopt;
  return take<Bytes>(*this, n, field);
}

Bytes Reader::read_compact_bytes(const char* field) {
  auto n = read_length_prefix(static_cast<int64_t>(read_uvarint(field)) - 1, false, field);
  return take<Bytes>(*this, n, field);
}

std::optional<Bytes> Reader::read_compact_nullable_bytes(const char* field) {
  auto n = read_length_prefix(static_cast<int64_t>(read_uvarint(field)) - 1, true, field);
  if (!n) return std::nullopt;
  return take<Bytes>(*this, n, field);
}

int32_t Reader::read_array_length(const char* field) {
  int32_t n = read_int32(field);
  if (!ok()) return 0;
  auto len = read_length_prefix(n, true, field);
  return len ? static_cast<int32_t>(*len) : (ok() ? -1 : 0);
}

int32_t Reader::read_compact_array_length(const char* field) {
  uint32_t raw = read_uvarint(field);
  if (!ok()) return 0;
  auto len = read_length_prefix(static_cast<int64_t>(raw) - 1, true, field);
  return len ? static_cast<int32_t>(*len) : (ok() ? -1 : 0);
}

std::span<const uint8_t> Reader::read_raw(size_t n, const char* field) {
  if (!need(n, field)) return {};
  auto s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

void Reader::skip(size_t n, const char* field) { (void)read_raw(n, field); }

}  // namespace kfk::protocol

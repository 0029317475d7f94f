#include "core/protocol/writer.h"

#include <cstring>

namespace kfk::protocol {

size_t uvarint_size(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

size_t varint_size(int32_t value) {
  auto v = static_cast<uint32_t>(value);
  return uvarint_size((v << 1) ^ static_cast<uint32_t>(value >> 31));
}

size_t varlong_size(int64_t value) {
  auto v = static_cast<uint64_t>(value);
  return uvarint_size((v << 1) ^ static_cast<uint64_t>(value >> 63));
}

void Writer::write_float64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  append_be<uint64_t>(buf_, bits);
}

void Writer::write_uvarint(uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<uint8_t>(v));
}

void Writer::write_varint(int32_t v) {
  auto u = static_cast<uint32_t>(v);
  write_uvarint((u << 1) ^ static_cast<uint32_t>(v >> 31));
}

void Writer::write_varlong(int64_t v) {
  auto u = static_cast<uint64_t>(v);
  write_uvarint((u << 1) ^ static_cast<uint64_t>(v >> 63));
}

namespace {
std::span<const uint8_t> as_bytes(std::string_view v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size()};
}
}  // namespace

void Writer::write_string(std::string_view v) {
  write_int16(static_cast<int16_t>(v.size()));
  write_raw(as_bytes(v));
}

void Writer::write_nullable_string(const std::optional<std::string>& v) {
  if (!v) return write_int16(-1);
  write_string(*v);
}

void Writer::write_compact_string(std::string_view v) {
  write_uvarint(v.size() + 1);
  write_raw(as_bytes(v));
}

void Writer::write_compact_nullable_string(const std::optional<std::string>& v) {
  if (!v) return write_uvarint(0);
  write_compact_string(*v);
}

void Writer::write_bytes(std::span<const uint8_t> v) {
  write_int32(static_cast<int32_t>(v.size()));
  write_raw(v);
}

void Writer::write_nullable_bytes(const std::optional<Bytes>& v) {
  if (!v) return write_int32(-1);
  write_bytes(*v);
}

void Writer::write_compact_bytes(std::span<const uint8_t> v) {
  write_uvarint(v.size() + 1);
  write_raw(v);
}

void Writer::write_compact_nullable_bytes(const std::optional<Bytes>& v) {
  if (!v) return write_uvarint(0);
  write_compact_bytes(*v);
}

}  // namespace kfk::protocol

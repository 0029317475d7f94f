// Encoding into the Kafka wire encodings. Writer appends to a growable buffer; SizeCounter
// has the same interface and only counts, so one templated encoder computes both the bytes
// and their size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/protocol/types.h"
#include "core/util/big_endian.h"

namespace kfk::protocol {

size_t uvarint_size(uint64_t value);
size_t varint_size(int32_t value);
size_t varlong_size(int64_t value);

class Writer {
 public:
  Writer() = default;
  explicit Writer(size_t reserve) { buf_.reserve(reserve); }

  size_t size() const { return buf_.size(); }
  const Bytes& bytes() const { return buf_; }
  Bytes take() { return std::move(buf_); }
  uint8_t* data() { return buf_.data(); }

  void write_int8(int8_t v) { buf_.push_back(static_cast<uint8_t>(v)); }
  void write_int16(int16_t v) { append_be<int16_t>(buf_, v); }
  void write_uint16(uint16_t v) { append_be<uint16_t>(buf_, v); }
  void write_int32(int32_t v) { append_be<int32_t>(buf_, v); }
  void write_uint32(uint32_t v) { append_be<uint32_t>(buf_, v); }
  void write_int64(int64_t v) { append_be<int64_t>(buf_, v); }
  void write_float64(double v);
  void write_bool(bool v) { buf_.push_back(v ? 1 : 0); }
  void write_uuid(const Uuid& v) { write_raw(v.bytes); }

  void write_uvarint(uint64_t v);
  void write_varint(int32_t v);
  void write_varlong(int64_t v);

  void write_string(std::string_view v);
  void write_nullable_string(const std::optional<std::string>& v);
  void write_compact_string(std::string_view v);
  void write_compact_nullable_string(const std::optional<std::string>& v);

  void write_bytes(std::span<const uint8_t> v);
  void write_nullable_bytes(const std::optional<Bytes>& v);
  void write_compact_bytes(std::span<const uint8_t> v);
  void write_compact_nullable_bytes(const std::optional<Bytes>& v);

  void write_array_length(int32_t n) { write_int32(n); }
  void write_compact_array_length(int32_t n) { write_uvarint(static_cast<uint32_t>(n + 1)); }

  void write_raw(std::span<const uint8_t> v) { buf_.insert(buf_.end(), v.begin(), v.end()); }

  // Overwrites 4 bytes at `pos` with a big-endian int32 (length prefixes written afterwards).
  void patch_int32(size_t pos, int32_t v) { store_be<int32_t>(buf_.data() + pos, v); }

 private:
  Bytes buf_;
};

class SizeCounter {
 public:
  size_t size() const { return n_; }

  void write_int8(int8_t) { n_ += 1; }
  void write_int16(int16_t) { n_ += 2; }
  void write_uint16(uint16_t) { n_ += 2; }
  void write_int32(int32_t) { n_ += 4; }
  void write_uint32(uint32_t) { n_ += 4; }
  void write_int64(int64_t) { n_ += 8; }
  void write_float64(double) { n_ += 8; }
  void write_bool(bool) { n_ += 1; }
  void write_uuid(const Uuid&) { n_ += 16; }

  void write_uvarint(uint64_t v) { n_ += uvarint_size(v); }
  void write_varint(int32_t v) { n_ += varint_size(v); }
  void write_varlong(int64_t v) { n_ += varlong_size(v); }

  void write_string(std::string_view v) { n_ += 2 + v.size(); }
  void write_nullable_string(const std::optional<std::string>& v) { n_ += 2 + (v ? v->size() : 0); }
  void write_compact_string(std::string_view v) { n_ += uvarint_size(v.size() + 1) + v.size(); }
  void write_compact_nullable_string(const std::optional<std::string>& v) {
    n_ += v ? uvarint_size(v->size() + 1) + v->size() : 1;
  }

  void write_bytes(std::span<const uint8_t> v) { n_ += 4 + v.size(); }
  void write_nullable_bytes(const std::optional<Bytes>& v) { n_ += 4 + (v ? v->size() : 0); }
  void write_compact_bytes(std::span<const uint8_t> v) {
    n_ += uvarint_size(v.size() + 1) + v.size();
  }
  void write_compact_nullable_bytes(const std::optional<Bytes>& v) {
    n_ += v ? uvarint_size(v->size() + 1) + v->size() : 1;
  }

  void write_array_length(int32_t) { n_ += 4; }
  void write_compact_array_length(int32_t n) { n_ += uvarint_size(static_cast<uint32_t>(n + 1)); }

  void write_raw(std::span<const uint8_t> v) { n_ += v.size(); }

 private:
  size_t n_ = 0;
};

}  // namespace kfk::protocol

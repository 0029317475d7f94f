// Bounds-checked decoding of untrusted bytes, in the Kafka wire encodings.
//
// The reader has a sticky error: the first failure is recorded with the name of the field
// being read, and every later read returns a zero value without touching memory. Decoders
// therefore need no branch per field; they check ok() once at the end. Nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/protocol/types.h"

namespace kfk::protocol {

enum class DecodeErrorKind : uint8_t {
  none,
  truncated,         // fewer bytes left than the field needs
  negative_length,   // a length below -1, or -1 where null is not allowed
  length_too_large,  // a length or count larger than the bytes that remain
  varint_too_long,   // a varint that does not end within its maximum size
  invalid_value,     // a value outside what the field accepts
  trailing_bytes,    // bytes left over after the message ended
  unsupported_version,
};

std::string_view to_string(DecodeErrorKind kind);

struct DecodeError {
  DecodeErrorKind kind = DecodeErrorKind::none;
  const char* field = "";  // the field being read when decoding failed
  size_t offset = 0;       // position in the input where that field started
  std::string message() const;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  Reader(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data), size) {}

  bool ok() const { return error_.kind == DecodeErrorKind::none; }
  const DecodeError& error() const { return error_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

  // Records the first error; later calls keep the first one.
  void fail(DecodeErrorKind kind, const char* field);
  // Fails with trailing_bytes unless every byte was consumed.
  bool expect_end(const char* what);

  int8_t read_int8(const char* field);
  int16_t read_int16(const char* field);
  uint16_t read_uint16(const char* field);
  int32_t read_int32(const char* field);
  uint32_t read_uint32(const char* field);
  int64_t read_int64(const char* field);
  double read_float64(const char* field);
  bool read_bool(const char* field);
  Uuid read_uuid(const char* field);

  uint32_t read_uvarint(const char* field);
  uint64_t read_uvarlong(const char* field);
  int32_t read_varint(const char* field);   // zigzag
  int64_t read_varlong(const char* field);  // zigzag

  std::string read_string(const char* field);
  std::optional<std::string> read_nullable_string(const char* field);
  std::string read_compact_string(const char* field);
  std::optional<std::string> read_compact_nullable_string(const char* field);

  Bytes read_bytes(const char* field);
  std::optional<Bytes> read_nullable_bytes(const char* field);
  Bytes read_compact_bytes(const char* field);
  std::optional<Bytes> read_compact_nullable_bytes(const char* field);

  // Array element counts; -1 means null. A count larger than the remaining bytes fails
  // (each element takes at least one byte), so no decoder allocates for a lying count.
  int32_t read_array_length(const char* field);
  int32_t read_compact_array_length(const char* field);

  // A view of the next n bytes, consumed; empty on failure.
  std::span<const uint8_t> read_raw(size_t n, const char* field);
  void skip(size_t n, const char* field);

  // Reads the tagged-field section of a flexible struct. Each known tag is handed to
  // on_tag(tag, sub_reader) which returns false if it does not know the tag; unknown tags are
  // kept in `unknown`.
  template <class OnTag>
  void read_tagged_fields(TaggedFields& unknown, OnTag&& on_tag);

 private:
  bool need(size_t n, const char* field);
  std::optional<int64_t> read_length_prefix(int64_t length, bool nullable, const char* field);

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  DecodeError error_;
};

template <class OnTag>
void Reader::read_tagged_fields(TaggedFields& unknown, OnTag&& on_tag) {
  uint32_t count = read_uvarint("tagged fields count");
  if (!ok()) return;
  if (count > remaining()) {
    fail(DecodeErrorKind::length_too_large, "tagged fields count");
    return;
  }
  int64_t last_tag = -1;
  for (uint32_t i = 0; i < count && ok(); ++i) {
    uint32_t tag = read_uvarint("tag");
    uint32_t size = read_uvarint("tagged field size");
    if (!ok()) return;
    if (static_cast<int64_t>(tag) <= last_tag) {
      fail(DecodeErrorKind::invalid_value, "tag order");
      return;
    }
    last_tag = tag;
    std::span<const uint8_t> body = read_raw(size, "tagged field");
    if (!ok()) return;
    Reader sub(body);
    if (on_tag(tag, sub)) {
      if (!sub.ok()) {
        error_ = sub.error_;
        error_.offset += pos_ - size;
        return;
      }
      // A known tagged field may carry a newer trailing part we do not read; that is allowed.
    } else {
      unknown.push_back(TaggedField{tag, Bytes(body.begin(), body.end())});
    }
  }
}

}  // namespace kfk::protocol

// Value types shared by every generated protocol message. Kept light: this header is
// included by every message header.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kfk::protocol {

using Bytes = std::vector<uint8_t>;

// A Kafka UUID (topic ids, directory ids): 16 raw bytes. Printed as Kafka prints it,
// URL-safe base64 without padding.
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool is_zero() const;
  std::string to_string() const;
  static std::optional<Uuid> parse(std::string_view text);
  static Uuid random();
  bool operator==(const Uuid&) const = default;
};

// A tagged field this code does not know, kept so that re-encoding preserves it.
struct TaggedField {
  uint32_t tag = 0;
  Bytes data;
  bool operator==(const TaggedField&) const = default;
};
using TaggedFields = std::vector<TaggedField>;

// The "records" type: a nullable run of record batch bytes, not decoded by the message layer.
using Records = std::optional<Bytes>;

class Reader;
class Writer;
class SizeCounter;

}  // namespace kfk::protocol

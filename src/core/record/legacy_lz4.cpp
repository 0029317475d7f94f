#include "core/record/legacy_lz4.h"

#include <optional>

#include "core/record/xxhash32.h"

namespace kfk::record {

namespace {

constexpr uint8_t kMagic[4] = {0x04, 0x22, 0x4D, 0x18};
constexpr size_t kMagicSize = 4;

// The position of the header checksum byte, if the header is whole.
std::optional<size_t> checksum_position(std::span<const uint8_t> frame) {
  if (frame.size() < kMagicSize + 3) return std::nullopt;
  for (size_t i = 0; i < kMagicSize; ++i)
    if (frame[i] != kMagic[i]) return std::nullopt;
  const uint8_t flg = frame[kMagicSize];
  size_t pos = kMagicSize + 2;      // FLG, BD
  if ((flg & 0x08) != 0) pos += 8;  // content size
  if ((flg & 0x01) != 0) pos += 4;  // dictionary id
  if (frame.size() <= pos) return std::nullopt;
  return pos;
}

uint8_t header_checksum(std::span<const uint8_t> covered) {
  return static_cast<uint8_t>((xxhash32(covered) >> 8) & 0xFF);
}

}  // namespace

bool lz4_set_standard_header_checksum(std::span<uint8_t> frame) {
  auto pos = checksum_position(frame);
  if (!pos) return false;
  frame[*pos] = header_checksum(frame.subspan(kMagicSize, *pos - kMagicSize));
  return true;
}

bool lz4_set_kafka_v0_header_checksum(std::span<uint8_t> frame) {
  auto pos = checksum_position(frame);
  if (!pos) return false;
  frame[*pos] = header_checksum(frame.first(*pos));
  return true;
}

}  // namespace kfk::record

// XXH32, the 32-bit xxHash: the header checksum of the LZ4 frame format. Needed where a
// frame header is checked or rewritten by hand (the LZ4 framing of Kafka 0.8-0.9, see
// legacy_lz4.h); liblz4 keeps its own copy private.
#pragma once

#include <cstdint>
#include <span>

namespace kfk::record {

uint32_t xxhash32(std::span<const uint8_t> data, uint32_t seed = 0);

}  // namespace kfk::record

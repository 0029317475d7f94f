#include "core/record/xxhash32.h"

#include <bit>

namespace kfk::record {

namespace {

constexpr uint32_t kPrime1 = 0x9E3779B1U;
constexpr uint32_t kPrime2 = 0x85EBCA77U;
constexpr uint32_t kPrime3 = 0xC2B2AE3DU;
constexpr uint32_t kPrime4 = 0x27D4EB2FU;
constexpr uint32_t kPrime5 = 0x165667B1U;

uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint32_t xx_round(uint32_t acc, uint32_t lane) {
  acc += lane * kPrime2;
  acc = std::rotl(acc, 13);
  return acc * kPrime1;
}

}  // namespace

uint32_t xxhash32(std::span<const uint8_t> data, uint32_t seed) {
  const uint8_t* p = data.data();
  const uint8_t* const end = p + data.size();
  uint32_t h = 0;
  if (data.size() >= 16) {
    uint32_t v1 = seed + kPrime1 + kPrime2;
    uint32_t v2 = seed + kPrime2;
    uint32_t v3 = seed;
    uint32_t v4 = seed - kPrime1;
    for (; end - p >= 16; p += 16) {
      v1 = xx_round(v1, load_le32(p));
      v2 = xx_round(v2, load_le32(p + 4));
      v3 = xx_round(v3, load_le32(p + 8));
      v4 = xx_round(v4, load_le32(p + 12));
    }
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint32_t>(data.size());
  for (; end - p >= 4; p += 4) h = std::rotl(h + load_le32(p) * kPrime3, 17) * kPrime4;
  for (; p < end; ++p) h = std::rotl(h + *p * kPrime5, 11) * kPrime1;
  h ^= h >> 15;
  h *= kPrime2;
  h ^= h >> 13;
  h *= kPrime3;
  h ^= h >> 16;
  return h;
}

}  // namespace kfk::record

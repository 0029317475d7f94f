#include "core/record/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define KFK_CRC32C_X86 1
#endif

namespace kfk::record {

namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// tables[k][b]: the CRC contribution of byte b followed by k zero bytes.
constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int j = 0; j < 8; ++j) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[0][i] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

uint32_t software(const uint8_t* p, size_t n, uint32_t crc) {
  if constexpr (std::endian::native == std::endian::little) {
    while (n >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      w ^= crc;
      crc = kTables[7][w & 0xff] ^ kTables[6][(w >> 8) & 0xff] ^ kTables[5][(w >> 16) & 0xff] ^
            kTables[4][(w >> 24) & 0xff] ^ kTables[3][(w >> 32) & 0xff] ^
            kTables[2][(w >> 40) & 0xff] ^ kTables[1][(w >> 48) & 0xff] ^ kTables[0][w >> 56];
      p += 8;
      n -= 8;
    }
  }
  while (n--) crc = kTables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#ifdef KFK_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t hardware(const uint8_t* p, size_t n, uint32_t crc) {
#if defined(__x86_64__)
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(c);
#endif
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    crc = _mm_crc32_u32(crc, w);
    p += 4;
    n -= 4;
  }
  while (n--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

bool detect_hardware() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t hardware(const uint8_t* p, size_t n, uint32_t crc) { return software(p, n, crc); }
bool detect_hardware() { return false; }
#endif

using Impl = uint32_t (*)(const uint8_t*, size_t, uint32_t);

Impl pick() { return detect_hardware() ? &hardware : &software; }

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t seed) {
  static const Impl impl = pick();
  return ~impl(data.data(), data.size(), ~seed);
}

uint32_t crc32c_software(std::span<const uint8_t> data, uint32_t seed) {
  return ~software(data.data(), data.size(), ~seed);
}

bool crc32c_hardware_available() {
  static const bool available = detect_hardware();
  return available;
}

uint32_t crc32c_hardware(std::span<const uint8_t> data, uint32_t seed) {
  if (!crc32c_hardware_available()) return crc32c_software(data, seed);
  return ~hardware(data.data(), data.size(), ~seed);
}

}  // namespace kfk::record

#include "core/util/big_endian.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using kfk::append_be;
using kfk::load_be;
using kfk::store_be;

namespace {

// The oracle: most significant byte first, one byte at a time.
template <class T>
std::vector<uint8_t> reference_bytes(T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  std::vector<uint8_t> out(sizeof(T));
  for (size_t i = sizeof(T); i-- > 0; u = static_cast<decltype(u)>(u >> 8))
    out[i] = static_cast<uint8_t>(u);
  return out;
}

// Stores and loads `v` at every offset 0..7 of a buffer aligned to 8, checking the bytes
// against the oracle and that the bytes around the value are left alone.
template <class T>
void check_everywhere(T v) {
  const std::vector<uint8_t> expected = reference_bytes(v);
  for (size_t offset = 0; offset < 8; ++offset) {
    alignas(8) std::array<uint8_t, 24> buf;
    buf.fill(0xA5);
    store_be<T>(buf.data() + offset, v);
    CHECK(std::vector<uint8_t>(buf.begin() + static_cast<std::ptrdiff_t>(offset),
                               buf.begin() + static_cast<std::ptrdiff_t>(offset + sizeof(T))) ==
          expected);
    for (size_t i = 0; i < buf.size(); ++i)
      if (i < offset || i >= offset + sizeof(T)) CHECK(buf[i] == 0xA5);
    CHECK(load_be<T>(buf.data() + offset) == v);
  }
}

constexpr bool round_trips_at_compile_time() {
  uint8_t b[8] = {};
  store_be<int64_t>(b, -0x0102030405060708);
  if (b[0] != 0xFE || b[7] != 0xF8) return false;
  if (load_be<int64_t>(b) != -0x0102030405060708) return false;
  store_be<uint16_t>(b + 1, 0xBEEF);
  return load_be<uint16_t>(b + 1) == 0xBEEF && load_be<uint32_t>(b) == 0xFEBEEFFB;
}
static_assert(round_trips_at_compile_time());

}  // namespace

TEST_CASE("big endian: known byte patterns load most significant byte first") {
  const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  CHECK(load_be<uint16_t>(bytes) == 0x0102);
  CHECK(load_be<uint32_t>(bytes) == 0x01020304u);
  CHECK(load_be<uint64_t>(bytes) == 0x0102030405060708u);
  CHECK(load_be<int16_t>(bytes) == 0x0102);
  CHECK(load_be<int32_t>(bytes) == 0x01020304);
  CHECK(load_be<int64_t>(bytes) == 0x0102030405060708);
  CHECK(load_be<uint32_t>(bytes + 4) == 0x05060708u);

  uint8_t out[8] = {};
  store_be<uint32_t>(out, 0xCAFEBABE);
  CHECK(out[0] == 0xCA);
  CHECK(out[1] == 0xFE);
  CHECK(out[2] == 0xBA);
  CHECK(out[3] == 0xBE);
  store_be<uint64_t>(out, 0x8000000000000001u);
  CHECK(out[0] == 0x80);
  CHECK(out[7] == 0x01);
  store_be<uint16_t>(out, 0x00FF);
  CHECK(out[0] == 0x00);
  CHECK(out[1] == 0xFF);
}

TEST_CASE("big endian: signed values are two's complement") {
  const uint8_t minus_two[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE};
  CHECK(load_be<int16_t>(minus_two + 6) == -2);
  CHECK(load_be<int32_t>(minus_two + 4) == -2);
  CHECK(load_be<int64_t>(minus_two) == -2);
  CHECK(load_be<uint16_t>(minus_two + 6) == 0xFFFE);

  const uint8_t lowest[] = {0x80, 0, 0, 0, 0, 0, 0, 0};
  CHECK(load_be<int16_t>(lowest) == std::numeric_limits<int16_t>::min());
  CHECK(load_be<int32_t>(lowest) == std::numeric_limits<int32_t>::min());
  CHECK(load_be<int64_t>(lowest) == std::numeric_limits<int64_t>::min());

  uint8_t out[8] = {};
  store_be<int32_t>(out, -1);
  CHECK(load_be<uint32_t>(out) == 0xFFFFFFFFu);
  store_be<int16_t>(out, -32768);
  CHECK(out[0] == 0x80);
  CHECK(out[1] == 0x00);
  store_be<int64_t>(out, -256);
  CHECK(reference_bytes<int64_t>(-256) ==
        std::vector<uint8_t>{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00});
  CHECK(std::vector<uint8_t>(out, out + 8) == reference_bytes<int64_t>(-256));
}

TEST_CASE("big endian: every type round-trips at aligned and unaligned addresses") {
  for (int16_t v : {int16_t{0}, int16_t{1}, int16_t{-1}, std::numeric_limits<int16_t>::min(),
                    std::numeric_limits<int16_t>::max(), int16_t{0x1234}})
    check_everywhere(v);
  for (uint16_t v : {uint16_t{0}, uint16_t{0xFFFF}, uint16_t{0x8001}}) check_everywhere(v);
  for (int32_t v : {0, 1, -1, std::numeric_limits<int32_t>::min(),
                    std::numeric_limits<int32_t>::max(), 0x12345678})
    check_everywhere(v);
  for (uint32_t v : {0u, 0xFFFFFFFFu, 0x80000001u}) check_everywhere(v);
  for (int64_t v : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max(), int64_t{0x0102030405060708}})
    check_everywhere(v);
  for (uint64_t v : {uint64_t{0}, ~uint64_t{0}, uint64_t{0x8000000000000001}}) check_everywhere(v);

  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    const uint64_t r = rng();
    check_everywhere(static_cast<int16_t>(r));
    check_everywhere(static_cast<uint16_t>(r));
    check_everywhere(static_cast<int32_t>(r));
    check_everywhere(static_cast<uint32_t>(r));
    check_everywhere(static_cast<int64_t>(r));
    check_everywhere(r);
  }
}

TEST_CASE("big endian: the named type sets the width, not the argument's type") {
  uint8_t out[8] = {0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
  const size_t wide = 0x0102030405060708u;
  store_be<uint32_t>(out, static_cast<uint32_t>(wide));
  CHECK(load_be<uint32_t>(out) == 0x05060708u);
  CHECK(out[4] == 0xEE);
  store_be<int16_t>(out, -2);
  CHECK(out[2] == 0x07);  // only two bytes written
}

TEST_CASE("big endian: append_be grows a byte vector by the type's width") {
  std::vector<uint8_t> out = {0xAA};
  append_be<uint32_t>(out, 1);
  append_be<int16_t>(out, -2);
  append_be<int64_t>(out, 0x0102030405060708);
  CHECK(out == std::vector<uint8_t>{0xAA, 0, 0, 0, 1, 0xFF, 0xFE, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(load_be<int16_t>(out.data() + 5) == -2);
  CHECK(load_be<int64_t>(out.data() + 7) == 0x0102030405060708);
}

#include "core/record/crc32c.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using kfk::record::crc32c;
using kfk::record::crc32c_hardware;
using kfk::record::crc32c_hardware_available;
using kfk::record::crc32c_software;

namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Every implementation must agree on each vector.
void check_all(std::span<const uint8_t> data, uint32_t expected) {
  CHECK(crc32c(data) == expected);
  CHECK(crc32c_software(data) == expected);
  CHECK(crc32c_hardware(data) == expected);
}

}  // namespace

TEST_CASE("crc32c: known vectors") {
  check_all(bytes_of("123456789"), 0xE3069283u);
  check_all({}, 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  std::vector<uint8_t> buf(32, 0x00);
  check_all(buf, 0x8A9136AAu);
  std::fill(buf.begin(), buf.end(), 0xFF);
  check_all(buf, 0x62A8AB43u);
  for (size_t i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  check_all(buf, 0x46DD794Eu);
  for (size_t i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  check_all(buf, 0x113FDB5Cu);
}

TEST_CASE("crc32c: hardware availability is reported") {
  std::string state = crc32c_hardware_available() ? "available" : "not available";
  MESSAGE("SSE4.2 crc32: " << state);
  CHECK(crc32c_hardware(bytes_of("a")) == crc32c_software(bytes_of("a")));
}

TEST_CASE("crc32c: hardware and software agree on random data, lengths and alignments") {
  std::mt19937 rng(12345);
  std::vector<uint8_t> data(4096 + 16);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t len = 0; len <= 300; ++len) {
      std::span<const uint8_t> s(data.data() + offset, len);
      uint32_t sw = crc32c_software(s);
      REQUIRE(crc32c_hardware(s) == sw);
      REQUIRE(crc32c(s) == sw);
    }
  }
  for (int i = 0; i < 200; ++i) {
    size_t offset = rng() % 16;
    size_t len = rng() % 4096;
    uint32_t seed = static_cast<uint32_t>(rng());
    std::span<const uint8_t> s(data.data() + offset, len);
    REQUIRE(crc32c_hardware(s, seed) == crc32c_software(s, seed));
  }
}

TEST_CASE("crc32c: chaining over pieces equals one pass") {
  std::mt19937 rng(99);
  std::vector<uint8_t> data(1000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  uint32_t whole = crc32c(data);
  for (size_t cut : {0, 1, 7, 8, 9, 63, 500, 999, 1000}) {
    std::span<const uint8_t> all(data);
    uint32_t a = crc32c(all.first(cut));
    CHECK(crc32c(all.subspan(cut), a) == whole);
    CHECK(crc32c_software(all.subspan(cut), crc32c_software(all.first(cut))) == whole);
    CHECK(crc32c_hardware(all.subspan(cut), crc32c_hardware(all.first(cut))) == whole);
  }
}

TEST_CASE("crc32c: a flipped bit changes the checksum") {
  std::vector<uint8_t> data(64, 0x5a);
  uint32_t base = crc32c(data);
  for (size_t bit = 0; bit < data.size() * 8; ++bit) {
    data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    REQUIRE(crc32c(data) != base);
    data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}

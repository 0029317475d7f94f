// The Java client's murmur2 partitioner. Expected hashes are the Java client's (signed int)
// values; they were computed with kafka-python's independent implementation of the same
// algorithm and agree with the values Kafka's own tests use.
#include <doctest/doctest.h>

#include <set>
#include <string_view>

#include "core/client/partitioner.h"

using namespace kfk::client;

namespace {
std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

TEST_CASE("client partitioner: murmur2 matches the Java client") {
  CHECK(murmur2(bytes("")) == 275646681);
  CHECK(murmur2(bytes("a")) == -1563381124);
  CHECK(murmur2(bytes("21")) == -973932308);
  CHECK(murmur2(bytes("abc")) == 479470107);
  CHECK(murmur2(bytes("kafka")) == -798503068);
  CHECK(murmur2(bytes("foobar")) == -790332482);
  CHECK(murmur2(bytes("123456789")) == -1822237082);
  CHECK(murmur2(bytes("a-little-bit-long-string")) == -985981536);
  CHECK(murmur2(bytes("a-little-bit-longer-string")) == -1486304829);
  CHECK(murmur2(bytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")) == -58897971);
  const uint8_t binary[] = {0, 1, 2, 3, 4, 5, 6};
  CHECK(murmur2(binary) == -1488168820);
  const uint8_t high[] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb};
  CHECK(murmur2(high) == 524068735);
}

TEST_CASE("client partitioner: keyed records use positive(murmur2) modulo the partitions") {
  CHECK(to_positive(-1563381124) == 584102524);
  CHECK(to_positive(INT32_MIN) == 0);
  CHECK(partition_for_key(bytes("a"), 10) == 4);
  CHECK(partition_for_key(bytes("21"), 10) == 0);
  CHECK(partition_for_key(bytes("abc"), 10) == 7);
  CHECK(partition_for_key(bytes("hello world"), 10) == 9);
  CHECK(partition_for_key(bytes("123456789"), 10) == 6);
  CHECK(partition_for_key(bytes("kafka"), 3) == 1);
  CHECK(partition_for_key(bytes("anything"), 1) == 0);
}

TEST_CASE("client partitioner: sticky partition moves on round-robin") {
  StickyPartitioner sticky;
  const int32_t first = sticky.partition("t", 4);
  CHECK(first >= 0);
  CHECK(first < 4);
  CHECK(sticky.partition("t", 4) == first);  // sticks until told to move
  std::set<int32_t> seen{first};
  for (int i = 0; i < 3; ++i) {
    sticky.next("t");
    seen.insert(sticky.partition("t", 4));
  }
  CHECK(seen.size() == 4);  // every partition once in four moves
  sticky.next("t");
  CHECK(sticky.partition("t", 4) == first);
  // Topics are independent; a new partition count is respected at once.
  CHECK(sticky.partition("other", 2) < 2);
  CHECK(sticky.partition("t", 1) == 0);
}

// The partitioners. Expected murmur2 hashes are the Java client's (signed int) values; they
// were computed with kafka-python's independent implementation of the same algorithm and
// agree with the values Kafka's own tests use. CRC32 and FNV-1a values are the published
// check values of those hashes (CRC32 "123456789" = 0xcbf43926). The integration test
// test_cli_produce.py checks the same choices against librdkafka (confluent-kafka-python).
#include <doctest/doctest.h>

#include <optional>
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
  // toPositive(murmur2(key)) % n for keys as applications send them.
  CHECK(partition_for_key(bytes("user-0"), 6) == 1);
  CHECK(partition_for_key(bytes("user-0"), 12) == 7);
  CHECK(partition_for_key(bytes("user-1"), 6) == 2);
  CHECK(partition_for_key(bytes("user-1"), 12) == 8);
  CHECK(partition_for_key(bytes("order-42"), 12) == 0);
  CHECK(murmur2(bytes("\xe2\x82\xac")) == -1352192002);  // the euro sign in UTF-8
  CHECK(partition_for_key(bytes("\xe2\x82\xac"), 12) == 10);
  CHECK(partition_for_key(bytes(""), 12) == 9);  // an empty key is hashed, not sticky
}

TEST_CASE("client partitioner: librdkafka's CRC32 and FNV-1a") {
  CHECK(crc32_partition(bytes("123456789"), 1'000'000'007) ==
        static_cast<int32_t>(3421780262U % 1'000'000'007U));
  CHECK(crc32_partition(bytes(""), 7) == 0);
  CHECK(crc32_partition(bytes("a"), 1'000'000'000) ==
        static_cast<int32_t>(3904355907U % 1'000'000'000U));
  CHECK(crc32_partition(bytes("abc"), 1'000'000'000) == 891568578 % 1'000'000'000);
  CHECK(crc32_partition(bytes("user-0"), 6) == 2);
  CHECK(crc32_partition(bytes("order-42"), 6) == 4);
  CHECK(fnv1a(bytes("")) == 0x811c9dc5U);
  CHECK(fnv1a(bytes("a")) == 0xe40c292cU);
  CHECK(fnv1a(bytes("foobar")) == 0xbf9cf968U);
  CHECK(fnv1a_partition(bytes(""), 6) == 3);
  CHECK(fnv1a_partition(bytes("user-0"), 6) == 1);
}

TEST_CASE("client partitioner: names") {
  CHECK(parse_partitioner("murmur2_random") == PartitionerKind::murmur2_random);
  CHECK(parse_partitioner("consistent-random") == PartitionerKind::consistent_random);
  CHECK(parse_partitioner("round-robin") == PartitionerKind::round_robin);
  CHECK(parse_partitioner("sticky") == PartitionerKind::sticky);
  CHECK_FALSE(parse_partitioner("hash").has_value());
  CHECK(partitioner_name(PartitionerKind::fnv1a_random) == "fnv1a_random");
}

TEST_CASE("client partitioner: each kind's choice") {
  const auto key = std::optional<std::span<const uint8_t>>(bytes("user-0"));
  const auto empty = std::optional<std::span<const uint8_t>>(bytes(""));
  const std::optional<std::span<const uint8_t>> none;
  {
    Partitioner p;  // murmur2_random
    CHECK(p.partition("t", key, 12) == 7);
    CHECK(p.partition("t", empty, 12) == 9);
    const int32_t sticky = p.partition("t", none, 12);
    CHECK(p.partition("t", none, 12) == sticky);
    p.batch_full("t");
    CHECK(p.partition("t", none, 12) == (sticky + 1) % 12);
    // A full batch of a keyed record does not move the sticky partition.
    CHECK(p.partition("t", key, 12) == 7);
    p.batch_full("t");
    CHECK(p.partition("t", none, 12) == (sticky + 1) % 12);
  }
  {
    Partitioner p(PartitionerKind::consistent_random);
    CHECK(p.partition("t", key, 6) == 2);
    const int32_t sticky = p.partition("t", empty, 6);  // empty keys are sticky here
    CHECK(p.partition("t", empty, 6) == sticky);
    CHECK(p.partition("t", none, 6) == sticky);
  }
  {
    Partitioner p(PartitionerKind::consistent);
    CHECK(p.partition("t", empty, 6) == 0);
  }
  {
    Partitioner p(PartitionerKind::round_robin);
    const int32_t first = p.partition("t", key, 4);
    for (int i = 1; i < 8; ++i) CHECK(p.partition("t", key, 4) == (first + i) % 4);
  }
  {
    Partitioner p(PartitionerKind::sticky);
    const int32_t first = p.partition("t", key, 4);
    CHECK(p.partition("t", bytes("other"), 4) == first);
    p.batch_full("t");
    CHECK(p.partition("t", key, 4) == (first + 1) % 4);
  }
  {
    Partitioner p(PartitionerKind::random);
    std::set<int32_t> seen;
    for (int i = 0; i < 200; ++i) seen.insert(p.partition("t", key, 4));
    CHECK(seen.size() == 4);
  }
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

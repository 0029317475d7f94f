// The consumer protocol bytes inside JoinGroup and SyncGroup: round trips at every version,
// the Java client's layout byte for byte, and reading versions newer than ours.
#include <doctest/doctest.h>

#include "core/client/consumer_protocol.h"

using namespace kfk::client;
using kfk::protocol::Bytes;

TEST_CASE("consumer protocol: subscription round trip at every version") {
  Subscription s;
  s.topics = {"orders", "clicks"};
  s.user_data = Bytes{1, 2, 3};
  s.owned_partitions = {{"clicks", 0}, {"orders", 1}, {"orders", 3}};
  s.generation = 42;
  s.rack = "rack-a";
  for (int16_t v = 0; v <= kConsumerProtocolVersion; ++v) {
    CAPTURE(v);
    const auto decoded = decode_subscription(encode_subscription(s, v));
    REQUIRE(decoded.has_value());
    CHECK(decoded->topics == std::vector<std::string>{"clicks", "orders"});  // sorted on the wire
    CHECK(decoded->user_data == s.user_data);
    CHECK(decoded->owned_partitions ==
          (v >= 1 ? s.owned_partitions : std::vector<TopicPartition>{}));
    CHECK(decoded->generation == (v >= 2 ? 42 : -1));
    CHECK(decoded->rack == (v >= 3 ? s.rack : std::nullopt));
  }
}

TEST_CASE("consumer protocol: assignment round trip at every version") {
  Assignment a;
  a.partitions = {{"a", 0}, {"a", 2}, {"b", 1}};
  a.user_data = std::nullopt;
  for (int16_t v = 0; v <= kConsumerProtocolVersion; ++v) {
    CAPTURE(v);
    const auto decoded = decode_assignment(encode_assignment(a, v));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == a);
  }
}

TEST_CASE("consumer protocol: the Java client's bytes") {
  Subscription s;
  s.topics = {"t"};
  // int16 version 3, topics [ "t" ], user data null, owned partitions [], generation -1,
  // rack null.
  const Bytes expected = {0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0xff, 0xff, 0xff,
                          0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  CHECK(encode_subscription(s) == expected);

  Assignment a;
  a.partitions = {{"t", 1}, {"t", 0}};
  // int16 version 3, [ { "t", [0, 1] } ], user data null.
  const Bytes assignment = {0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
                            0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff};
  CHECK(encode_assignment(a) == assignment);

  // A v0 subscription, as old clients send it.
  const Bytes v0 = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0xff, 0xff, 0xff, 0xff};
  const auto decoded = decode_subscription(v0);
  REQUIRE(decoded.has_value());
  CHECK(decoded->topics == std::vector<std::string>{"t"});
  CHECK(decoded->owned_partitions.empty());
  CHECK(decoded->generation == -1);
}

TEST_CASE("consumer protocol: newer versions are read as ours, bad bytes are refused") {
  Subscription s;
  s.topics = {"t"};
  s.generation = 3;
  Bytes newer = encode_subscription(s);
  newer[1] = 9;                          // version 9
  newer.insert(newer.end(), {1, 2, 3});  // fields of a future version
  const auto decoded = decode_subscription(newer);
  REQUIRE(decoded.has_value());
  CHECK(decoded->topics == s.topics);
  CHECK(decoded->generation == 3);

  std::string error;
  Bytes truncated = encode_subscription(s);
  truncated.resize(truncated.size() - 3);
  CHECK_FALSE(decode_subscription(truncated, &error).has_value());
  CHECK(error.find("ConsumerProtocolSubscription") != std::string::npos);
  Bytes trailing = encode_subscription(s);
  trailing.push_back(0);
  CHECK_FALSE(decode_subscription(trailing).has_value());
  CHECK_FALSE(decode_subscription(Bytes{0xff, 0xff}).has_value());  // version -1

  // A member the leader gave nothing may receive no bytes at all.
  const auto empty = decode_assignment(Bytes{});
  REQUIRE(empty.has_value());
  CHECK(empty->partitions.empty());
}

TEST_CASE("consumer protocol: sticky user data carries the generation") {
  CHECK(sticky_user_data(5) == Bytes{0, 0, 0, 5});
  CHECK(generation_from_sticky_user_data(sticky_user_data(-1)) == -1);
  CHECK(generation_from_sticky_user_data(Bytes{1, 2}) == std::nullopt);
  CHECK(generation_from_sticky_user_data(std::nullopt) == std::nullopt);
}

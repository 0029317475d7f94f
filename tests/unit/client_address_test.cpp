// Broker addresses and start offsets as the client parses them.
#include <doctest/doctest.h>

#include "core/client/address.h"
#include "core/client/consumer.h"

using namespace kfk::client;

TEST_CASE("client address: host, port and IPv6 forms") {
  std::string error;
  auto a = parse_address("localhost", error);
  REQUIRE(a);
  CHECK(a->host == "localhost");
  CHECK(a->port == 9092);
  CHECK(a->to_string() == "localhost:9092");

  a = parse_address(" 10.0.0.1:19092 ", error);
  REQUIRE(a);
  CHECK(a->host == "10.0.0.1");
  CHECK(a->port == 19092);

  a = parse_address("[::1]:9093", error);
  REQUIRE(a);
  CHECK(a->host == "::1");
  CHECK(a->port == 9093);
  CHECK(a->to_string() == "[::1]:9093");

  a = parse_address("[fe80::1]", error);
  REQUIRE(a);
  CHECK(a->port == 9092);
}

TEST_CASE("client address: bad entries are errors naming the entry") {
  std::string error;
  for (const char* bad : {"", "host:", "host:0", "host:65536", "host:abc", ":9092", "::1:9092",
                          "[::1", "[]:9092", "[::1]9092", "[::1]:"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(parse_address(bad, error));
    CHECK_FALSE(error.empty());
  }
  CHECK_FALSE(parse_address_list("a:1,,b:2", error));
}

TEST_CASE("client address: lists keep their order") {
  std::string error;
  const auto list = parse_address_list("a:1, b ,[::1]:3", error);
  REQUIRE(list);
  REQUIRE(list->size() == 3);
  CHECK((*list)[0] == BrokerAddress{"a", 1});
  CHECK((*list)[1] == BrokerAddress{"b", 9092});
  CHECK((*list)[2] == BrokerAddress{"::1", 3});
}

TEST_CASE("client consumer: start offsets") {
  using Kind = StartOffset::Kind;
  CHECK(parse_start_offset("earliest")->kind == Kind::earliest);
  CHECK(parse_start_offset("beginning")->kind == Kind::earliest);
  CHECK(parse_start_offset("latest")->kind == Kind::latest);
  CHECK(parse_start_offset("end")->kind == Kind::latest);
  auto at = parse_start_offset("42");
  REQUIRE(at);
  CHECK(at->kind == Kind::exact);
  CHECK(at->value == 42);
  auto back = parse_start_offset("-10");
  REQUIRE(back);
  CHECK(back->kind == Kind::from_end);
  CHECK(back->value == 10);
  for (const char* bad : {"", "-", "x", "1x", "--1", "99999999999999999999", "first"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_start_offset(bad));
  }
}

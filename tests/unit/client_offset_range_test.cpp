// The --offset ranges of `kfk consume`: START[:END] with offsets and times.
#include <doctest/doctest.h>

#include "core/client/consumer.h"

using namespace kfk::client;

namespace {
constexpr int64_t kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
}

TEST_CASE("client consumer: start offsets after the log start") {
  auto plus = parse_start_offset("+5");
  REQUIRE(plus);
  CHECK(plus->kind == StartOffset::Kind::from_start);
  CHECK(plus->value == 5);
  CHECK(parse_start_offset("start")->kind == StartOffset::Kind::earliest);
  CHECK_FALSE(parse_start_offset("+"));
  CHECK_FALSE(parse_start_offset("+-1"));
}

TEST_CASE("client consumer: time points") {
  CHECK(parse_time_point("1700000000123", kNow) == 1'700'000'000'123);
  CHECK(parse_time_point("2023-11-14T22:13:20Z", kNow) == kNow);
  CHECK(parse_time_point("2023-11-14T22:13:20.5Z", kNow) == kNow + 500);
  CHECK(parse_time_point("2023-11-15T00:13:20+02:00", kNow) == kNow);
  CHECK(parse_time_point("-10m", kNow) == kNow - 600'000);
  CHECK(parse_time_point("-48h", kNow) == kNow - 48 * 3'600'000LL);
  CHECK(parse_time_point("-1h30m", kNow) == kNow - 5'400'000);
  CHECK(parse_time_point("-500ms", kNow) == kNow - 500);
  CHECK(parse_time_point("-2d", kNow) == kNow - 2 * 86'400'000LL);
  CHECK(parse_time_point("now", kNow) == kNow);
  for (const char* bad : {"", "-", "-10", "-10x", "yesterday", "2023-13-01", "-m"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time_point(bad, kNow));
  }
}

TEST_CASE("client consumer: offset ranges") {
  using SK = StartOffset::Kind;
  using EK = EndOffset::Kind;
  auto r = parse_offset_range(":end", kNow);
  REQUIRE(r);
  CHECK(r->start.kind == SK::earliest);
  CHECK(r->end.kind == EK::end);

  r = parse_offset_range("-10", kNow);
  REQUIRE(r);
  CHECK(r->start.kind == SK::from_end);
  CHECK(r->end.kind == EK::none);

  r = parse_offset_range("5:20", kNow);
  REQUIRE(r);
  CHECK(r->start.kind == SK::exact);
  CHECK(r->start.value == 5);
  CHECK(r->end.kind == EK::exact);
  CHECK(r->end.value == 20);

  r = parse_offset_range("+3:end", kNow);
  REQUIRE(r);
  CHECK(r->start.kind == SK::from_start);
  CHECK(r->end.kind == EK::end);

  r = parse_offset_range("@-10m", kNow);
  REQUIRE(r);
  CHECK(r->start.kind == SK::time);
  CHECK(r->start.value == kNow - 600'000);
  CHECK(r->end.kind == EK::none);

  r = parse_offset_range("@-48h:-24h", kNow);
  REQUIRE(r);
  CHECK(r->start.value == kNow - 48 * 3'600'000LL);
  CHECK(r->end.kind == EK::time);
  CHECK(r->end.value == kNow - 24 * 3'600'000LL);

  r = parse_offset_range("@2023-11-14T22:13:20Z:2023-11-14T22:13:21Z", kNow);
  REQUIRE(r);
  CHECK(r->start.value == kNow);
  CHECK(r->end.value == kNow + 1000);

  r = parse_offset_range("@2023-11-14T22:13:20Z", kNow);
  REQUIRE(r);
  CHECK(r->start.value == kNow);
  CHECK(r->end.kind == EK::none);

  r = parse_offset_range("@:1700000001000", kNow);
  REQUIRE(r);
  CHECK(r->start.kind == SK::earliest);
  CHECK(r->end.value == kNow + 1000);

  r = parse_offset_range("earliest:@-1h", kNow);
  REQUIRE(r);
  CHECK(r->end.kind == EK::time);
  CHECK(r->end.value == kNow - 3'600'000);

  for (const char* bad : {"", "x", "5:x", "@", "@x", "@-10m:x", ":-5", "5:end:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_offset_range(bad, kNow));
  }
}

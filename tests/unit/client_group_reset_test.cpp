// Planning group offset resets (kfk group reset-offsets) and parsing what the command takes:
// date-times, durations, topic selections and reset plan files.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "core/client/offset_reset.h"
#include "core/config/client_config.h"

using namespace kfk::client;

namespace {

const TopicPartition kTp{"t", 0};

std::optional<int64_t> plan(const ResetSpec& spec, PartitionOffsets o) {
  std::string error;
  return plan_reset(spec, kTp, o, error);
}

ResetSpec spec(ResetSpec::Kind kind, int64_t value = 0) {
  ResetSpec s;
  s.kind = kind;
  s.value = value;
  return s;
}

}  // namespace

TEST_CASE("offset reset: earliest, latest and exact offsets kept within the log") {
  const PartitionOffsets o{.committed = 50, .log_start = 10, .log_end = 100, .for_time = -1};
  CHECK(plan(spec(ResetSpec::Kind::earliest), o) == 10);
  CHECK(plan(spec(ResetSpec::Kind::latest), o) == 100);
  CHECK(plan(spec(ResetSpec::Kind::offset, 42), o) == 42);
  CHECK(plan(spec(ResetSpec::Kind::offset, 5), o) == 10);     // below the log start
  CHECK(plan(spec(ResetSpec::Kind::offset, 500), o) == 100);  // past the log end
  CHECK(plan(spec(ResetSpec::Kind::offset, 100), o) == 100);
}

TEST_CASE("offset reset: shift-by moves from the committed offset") {
  const PartitionOffsets o{.committed = 50, .log_start = 10, .log_end = 100, .for_time = -1};
  CHECK(plan(spec(ResetSpec::Kind::shift_by, 5), o) == 55);
  CHECK(plan(spec(ResetSpec::Kind::shift_by, -20), o) == 30);
  CHECK(plan(spec(ResetSpec::Kind::shift_by, -100), o) == 10);
  CHECK(plan(spec(ResetSpec::Kind::shift_by, 100), o) == 100);
  std::string error;
  const PartitionOffsets none{.committed = -1, .log_start = 0, .log_end = 9, .for_time = -1};
  CHECK_FALSE(plan_reset(spec(ResetSpec::Kind::shift_by, 1), kTp, none, error).has_value());
  CHECK(error.find("no committed offset") != std::string::npos);
  CHECK(error.find("t-0") != std::string::npos);
}

TEST_CASE("offset reset: by time, falling back to the log end") {
  const auto at = spec(ResetSpec::Kind::datetime, 1'700'000'000'000);
  CHECK(needs_time_lookup(at));
  CHECK(reset_timestamp(at, 0) == 1'700'000'000'000);
  const auto ago = spec(ResetSpec::Kind::duration, 3'600'000);
  CHECK(needs_time_lookup(ago));
  CHECK(reset_timestamp(ago, 10'000'000) == 6'400'000);
  CHECK_FALSE(needs_time_lookup(spec(ResetSpec::Kind::latest)));
  CHECK(plan(at, {.committed = -1, .log_start = 0, .log_end = 90, .for_time = 17}) == 17);
  CHECK(plan(at, {.committed = -1, .log_start = 0, .log_end = 90, .for_time = -1}) == 90);
  CHECK(plan(ago, {.committed = 3, .log_start = 0, .log_end = 90, .for_time = -1}) == 90);
}

TEST_CASE("offset reset: from a file, clamped, partitions missing from it refused") {
  ResetSpec s = spec(ResetSpec::Kind::from_file);
  s.file_offsets[kTp] = 7;
  s.file_offsets[TopicPartition{"t", 1}] = 1000;
  CHECK(plan(s, {.committed = 1, .log_start = 0, .log_end = 20, .for_time = -1}) == 7);
  std::string error;
  const PartitionOffsets o{.committed = 1, .log_start = 0, .log_end = 20, .for_time = -1};
  CHECK(plan_reset(s, TopicPartition{"t", 1}, o, error) == 20);
  CHECK_FALSE(plan_reset(s, TopicPartition{"t", 2}, o, error).has_value());
  CHECK(error.find("t-2") != std::string::npos);
}

TEST_CASE("offset reset: reset plan files") {
  std::string error;
  const auto plan = parse_reset_csv("t,0,5\n# comment\n\n t , 1 , 7 \nother,3,0\n", "g", error);
  REQUIRE(plan.has_value());
  CHECK(plan->size() == 3);
  CHECK(plan->at(TopicPartition{"t", 0}) == 5);
  CHECK(plan->at(TopicPartition{"t", 1}) == 7);
  CHECK(plan->at(TopicPartition{"other", 3}) == 0);
  // Kafka's tool exports group,topic,partition,offset: lines of other groups are skipped.
  const auto with_groups = parse_reset_csv("g,t,0,5\nh,t,0,9\n", "g", error);
  REQUIRE(with_groups.has_value());
  CHECK(with_groups->size() == 1);
  CHECK(with_groups->at(TopicPartition{"t", 0}) == 5);
  CHECK_FALSE(parse_reset_csv("t,0\n", "g", error).has_value());
  CHECK(error.find("line 1") != std::string::npos);
  CHECK_FALSE(parse_reset_csv("t,0,5\nt,x,5\n", "g", error).has_value());
  CHECK(error.find("line 2") != std::string::npos);
  CHECK_FALSE(parse_reset_csv("t,0,-5\n", "g", error).has_value());
  CHECK_FALSE(parse_reset_csv(",0,5\n", "g", error).has_value());
}

TEST_CASE("offset reset: topic selections") {
  const auto all = parse_topic_selection("orders");
  REQUIRE(all.has_value());
  CHECK(all->topic == "orders");
  CHECK(all->partitions.empty());
  const auto some = parse_topic_selection("orders:2,0,2");
  REQUIRE(some.has_value());
  CHECK(some->topic == "orders");
  CHECK(some->partitions == std::vector<int32_t>{0, 2});
  CHECK_FALSE(parse_topic_selection("").has_value());
  CHECK_FALSE(parse_topic_selection(":1").has_value());
  CHECK_FALSE(parse_topic_selection("orders:").has_value());
  CHECK_FALSE(parse_topic_selection("orders:1,x").has_value());
  CHECK_FALSE(parse_topic_selection("orders:-1").has_value());
}

TEST_CASE("offset reset: ISO-8601 date-times") {
  // 2024-05-01T12:00:00Z is 1714564800 s after the epoch.
  CHECK(parse_iso_datetime_ms("2024-05-01T12:00:00Z") == 1'714'564'800'000);
  CHECK(parse_iso_datetime_ms("2024-05-01T12:00:00.250Z") == 1'714'564'800'250);
  CHECK(parse_iso_datetime_ms("2024-05-01T12:00:00.5Z") == 1'714'564'800'500);
  CHECK(parse_iso_datetime_ms("2024-05-01T14:00:00+02:00") == 1'714'564'800'000);
  CHECK(parse_iso_datetime_ms("2024-05-01T06:30:00-0530") == 1'714'564'800'000);
  CHECK(parse_iso_datetime_ms("2024-05-01T13:00+01") == 1'714'564'800'000);
  CHECK(parse_iso_datetime_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso_datetime_ms("2000-02-29T00:00:00Z") == 951'782'400'000);
  CHECK(parse_iso_datetime_ms("1969-12-31T23:59:59Z") == -1000);
  for (const char* bad : {"", "2024", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-05-01T24:00:00Z", "2024-05-01T12:00:00Q", "2024-05-01T12",
                          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+25:00", "yesterday"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_iso_datetime_ms(bad).has_value());
  }
}

TEST_CASE("offset reset: date-times without a zone are local time") {
  const char* old = std::getenv("TZ");
  const std::string saved = old != nullptr ? old : "";
  setenv("TZ", "UTC", 1);
  tzset();
  CHECK(parse_iso_datetime_ms("2024-05-01T12:00:00") == 1'714'564'800'000);
  CHECK(parse_iso_datetime_ms("2024-05-01") == 1'714'521'600'000);
  setenv("TZ", "UTC-2", 1);  // POSIX: two hours east of UTC
  tzset();
  CHECK(parse_iso_datetime_ms("2024-05-01T14:00:00.125") == 1'714'564'800'125);
  if (old != nullptr) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST_CASE("offset reset: --by-duration takes ISO-8601 durations PnDTnHnMnS") {
  using kfk::config::parse_iso_duration_ms;
  CHECK(parse_iso_duration_ms("PT1H") == 3'600'000);
  CHECK(parse_iso_duration_ms("P1DT2H3M4S") == 86'400'000 + 7'200'000 + 180'000 + 4'000);
  CHECK(parse_iso_duration_ms("PT0.5S") == 500);
  CHECK(parse_iso_duration_ms("P0D") == 0);
  CHECK_FALSE(parse_iso_duration_ms("1H").has_value());
  CHECK_FALSE(parse_iso_duration_ms("PT").has_value());
  CHECK_FALSE(parse_iso_duration_ms("P1H").has_value());  // hours need the T
}

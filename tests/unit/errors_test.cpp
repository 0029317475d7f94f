#include "core/protocol/errors.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace kfk::protocol;

namespace {

void check_code(int16_t code, std::string_view name, bool retriable) {
  CAPTURE(code);
  const ErrorInfo* e = find_error(code);
  REQUIRE(e != nullptr);
  CHECK(e->value() == code);
  CHECK(e->name == name);
  CHECK(e->retriable == retriable);
  CHECK(error_name(code) == name);
  CHECK(is_retriable(code) == retriable);
}

}  // namespace

TEST_CASE("errors: well-known codes keep Kafka's numbers, names and retriability") {
  check_code(-1, "UNKNOWN_SERVER_ERROR", false);
  check_code(0, "NONE", false);
  check_code(1, "OFFSET_OUT_OF_RANGE", false);
  check_code(2, "CORRUPT_MESSAGE", true);
  check_code(3, "UNKNOWN_TOPIC_OR_PARTITION", true);
  check_code(6, "NOT_LEADER_OR_FOLLOWER", true);
  check_code(7, "REQUEST_TIMED_OUT", true);
  check_code(10, "MESSAGE_TOO_LARGE", false);
  check_code(15, "COORDINATOR_NOT_AVAILABLE", true);
  check_code(16, "NOT_COORDINATOR", true);
  check_code(27, "REBALANCE_IN_PROGRESS", false);
  check_code(35, "UNSUPPORTED_VERSION", false);
  check_code(36, "TOPIC_ALREADY_EXISTS", false);
  check_code(41, "NOT_CONTROLLER", true);
  check_code(45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false);
  check_code(51, "CONCURRENT_TRANSACTIONS", true);
  check_code(56, "KAFKA_STORAGE_ERROR", true);
  check_code(59, "UNKNOWN_PRODUCER_ID", false);
  check_code(87, "INVALID_RECORD", false);
  check_code(90, "PRODUCER_FENCED", false);
  check_code(100, "UNKNOWN_TOPIC_ID", true);
  check_code(120, "TRANSACTION_ABORTABLE", false);
  check_code(129, "REBOOTSTRAP_REQUIRED", false);
  check_code(133, "SHARE_SESSION_LIMIT_REACHED", true);
}

TEST_CASE("errors: the enum matches the table") {
  CHECK(to_int(ErrorCode::none) == 0);
  CHECK(to_int(ErrorCode::unknown_server_error) == -1);
  CHECK(to_int(ErrorCode::topic_already_exists) == 36);
  CHECK(find_error(ErrorCode::invalid_record)->name == "INVALID_RECORD");
  CHECK(find_error(ErrorCode::unknown_producer_id)->value() == 59);
  for (const ErrorInfo& e : all_errors()) {
    CHECK(find_error(e.code) == &e);
  }
}

TEST_CASE("errors: the table is complete, sorted and unique") {
  const auto table = all_errors();
  REQUIRE(table.size() == 135);  // -1, then 0 through 133 without gaps
  CHECK(table.front().value() == -1);
  CHECK(table.back().value() == 133);

  std::set<int16_t> codes;
  std::set<std::string_view> names;
  for (size_t i = 0; i < table.size(); ++i) {
    const ErrorInfo& e = table[i];
    CAPTURE(e.name);
    if (i > 0) CHECK(table[i - 1].value() < e.value());
    CHECK(codes.insert(e.value()).second);
    CHECK(names.insert(e.name).second);
    CHECK(!e.name.empty());
    CHECK(!e.message.empty());
    CHECK(!error_hint(e.value()).empty());
  }
  for (int16_t code = -1; code <= 133; ++code) CHECK(codes.count(code) == 1);
}

TEST_CASE("errors: name lookups round-trip") {
  for (const ErrorInfo& e : all_errors()) {
    CAPTURE(e.name);
    CHECK(find_error_by_name(e.name) == &e);
    CHECK(find_error(e.value()) == &e);
  }
  CHECK(find_error_by_name("topic_already_exists")->value() == 36);
  CHECK(find_error_by_name("Unknown_Topic_Or_Partition")->value() == 3);
  CHECK(find_error_by_name("NO_SUCH_ERROR") == nullptr);
  CHECK(find_error_by_name("") == nullptr);
}

TEST_CASE("errors: unknown codes get documented fallbacks") {
  for (int16_t code : {int16_t{-2}, int16_t{134}, int16_t{999}, int16_t{32767}, int16_t{-32768}}) {
    CAPTURE(code);
    CHECK(find_error(code) == nullptr);
    CHECK(error_name(code) == "UNKNOWN_ERROR_CODE");
    CHECK_FALSE(is_retriable(code));
    CHECK(!error_message(code).empty());
    CHECK(!error_hint(code).empty());
  }
  CHECK(describe_error(999).find("UNKNOWN_ERROR_CODE (999)") == 0);
}

TEST_CASE("errors: messages and hints") {
  CHECK(describe_error(36).find("TOPIC_ALREADY_EXISTS (36): ") == 0);
  CHECK(error_message(36) == find_error(36)->message);
  // Common errors carry their own hint; the rest fall back by retriability.
  for (auto code :
       {ErrorCode::unknown_topic_or_partition, ErrorCode::topic_already_exists,
        ErrorCode::invalid_partitions, ErrorCode::invalid_replication_factor,
        ErrorCode::invalid_config, ErrorCode::not_coordinator, ErrorCode::coordinator_not_available,
        ErrorCode::rebalance_in_progress, ErrorCode::unsupported_version,
        ErrorCode::message_too_large, ErrorCode::corrupt_message}) {
    CAPTURE(to_int(code));
    CHECK(!find_error(code)->hint.empty());
    CHECK(error_hint(to_int(code)) == find_error(code)->hint);
  }
  CHECK(find_error(ErrorCode::fetch_session_id_not_found)->hint.empty());
  CHECK(error_hint(70) != error_hint(62));  // retriable and non-retriable fallbacks differ
}

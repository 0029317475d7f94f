#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config/broker_config.h"
#include "core/config/toml_settings.h"

using namespace kfk::config;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

BrokerConfig load_ok(std::string_view toml, const std::vector<std::string>& overrides = {}) {
  auto r = load_broker_config_from_string(toml, overrides, "kfk.toml");
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  return std::move(r).value();
}

std::string load_error(std::string_view toml, const std::vector<std::string>& overrides = {}) {
  auto r = load_broker_config_from_string(toml, overrides, "kfk.toml");
  REQUIRE(!r.ok());
  return r.error_text();
}

}  // namespace

TEST_CASE("config: TOML quoted dotted keys, dotted keys and tables name the same settings") {
  const BrokerConfig c = load_ok(R"(
"node.id" = 3
"num.partitions" = "4"
auto.create.topics.enable = false
socket.request.max.bytes = 1000000

[log]
dirs = ["/data/a", "/data/b"]
"segment.bytes" = 2097152
retention.hours = 12

[log.cleaner]
enable = "FALSE"
min.cleanable.ratio = 0.75
)");
  CHECK(c.node_id == 3);
  CHECK(c.num_partitions == 4);
  CHECK(c.log_retention_ms() == 12LL * 3600 * 1000);
  CHECK(!c.auto_create_topics_enable);
  CHECK(c.log_dirs == std::vector<std::string>{"/data/a", "/data/b"});
  CHECK(c.log_defaults.segment_bytes == 2097152);
  CHECK(!c.log_cleaner_enable);
  CHECK(c.log_defaults.min_cleanable_dirty_ratio == 0.75);
  CHECK(c.socket_request_max_bytes == 1000000);
  CHECK(c.values.is_set("log.dirs"));
  CHECK(c.values.originals().at("log.dirs") == "/data/a,/data/b");
}

TEST_CASE("config: TOML lists accept arrays or comma-separated strings") {
  CHECK(load_ok(R"("log.dirs" = "/a, /b")").log_dirs == std::vector<std::string>{"/a", "/b"});
  CHECK(load_ok(R"(listeners = ["PLAINTEXT://:9092", "SSL://[::1]:9093"])").listeners.size() == 2);
  CHECK(load_ok(R"("process.roles" = ["broker"])").process_roles ==
        std::vector<ProcessRole>{ProcessRole::broker});
  CHECK(contains(load_error(R"("process.roles" = [])"), "must not be empty"));
  // A real array element may hold a comma; it stays one entry (and is then checked).
  CHECK(contains(load_error(R"("log.cleanup.policy" = ["compact,delete"])"),
                 "'compact,delete' is not an accepted value"));
}

TEST_CASE("config: TOML values of the wrong type are refused with their position") {
  CHECK(load_error("\"num.partitions\" = true\n") ==
        "kfk.toml:1:20: invalid value true for configuration num.partitions: not an integer; "
        "accepted: [1,...]");
  CHECK(contains(load_error("auto.create.topics.enable = 1\n"),
                 "kfk.toml:1:29: invalid value 1 for configuration auto.create.topics.enable: "
                 "not a boolean"));
  CHECK(contains(load_error("num.partitions = 1.5\n"), "not an integer"));
  CHECK(contains(load_error("num.partitions = [1, 2]\n"), "a list is not accepted here"));
  CHECK(contains(load_error("\"log.dirs\" = [[\"a\"]]\n"), "an array is not accepted in a list"));
  CHECK(contains(load_error("\"log.dirs\" = 1979-05-27\n"), "a date is not accepted as a value"));
  CHECK(contains(load_error("[[log]]\ndirs = \"x\"\n"), "arrays of tables are not supported"));
  CHECK(contains(load_error("\"message.max.bytes\" = 99999999999\n"),
                 "out of range for a 32-bit integer"));
}

TEST_CASE("config: TOML syntax errors give line and column") {
  const std::string e = load_error("node.id = 1\nlog.dirs = [\"a\"\nnum.partitions = 2\n");
  CHECK(e.starts_with("kfk.toml:"));
  CHECK(contains(e, "TOML syntax error"));
  CHECK(contains(load_error("a = \n"), "kfk.toml:1:"));
  const std::string dup = load_error("num.partitions = 1\nnum.partitions = 2\n");
  CHECK(contains(dup, "kfk.toml:2:"));
}

TEST_CASE("config: a setting spelled twice in one file is an error") {
  const std::string e = load_error("\"log.dirs\" = \"/a\"\n[log]\ndirs = \"/b\"\n");
  CHECK(contains(e, "kfk.toml:3:8: log.dirs is set twice in the file (first at kfk.toml:1:14)"));
}

TEST_CASE("config: unknown TOML keys are errors with a suggestion") {
  const std::string e = load_error("[log]\nretention.hour = 1\n");
  CHECK(e ==
        "kfk.toml:2:18: unknown configuration log.retention.hour (did you mean "
        "log.retention.hours?)");
}

TEST_CASE("config: --set overrides win over the file") {
  const std::string file = "\"num.partitions\" = 4\n\"log.retention.hours\" = 1\n";
  const BrokerConfig c = load_ok(file, {"num.partitions=8", "log.retention.ms = 500"});
  CHECK(c.num_partitions == 8);
  CHECK(c.log_retention_ms() == 500);
  // The last override of a name wins.
  CHECK(load_ok("", {"num.partitions=2", "num.partitions=3"}).num_partitions == 3);
  // An overridden bad value in the file does not matter.
  CHECK(load_ok("\"num.partitions\" = 0\n", {"num.partitions=5"}).num_partitions == 5);
  // Overrides are checked like the file.
  CHECK(load_error("", {"num.partition=2"}) ==
        "--set: unknown configuration num.partition (did you mean num.partitions?)");
  CHECK(load_error("", {"novalue"}) == "--set: expected key=value, got 'novalue'");
  CHECK(contains(load_error("", {"num.partitions=x"}), "--set: invalid value x"));
  // File errors and override errors are all reported.
  auto r = load_broker_config_from_string("a = [", {"oops"}, "f.toml");
  REQUIRE(!r.ok());
  CHECK(r.errors().size() == 2);
}

TEST_CASE("config: loading from a file path") {
  const auto path = std::filesystem::temp_directory_path() / "kfk_config_toml_test.toml";
  {
    std::ofstream out(path);
    out << "[log]\ndirs = [\"/tmp/kfk-a\"]\n";
  }
  auto r = load_broker_config(path.string(), {"node.id=9"});
  std::filesystem::remove(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().log_dirs == std::vector<std::string>{"/tmp/kfk-a"});
  CHECK(r.value().node_id == 9);

  auto missing = load_broker_config(std::string("/nonexistent/kfk.toml"), {});
  REQUIRE(!missing.ok());
  CHECK(contains(missing.error_text(), "cannot read config file /nonexistent/kfk.toml"));

  auto none = load_broker_config(std::nullopt, {});
  REQUIRE(none.ok());
  CHECK(none.value().num_partitions == 1);
}

TEST_CASE("config: TOML settings keep their origins") {
  auto r = read_toml_settings("a = 1\n[b]\nc = \"x\"\nd = [true, 2, 1.5]\n", "t.toml");
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  const auto& s = r.value();
  REQUIRE(s.size() == 3);
  CHECK(s[0].name == "a");
  CHECK(s[0].value == "1");
  CHECK(s[0].origin == "t.toml:1:5");
  CHECK(s[1].name == "b.c");
  CHECK(s[1].value == "x");
  CHECK(s[2].name == "b.d");
  REQUIRE(s[2].list);
  CHECK(*s[2].list == std::vector<std::string>{"true", "2", "1.5"});
}

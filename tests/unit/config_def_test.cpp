#include "core/config/config_def.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "core/config/broker_config.h"
#include "core/config/client_config.h"
#include "core/config/topic_config.h"

using namespace kfk::config;

namespace {

// A small definition with one key of each kind.
const ConfigDef& sample_def() {
  static const ConfigDef def = [] {
    ConfigDef d;
    d.define("flag", ConfigType::boolean, "false", no_validator(), Importance::high, "a flag");
    d.define("count", ConfigType::int32, "1", at_least(1), Importance::high, "a count");
    d.define("small", ConfigType::int16, "0", no_validator(), Importance::low, "a short");
    d.define("big", ConfigType::int64, kNullDefault, no_validator(), Importance::low, "a long");
    d.define("ratio", ConfigType::float64, "0.5", between(0, 1), Importance::low, "a ratio");
    d.define("mode", ConfigType::string, "fast", one_of({"fast", "Slow"}), Importance::low, "m");
    d.define("proto", ConfigType::string, "PLAIN", one_of({"PLAIN", "TLS"}, CaseRule::insensitive),
             Importance::low, "p");
    d.define("policies", ConfigType::list, "a", list_of({"a", "b"}), Importance::low, "l");
    d.define("names", ConfigType::list, "", no_validator(), Importance::low, "n");
    d.define("label", ConfigType::string, kNullDefault, non_empty(), Importance::low, "s");
    d.define("even", ConfigType::int32, "0",
             custom("an even number",
                    [](const ConfigValue& v) -> std::string {
                      return v.as_int() % 2 == 0 ? "" : "must be even";
                    }),
             Importance::low, "e");
    d.define("needed", ConfigType::string, kRequired, no_validator(), Importance::high, "r");
    return d;
  }();
  return def;
}

ConfigValue parse_ok(std::string_view name, std::string_view text) {
  const ConfigKey* key = sample_def().find(name);
  REQUIRE(key != nullptr);
  auto r = sample_def().parse_value(*key, text);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  return r.value();
}

std::string parse_error(std::string_view name, std::string_view text) {
  const ConfigKey* key = sample_def().find(name);
  REQUIRE(key != nullptr);
  auto r = sample_def().parse_value(*key, text);
  REQUIRE(!r.ok());
  return r.error_text();
}

}  // namespace

TEST_CASE("config: every built-in definition has valid defaults") {
  CHECK(sample_def().definition_errors().empty());
  CHECK(broker_config_def().definition_errors().empty());
  CHECK(topic_config_def().definition_errors().empty());
  CHECK(client_config_def().definition_errors().empty());
  for (const ConfigDef* def : {&broker_config_def(), &topic_config_def(), &client_config_def()}) {
    for (const ConfigKey& k : def->keys()) {
      CAPTURE(k.name);
      CHECK(!k.doc.empty());
      CHECK(k.type != ConfigType::unknown);
    }
  }
}

TEST_CASE("config: type and source enums keep DescribeConfigs numbers") {
  CHECK(static_cast<int>(ConfigType::boolean) == 1);
  CHECK(static_cast<int>(ConfigType::string) == 2);
  CHECK(static_cast<int>(ConfigType::int32) == 3);
  CHECK(static_cast<int>(ConfigType::int16) == 4);
  CHECK(static_cast<int>(ConfigType::int64) == 5);
  CHECK(static_cast<int>(ConfigType::float64) == 6);
  CHECK(static_cast<int>(ConfigType::list) == 7);
  CHECK(static_cast<int>(ConfigType::class_name) == 8);
  CHECK(static_cast<int>(ConfigType::password) == 9);
  CHECK(to_string(ConfigType::int32) == "INT");
  CHECK(to_string(ConfigType::int64) == "LONG");
  CHECK(static_cast<int>(ConfigSource::unknown) == 0);
  CHECK(static_cast<int>(ConfigSource::dynamic_topic_config) == 1);
  CHECK(static_cast<int>(ConfigSource::dynamic_broker_config) == 2);
  CHECK(static_cast<int>(ConfigSource::dynamic_default_broker_config) == 3);
  CHECK(static_cast<int>(ConfigSource::static_broker_config) == 4);
  CHECK(static_cast<int>(ConfigSource::default_config) == 5);
  CHECK(static_cast<int>(ConfigSource::dynamic_broker_logger_config) == 6);
  CHECK(static_cast<int>(ConfigSource::client_metrics_config) == 7);
  CHECK(static_cast<int>(ConfigSource::group_config) == 8);
  CHECK(to_string(ConfigSource::static_broker_config) == "STATIC_BROKER_CONFIG");
  CHECK(to_string(UpdateMode::cluster_wide) == "cluster-wide");
}

TEST_CASE("config: booleans are true/false in any case, trimmed") {
  CHECK(parse_ok("flag", "true").as_bool());
  CHECK(parse_ok("flag", "TRUE").as_bool());
  CHECK(parse_ok("flag", " True ").as_bool());
  CHECK(!parse_ok("flag", "false").as_bool());
  CHECK(!parse_ok("flag", "FaLsE").as_bool());
  CHECK(parse_error("flag", "yes") ==
        "invalid value yes for configuration flag: not a boolean; accepted: true or false");
  parse_error("flag", "1");
  parse_error("flag", "");
}

TEST_CASE("config: integers take an optional sign and stay within their type") {
  CHECK(parse_ok("count", "42").as_int() == 42);
  CHECK(parse_ok("count", "+7").as_int() == 7);
  CHECK(parse_ok("count", " 2147483647 ").as_int() == 2147483647);
  CHECK(parse_error("count", "2147483648").find("out of range for a 32-bit integer") !=
        std::string::npos);
  CHECK(parse_ok("small", "-32768").as_int() == -32768);
  parse_error("small", "32768");
  CHECK(parse_ok("big", "9223372036854775807").as_int() == std::numeric_limits<int64_t>::max());
  CHECK(parse_ok("big", "-9223372036854775808").as_int() == std::numeric_limits<int64_t>::min());
  parse_error("big", "9223372036854775808");
  for (const char* bad : {"", "abc", "1.5", "1e3", "0x10", "+", "-", "+-1", "--1", "1 2", "12a"}) {
    CAPTURE(bad);
    CHECK(parse_error("big", bad).find("not an integer") != std::string::npos);
  }
}

TEST_CASE("config: ranges report Kafka's notation") {
  CHECK(parse_error("count", "0") ==
        "invalid value 0 for configuration count: must be at least 1; accepted: [1,...]");
  CHECK(parse_ok("ratio", "0").as_double() == 0.0);
  CHECK(parse_ok("ratio", "1").as_double() == 1.0);
  CHECK(parse_ok("ratio", ".25").as_double() == 0.25);
  CHECK(parse_error("ratio", "1.5") ==
        "invalid value 1.5 for configuration ratio: must be between 0 and 1; accepted: "
        "[0,...,1]");
  CHECK(parse_error("ratio", "nan").find("not a number") != std::string::npos);
  CHECK(parse_error("ratio", "inf").find("not a number") != std::string::npos);
  parse_error("ratio", "-0.1");
  CHECK(at_most(5).describe() == "[...,5]");
  CHECK(at_most(5).validate(ConfigValue::integer(6)) == "must be at most 5");
  // Bounds compare exactly even at the ends of int64.
  CHECK(at_least(-1).validate(ConfigValue::integer(std::numeric_limits<int64_t>::max())).empty());
  CHECK(!at_least(-1).validate(ConfigValue::integer(std::numeric_limits<int64_t>::min())).empty());
}

TEST_CASE("config: one-of is case-sensitive unless declared otherwise") {
  CHECK(parse_ok("mode", "Slow").as_string() == "Slow");
  CHECK(parse_error("mode", "slow") ==
        "invalid value slow for configuration mode: not an accepted value (case matters: Slow); "
        "accepted: [fast, Slow]");
  CHECK(parse_error("mode", "medium") ==
        "invalid value medium for configuration mode: not an accepted value; accepted: "
        "[fast, Slow]");
  // Case-insensitive choices are stored in their declared spelling.
  CHECK(parse_ok("proto", "tls").as_string() == "TLS");
  CHECK(parse_ok("proto", "Plain").as_string() == "PLAIN");
  CHECK(parse_error("proto", "ssl").find("accepted: [PLAIN, TLS] (any case)") != std::string::npos);
}

TEST_CASE("config: lists split on commas and drop blanks around them") {
  CHECK(parse_ok("names", "").as_list().empty());
  CHECK(parse_ok("names", "   ").as_list().empty());
  CHECK(parse_ok("names", "x").as_list() == ConfigValue::List{"x"});
  CHECK(parse_ok("names", " x , y ,z ").as_list() == ConfigValue::List{"x", "y", "z"});
  CHECK(parse_ok("names", "x,,y").as_list() == ConfigValue::List{"x", "", "y"});
  CHECK(parse_ok("policies", "b,a").as_list() == ConfigValue::List{"b", "a"});
  CHECK(parse_ok("policies", "").as_list().empty());
  CHECK(parse_error("policies", "a,c") ==
        "invalid value a,c for configuration policies: 'c' is not an accepted value; accepted: "
        "[a, b]");
  CHECK(parse_error("policies", "a,").find("empty element") != std::string::npos);
  const ConfigKey* key = sample_def().find("policies");
  auto from_array = sample_def().parse_list(*key, {" a", "b "});
  REQUIRE(from_array.ok());
  CHECK(from_array.value().as_list() == ConfigValue::List{"a", "b"});
  auto not_a_list = sample_def().parse_list(*sample_def().find("count"), {"1", "2"});
  REQUIRE(!not_a_list.ok());
  CHECK(not_a_list.error_text().find("a list is not accepted here") != std::string::npos);
}

TEST_CASE("config: non-empty and custom validators") {
  CHECK(parse_ok("label", "x").as_string() == "x");
  CHECK(parse_error("label", " ") ==
        "invalid value \"\" for configuration label: must not be empty; accepted: a non-empty "
        "value");
  CHECK(parse_ok("even", "4").as_int() == 4);
  CHECK(parse_error("even", "3") ==
        "invalid value 3 for configuration even: must be even; accepted: an even number");
  // A null value skips validation.
  CHECK(non_empty().validate(ConfigValue()).empty());
}

TEST_CASE("config: parse collects every error and applies defaults") {
  std::vector<Setting> settings = {
      {"count", "0", std::nullopt, "file:1:1"},
      {"cuont", "3", std::nullopt, "file:2:1"},
      {"ratio", "2", std::nullopt, ""},
  };
  auto r = sample_def().parse(settings);
  REQUIRE(!r.ok());
  REQUIRE(r.errors().size() == 4);
  CHECK(r.errors()[0].starts_with("file:1:1: invalid value 0 for configuration count"));
  CHECK(r.errors()[1] == "file:2:1: unknown configuration cuont (did you mean count?)");
  CHECK(r.errors()[2].starts_with("invalid value 2 for configuration ratio"));
  CHECK(r.errors()[3] == "missing required configuration needed (it has no default)");

  auto ok = sample_def().parse(std::map<std::string, std::string>{{"needed", "x"}, {"big", "5"}});
  REQUIRE_MESSAGE(ok.ok(), ok.error_text());
  const Config& c = ok.value();
  CHECK(c.get_int("count") == 1);
  CHECK(c.get_double("ratio") == 0.5);
  CHECK(c.get_long("big") == 5);
  CHECK(c.get_optional_long("big") == 5);
  CHECK(c.get_string("mode") == "fast");
  CHECK(c.get_list("policies") == ConfigValue::List{"a"});
  CHECK(c.get("label").is_null());
  CHECK(!c.get_optional_string("label"));
  CHECK(c.is_set("needed"));
  CHECK(!c.is_set("count"));
  CHECK(c.get("no.such.key").is_null());
  CHECK(c.originals().at("big") == "5");
}

TEST_CASE("config: the last of repeated settings wins, earlier bad values are not checked") {
  std::vector<Setting> settings = {
      {"count", "oops", std::nullopt, "a"},
      {"needed", "x", std::nullopt, "a"},
      {"count", "9", std::nullopt, "b"},
  };
  auto r = sample_def().parse(settings);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().get_int("count") == 9);
}

TEST_CASE("config: unknown names get a suggestion when one is close") {
  const ConfigDef& b = broker_config_def();
  CHECK(b.suggest("log.dirz") == "log.dirs");
  CHECK(b.suggest("num.partitons") == "num.partitions");
  CHECK(b.suggest("LOG.DIRS") == "log.dirs");
  CHECK(b.suggest("retention.ms") == "log.retention.ms");  // a topic name given to the broker
  CHECK(!b.suggest("flux.capacitor"));
  CHECK(b.unknown_message("log.retention.hour") ==
        "unknown configuration log.retention.hour (did you mean log.retention.hours?)");
  CHECK(b.unknown_message("flux.capacitor") == "unknown configuration flux.capacitor");
  // Kafka's own names are known, even those kfk does not act on.
  CHECK(b.find("zookeeper.connect") != nullptr);
  CHECK(topic_config_def().suggest("log.retention.ms") == "retention.ms");
  CHECK(client_config_def().suggest("bootstrap.server") == "bootstrap.servers");
}

TEST_CASE("config: edit distance counts swaps as one edit") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "abc") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("acks", "akcs") == 1);
  CHECK(edit_distance("log.dirs", "log.dir") == 1);
}

TEST_CASE("config: values are formatted as Kafka reports them") {
  CHECK(format_value(ConfigValue(), ConfigType::string) == std::nullopt);
  CHECK(format_value(ConfigValue::boolean(true), ConfigType::boolean) == "true");
  CHECK(format_value(ConfigValue::integer(-1), ConfigType::int64) == "-1");
  CHECK(format_value(ConfigValue::list({"compact", "delete"}), ConfigType::list) ==
        "compact,delete");
  CHECK(format_value(ConfigValue::list({}), ConfigType::list) == "");
  CHECK(format_double(0.5) == "0.5");
  CHECK(format_double(0.9) == "0.9");
  CHECK(format_double(1.0) == "1.0");
  CHECK(format_double(100.0) == "100.0");
  CHECK(format_double(0.001) == "0.001");
  CHECK(format_double(1234567.5) == "1234567.5");
  CHECK(format_double(1e7) == "1.0E7");
  CHECK(format_double(0.0001) == "1.0E-4");
  CHECK(format_double(-2.5e-5) == "-2.5E-5");
  CHECK(format_double(std::numeric_limits<double>::max()) == "1.7976931348623157E308");
  CHECK(format_double(0.0) == "0.0");
}

TEST_CASE("config: key=value arguments") {
  auto kv = split_assignment(" a.b = c=d ");
  REQUIRE(kv.ok());
  CHECK(kv.value().first == "a.b");
  CHECK(kv.value().second == "c=d");
  auto empty_value = split_assignment("k=");
  REQUIRE(empty_value.ok());
  CHECK(empty_value.value().second.empty());
  CHECK(split_assignment("novalue").error_text() == "expected key=value, got 'novalue'");
  CHECK(!split_assignment("=v").ok());
}

// The data-driven configuration model shared by broker, topic and client settings.
//
// A ConfigDef is a table of ConfigKeys (Kafka name, type, default, validator, importance,
// description, dynamic update mode, broker synonyms). ConfigDef::parse turns textual settings
// into a Config, the typed values of every key, accepting exactly what Kafka accepts:
//
//   boolean  "true" / "false", any case
//   int/long/short  optional sign and decimal digits, within the type's range
//   double   a decimal number ("0.5", "1e3"); finite
//   string   any text
//   list     comma-separated, blanks around commas dropped; "" is the empty list
//
// Every value is trimmed first, as Kafka does. Errors read
//   "invalid value X for configuration Y: <why>; accepted: <values or range>"
//   "unknown configuration Y (did you mean Z?)"
// and are collected (all of them), never thrown.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config/result.h"

namespace kfk::config {

// Values are the type ids of DescribeConfigs v3+ (ConfigType in the response).
enum class ConfigType : int8_t {
  unknown = 0,
  boolean = 1,
  string = 2,
  int32 = 3,    // Kafka INT
  int16 = 4,    // Kafka SHORT
  int64 = 5,    // Kafka LONG
  float64 = 6,  // Kafka DOUBLE
  list = 7,
  class_name = 8,  // Kafka CLASS: parsed as a string
  password = 9,    // parsed as a string; sensitive (never reported)
};
// Kafka's upper-case name: "BOOLEAN", "INT", "LONG", ...
std::string_view to_string(ConfigType type);

// Where an effective value comes from. Values are DescribeConfigs' ConfigSource ids.
enum class ConfigSource : int8_t {
  unknown = 0,
  dynamic_topic_config = 1,
  dynamic_broker_config = 2,
  dynamic_default_broker_config = 3,
  static_broker_config = 4,
  default_config = 5,
  dynamic_broker_logger_config = 6,
  client_metrics_config = 7,
  group_config = 8,
};
// Kafka's name: "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG", ...
std::string_view to_string(ConfigSource source);

enum class Importance : uint8_t { high, medium, low };
std::string_view to_string(Importance importance);  // "high", "medium", "low"

// Kafka's "dynamic update mode" of a broker setting.
enum class UpdateMode : uint8_t {
  read_only,     // needs a restart
  per_broker,    // may be changed for one broker
  cluster_wide,  // may be changed for one broker or as a cluster-wide default
};
std::string_view to_string(UpdateMode mode);  // "read-only", "per-broker", "cluster-wide"

// A parsed value: null, or one of the typed alternatives. Integers of every width are int64.
class ConfigValue {
 public:
  using List = std::vector<std::string>;

  ConfigValue() = default;  // null
  static ConfigValue boolean(bool v) { return ConfigValue(Storage(v)); }
  static ConfigValue integer(int64_t v) { return ConfigValue(Storage(v)); }
  static ConfigValue number(double v) { return ConfigValue(Storage(v)); }
  static ConfigValue string(std::string v) { return ConfigValue(Storage(std::move(v))); }
  static ConfigValue list(List v) { return ConfigValue(Storage(std::move(v))); }

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_list() const { return std::holds_alternative<List>(v_); }

  // Of another alternative (or null) these return false, 0, 0.0, "" and {}.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // an integer converts
  const std::string& as_string() const;
  const List& as_list() const;

  bool operator==(const ConfigValue&) const = default;

 private:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string, List>;
  explicit ConfigValue(Storage v) : v_(std::move(v)) {}
  Storage v_;
};

// The text Kafka reports for a value (DescribeConfigs, docs): "true", "604800000", "0.5",
// "1.7976931348623157E308", "compact,delete". Null for a null value.
std::optional<std::string> format_value(const ConfigValue& value, ConfigType type);
// A double as Java's Double.toString prints it.
std::string format_double(double value);

enum class CaseRule : uint8_t { sensitive, insensitive };

// A check on a parsed (non-null) value. Build one with the functions below.
struct Validator {
  enum class Kind : uint8_t { none, range, one_of, list_of, non_empty, custom };

  Kind kind = Kind::none;
  std::optional<double> min, max;    // range: inclusive bounds (integers compare exactly)
  std::vector<std::string> choices;  // one_of, list_of
  CaseRule case_rule = CaseRule::sensitive;
  bool allow_empty = true;  // list_of: whether the empty list is accepted
  // custom: returns "" when the value is fine, otherwise why it is not.
  std::function<std::string(const ConfigValue&)> check;
  std::string accepted;  // custom: what is accepted, for messages and docs

  // "" when `value` passes, otherwise the reason ("must be at least 1").
  std::string validate(const ConfigValue& value) const;
  // What the validator accepts, as Kafka's docs write it: "[1,...]", "[0,...,1]",
  // "[delete, compact]". Empty for Kind::none.
  std::string describe() const;
  // one_of / list_of with CaseRule::insensitive: the spelling of the choice `text` matches.
  std::string canonical(std::string_view text) const;
};

Validator no_validator();
Validator at_least(double min);
Validator at_most(double max);
Validator between(double min, double max);
Validator one_of(std::vector<std::string> choices, CaseRule rule = CaseRule::sensitive);
// A list whose every element is one of `choices`.
Validator list_of(std::vector<std::string> choices, bool allow_empty = true,
                  CaseRule rule = CaseRule::sensitive);
// A string or list that is not empty.
Validator non_empty();
Validator custom(std::string accepted, std::function<std::string(const ConfigValue&)> check);

// A broker setting a topic setting falls back to; the broker value times `scale` is the
// topic value (log.retention.hours -> retention.ms has scale 3'600'000).
struct Synonym {
  std::string name;
  int64_t scale = 1;
};

struct ConfigKey {
  std::string name;
  ConfigType type = ConfigType::string;
  std::optional<std::string> default_text;  // nullopt: no default (null, or required)
  bool required = false;                    // no default at all: a value must be given
  Validator validator;
  Importance importance = Importance::medium;
  std::string doc;
  UpdateMode update_mode = UpdateMode::read_only;
  // Topic keys: the broker settings that supply the default, highest precedence first.
  // Broker keys: the group of names that set the same thing (log.retention.ms/minutes/hours),
  // highest precedence first; empty when the key stands alone.
  std::vector<Synonym> synonyms;
  ConfigValue default_value;  // default_text parsed by ConfigDef::define
  // A Kafka setting kfk accepts, stores and describes but does not act on
  // (kafka_compat_configs.h); `deprecated` when Kafka 3.x deprecated it.
  bool no_effect = false;
  bool deprecated = false;

  bool sensitive() const { return type == ConfigType::password; }
  bool read_only() const { return update_mode == UpdateMode::read_only; }

  // Fluent setters for definition tables.
  ConfigKey& dynamic(UpdateMode mode) {
    update_mode = mode;
    return *this;
  }
  ConfigKey& synonym(std::string broker_name, int64_t scale = 1) {
    synonyms.push_back({std::move(broker_name), scale});
    return *this;
  }
};

// The default of a key, for ConfigDef::define: a string literal, kNullDefault or kRequired.
struct Default {
  Default(const char* text) : text(text) {}             // NOLINT(google-explicit-constructor)
  Default(std::string text) : text(std::move(text)) {}  // NOLINT(google-explicit-constructor)
  static Default null() { return Default(); }
  static Default none() {
    Default d;
    d.required = true;
    return d;
  }

  std::optional<std::string> text;
  bool required = false;

 private:
  Default() = default;
};
inline const Default kNullDefault = Default::null();
inline const Default kRequired = Default::none();

// One setting as given by a file, a command line or a request. `list` is set when the source
// had a real list (a TOML array); otherwise `value` is the text.
struct Setting {
  std::string name;
  std::string value;
  std::optional<std::vector<std::string>> list;
  std::string origin;  // "kfk.toml:12:1", "--set"; prefixed to errors when not empty
};

class Config;

class ConfigDef {
 public:
  // Adds a key and parses its default. A bad default is a programming error: it is kept in
  // definition_errors() (checked by the unit tests). Returns a reference valid until the next
  // define().
  ConfigKey& define(std::string name, ConfigType type, const Default& def, Validator validator,
                    Importance importance, std::string doc);

  const ConfigKey* find(std::string_view name) const;
  // Keys in definition order.
  const std::vector<ConfigKey>& keys() const { return keys_; }
  std::optional<size_t> index_of(std::string_view name) const;
  const std::vector<std::string>& definition_errors() const { return definition_errors_; }

  // The known name closest to `unknown` (a dotted suffix of it, or within a small edit
  // distance), if any.
  std::optional<std::string> suggest(std::string_view unknown) const;
  // "unknown configuration X" plus " (did you mean Y?)" when there is a suggestion.
  std::string unknown_message(std::string_view name) const;

  // Parses and validates one value of `key`.
  Result<ConfigValue> parse_value(const ConfigKey& key, std::string_view text) const;
  // The same for a value given as a real list (only list keys accept one).
  Result<ConfigValue> parse_list(const ConfigKey& key, const std::vector<std::string>& items) const;

  // All settings at once. A name given more than once keeps its last value. Unknown names,
  // invalid values and missing required keys are all reported.
  Result<Config> parse(std::span<const Setting> settings) const;
  Result<Config> parse(const std::map<std::string, std::string>& settings) const;

 private:
  std::vector<ConfigKey> keys_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<std::string> definition_errors_;
};

// The values of every key of a ConfigDef: explicit settings, else defaults.
class Config {
 public:
  Config() = default;  // belongs to no definition; every get() is null
  explicit Config(const ConfigDef& def);

  const ConfigDef* def() const { return def_; }

  // Null for unknown names.
  const ConfigValue& get(std::string_view name) const;
  bool get_bool(std::string_view name) const { return get(name).as_bool(); }
  int32_t get_int(std::string_view name) const { return static_cast<int32_t>(get(name).as_int()); }
  int64_t get_long(std::string_view name) const { return get(name).as_int(); }
  double get_double(std::string_view name) const { return get(name).as_double(); }
  const std::string& get_string(std::string_view name) const { return get(name).as_string(); }
  const ConfigValue::List& get_list(std::string_view name) const { return get(name).as_list(); }
  std::optional<int64_t> get_optional_long(std::string_view name) const;
  std::optional<std::string> get_optional_string(std::string_view name) const;

  // Whether the value was given explicitly (not a default).
  bool is_set(std::string_view name) const;
  // The explicit settings: name -> the text as given (arrays joined with ",").
  const std::map<std::string, std::string, std::less<>>& originals() const { return originals_; }

  // Used by ConfigDef::parse; ignores unknown names.
  void set(std::string_view name, ConfigValue value, std::string original);

 private:
  const ConfigDef* def_ = nullptr;
  std::vector<ConfigValue> values_;  // aligned with def_->keys()
  std::map<std::string, std::string, std::less<>> originals_;
};

// Edit distance (insertions, deletions, substitutions, adjacent swaps).
size_t edit_distance(std::string_view a, std::string_view b);

// Splits "key=value" (first '='); both sides trimmed. Used by --set and -X.
Result<std::pair<std::string, std::string>> split_assignment(std::string_view text);

}  // namespace kfk::config

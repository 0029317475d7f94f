#include "core/config/config_def.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace kfk::config {

namespace {

// Java's String.trim(): drops every char <= ' ' at both ends.
std::string_view trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// How a value appears in messages.
std::string shown(std::string_view text) {
  return text.empty() ? std::string("\"\"") : std::string(text);
}

// A range bound: integral bounds print as integers.
std::string format_bound(double b) {
  if (std::floor(b) == b && std::fabs(b) < 1e18) {
    return std::to_string(static_cast<int64_t>(b));
  }
  return format_double(b);
}

std::pair<int64_t, int64_t> int_limits(ConfigType type) {
  switch (type) {
    case ConfigType::int16:
      return {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max()};
    case ConfigType::int32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default:
      return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
}

std::string_view type_noun(ConfigType type) {
  switch (type) {
    case ConfigType::boolean:
      return "true or false";
    case ConfigType::int16:
      return "a 16-bit integer";
    case ConfigType::int32:
      return "a 32-bit integer";
    case ConfigType::int64:
      return "a 64-bit integer";
    case ConfigType::float64:
      return "a number";
    case ConfigType::list:
      return "a comma-separated list";
    default:
      return "a string";
  }
}

// Java's Integer/Long/Short.parseXxx: optional sign, then decimal digits.
std::optional<int64_t> parse_integer(std::string_view s, ConfigType type, std::string& why) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
    if (digits.empty() || digits.front() < '0' || digits.front() > '9') digits = {};
  }
  if (digits.empty()) {
    why = "not an integer";
    return std::nullopt;
  }
  int64_t v = 0;
  const auto* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, v);
  if (ec == std::errc::result_out_of_range) {
    why = fmt::format("out of range for {}", type_noun(type));
    return std::nullopt;
  }
  if (ec != std::errc() || ptr != end) {
    why = "not an integer";
    return std::nullopt;
  }
  const auto [lo, hi] = int_limits(type);
  if (v < lo || v > hi) {
    why = fmt::format("out of range for {}", type_noun(type));
    return std::nullopt;
  }
  return v;
}

std::optional<double> parse_number(std::string_view s, std::string& why) {
  std::string_view t = s;
  if (!t.empty() && t.front() == '+') {
    t.remove_prefix(1);
    if (!t.empty() && t.front() == '-') t = {};
  }
  double v = 0;
  const auto* end = t.data() + t.size();
  auto [ptr, ec] = std::from_chars(t.data(), end, v, std::chars_format::general);
  if (t.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
    why = "not a number";
    return std::nullopt;
  }
  return v;
}

ConfigValue::List split_list(std::string_view s) {
  ConfigValue::List out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    out.emplace_back(
        trim(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string invalid_message(const ConfigKey& key, std::string_view text, std::string_view why) {
  std::string accepted = key.validator.describe();
  if (accepted.empty()) accepted = std::string(type_noun(key.type));
  return fmt::format("invalid value {} for configuration {}: {}; accepted: {}", shown(text),
                     key.name, why, accepted);
}

// Checks a parsed value against the key's validator, first fixing the case of choices.
Result<ConfigValue> finish(const ConfigKey& key, ConfigValue value, std::string_view text) {
  const Validator& v = key.validator;
  if (v.case_rule == CaseRule::insensitive) {
    if (v.kind == Validator::Kind::one_of && value.is_string()) {
      value = ConfigValue::string(v.canonical(value.as_string()));
    } else if (v.kind == Validator::Kind::list_of && value.is_list()) {
      ConfigValue::List items = value.as_list();
      for (auto& item : items) item = v.canonical(item);
      value = ConfigValue::list(std::move(items));
    }
  }
  if (std::string why = v.validate(value); !why.empty()) {
    return Result<ConfigValue>::failure(invalid_message(key, text, why));
  }
  return value;
}

std::string with_origin(const std::string& origin, const std::string& message) {
  return origin.empty() ? message : origin + ": " + message;
}

}  // namespace

std::string_view to_string(ConfigType type) {
  switch (type) {
    case ConfigType::boolean:
      return "BOOLEAN";
    case ConfigType::string:
      return "STRING";
    case ConfigType::int32:
      return "INT";
    case ConfigType::int16:
      return "SHORT";
    case ConfigType::int64:
      return "LONG";
    case ConfigType::float64:
      return "DOUBLE";
    case ConfigType::list:
      return "LIST";
    case ConfigType::class_name:
      return "CLASS";
    case ConfigType::password:
      return "PASSWORD";
    case ConfigType::unknown:
      break;
  }
  return "UNKNOWN";
}

std::string_view to_string(ConfigSource source) {
  switch (source) {
    case ConfigSource::dynamic_topic_config:
      return "DYNAMIC_TOPIC_CONFIG";
    case ConfigSource::dynamic_broker_config:
      return "DYNAMIC_BROKER_CONFIG";
    case ConfigSource::dynamic_default_broker_config:
      return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case ConfigSource::static_broker_config:
      return "STATIC_BROKER_CONFIG";
    case ConfigSource::default_config:
      return "DEFAULT_CONFIG";
    case ConfigSource::dynamic_broker_logger_config:
      return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case ConfigSource::client_metrics_config:
      return "CLIENT_METRICS_CONFIG";
    case ConfigSource::group_config:
      return "GROUP_CONFIG";
    case ConfigSource::unknown:
      break;
  }
  return "UNKNOWN";
}

std::string_view to_string(Importance importance) {
  switch (importance) {
    case Importance::high:
      return "high";
    case Importance::medium:
      return "medium";
    case Importance::low:
      break;
  }
  return "low";
}

std::string_view to_string(UpdateMode mode) {
  switch (mode) {
    case UpdateMode::per_broker:
      return "per-broker";
    case UpdateMode::cluster_wide:
      return "cluster-wide";
    case UpdateMode::read_only:
      break;
  }
  return "read-only";
}

// --- ConfigValue -------------------------------------------------------------

bool ConfigValue::as_bool() const {
  const bool* b = std::get_if<bool>(&v_);
  return b != nullptr && *b;
}

int64_t ConfigValue::as_int() const {
  const int64_t* i = std::get_if<int64_t>(&v_);
  return i != nullptr ? *i : 0;
}

double ConfigValue::as_double() const {
  if (const double* d = std::get_if<double>(&v_)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v_)) return static_cast<double>(*i);
  return 0.0;
}

const std::string& ConfigValue::as_string() const {
  static const std::string kEmpty;
  const std::string* s = std::get_if<std::string>(&v_);
  return s != nullptr ? *s : kEmpty;
}

const ConfigValue::List& ConfigValue::as_list() const {
  static const List kEmpty;
  const List* l = std::get_if<List>(&v_);
  return l != nullptr ? *l : kEmpty;
}

std::string format_double(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits, e.g. "1.7976931348623157e+308" or "5e-01".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  if (ec != std::errc()) return "0.0";
  std::string_view s(buf, static_cast<size_t>(end - buf));
  std::string out;
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  const size_t e_pos = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exp = 0;
  std::string_view exp_text = s.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);

  const double mag = std::fabs(value);
  if (mag >= 1e-3 && mag < 1e7) {
    if (exp >= 0) {
      const auto int_len = static_cast<size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
  } else {
    out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0");
    out += "E" + std::to_string(exp);
  }
  return out;
}

std::optional<std::string> format_value(const ConfigValue& value, ConfigType type) {
  if (value.is_null()) return std::nullopt;
  if (value.is_bool()) return value.as_bool() ? "true" : "false";
  if (value.is_int()) {
    if (type == ConfigType::float64) return format_double(static_cast<double>(value.as_int()));
    return std::to_string(value.as_int());
  }
  if (value.is_double()) return format_double(value.as_double());
  if (value.is_list()) return join(value.as_list(), ",");
  return value.as_string();
}

// --- Validator ---------------------------------------------------------------

std::string Validator::validate(const ConfigValue& value) const {
  if (value.is_null()) return {};
  switch (kind) {
    case Kind::none:
      return {};
    case Kind::range: {
      // long double holds every int64 exactly.
      const long double v = value.is_int() ? static_cast<long double>(value.as_int())
                                           : static_cast<long double>(value.as_double());
      if (min && max && (v < *min || v > *max)) {
        return fmt::format("must be between {} and {}", format_bound(*min), format_bound(*max));
      }
      if (min && v < *min) return fmt::format("must be at least {}", format_bound(*min));
      if (max && v > *max) return fmt::format("must be at most {}", format_bound(*max));
      return {};
    }
    case Kind::one_of: {
      const std::string& s = value.as_string();
      for (const auto& c : choices) {
        if (c == s) return {};
      }
      for (const auto& c : choices) {
        if (iequals(c, s)) return fmt::format("not an accepted value (case matters: {})", c);
      }
      return "not an accepted value";
    }
    case Kind::list_of: {
      const auto& items = value.as_list();
      if (items.empty() && !allow_empty) return "must not be empty";
      for (const auto& item : items) {
        if (item.empty()) return "contains an empty element";
        if (std::find(choices.begin(), choices.end(), item) == choices.end()) {
          return fmt::format("'{}' is not an accepted value", item);
        }
      }
      return {};
    }
    case Kind::non_empty:
      if (value.is_list() ? value.as_list().empty() : value.as_string().empty()) {
        return "must not be empty";
      }
      return {};
    case Kind::custom:
      return check ? check(value) : std::string();
  }
  return {};
}

std::string Validator::describe() const {
  switch (kind) {
    case Kind::none:
      return {};
    case Kind::range:
      if (min && max) return fmt::format("[{},...,{}]", format_bound(*min), format_bound(*max));
      if (min) return fmt::format("[{},...]", format_bound(*min));
      if (max) return fmt::format("[...,{}]", format_bound(*max));
      return {};
    case Kind::one_of:
    case Kind::list_of:
      return "[" + join(choices, ", ") + "]" +
             (case_rule == CaseRule::insensitive ? " (any case)" : "");
    case Kind::non_empty:
      return "a non-empty value";
    case Kind::custom:
      return accepted;
  }
  return {};
}

std::string Validator::canonical(std::string_view text) const {
  for (const auto& c : choices) {
    if (iequals(c, text)) return c;
  }
  return std::string(text);
}

Validator no_validator() { return {}; }

Validator at_least(double min) {
  Validator v;
  v.kind = Validator::Kind::range;
  v.min = min;
  return v;
}

Validator at_most(double max) {
  Validator v;
  v.kind = Validator::Kind::range;
  v.max = max;
  return v;
}

Validator between(double min, double max) {
  Validator v;
  v.kind = Validator::Kind::range;
  v.min = min;
  v.max = max;
  return v;
}

Validator one_of(std::vector<std::string> choices, CaseRule rule) {
  Validator v;
  v.kind = Validator::Kind::one_of;
  v.choices = std::move(choices);
  v.case_rule = rule;
  return v;
}

Validator list_of(std::vector<std::string> choices, bool allow_empty, CaseRule rule) {
  Validator v;
  v.kind = Validator::Kind::list_of;
  v.choices = std::move(choices);
  v.allow_empty = allow_empty;
  v.case_rule = rule;
  return v;
}

Validator non_empty() {
  Validator v;
  v.kind = Validator::Kind::non_empty;
  return v;
}

Validator custom(std::string accepted, std::function<std::string(const ConfigValue&)> check) {
  Validator v;
  v.kind = Validator::Kind::custom;
  v.accepted = std::move(accepted);
  v.check = std::move(check);
  return v;
}

// --- ConfigDef -----------------------------------------------------------------

ConfigKey& ConfigDef::define(std::string name, ConfigType type, const Default& def,
                             Validator validator, Importance importance, std::string doc) {
  ConfigKey key;
  key.name = std::move(name);
  key.type = type;
  key.default_text = def.text;
  key.required = def.required;
  key.validator = std::move(validator);
  key.importance = importance;
  key.doc = std::move(doc);
  if (key.default_text) {
    auto parsed = parse_value(key, *key.default_text);
    if (parsed.ok()) {
      key.default_value = std::move(parsed).value();
    } else {
      definition_errors_.push_back("default of " + key.name + ": " + parsed.error_text());
    }
  }
  if (index_.count(key.name) != 0) {
    definition_errors_.push_back(key.name + " is defined twice");
  }
  index_[key.name] = keys_.size();
  keys_.push_back(std::move(key));
  return keys_.back();
}

std::optional<size_t> ConfigDef::index_of(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

const ConfigKey* ConfigDef::find(std::string_view name) const {
  auto i = index_of(name);
  return i ? &keys_[*i] : nullptr;
}

std::optional<std::string> ConfigDef::suggest(std::string_view unknown) const {
  if (unknown.empty()) return std::nullopt;
  for (const auto& k : keys_) {
    if (iequals(k.name, unknown)) return k.name;
  }
  // "retention.ms" given to the broker means "log.retention.ms", and the other way round.
  const ConfigKey* suffix_match = nullptr;
  for (const auto& k : keys_) {
    const std::string_view n = k.name;
    const bool k_ends = n.size() > unknown.size() && n.ends_with(unknown) &&
                        n[n.size() - unknown.size() - 1] == '.';
    const bool u_ends = unknown.size() > n.size() && unknown.ends_with(n) &&
                        unknown[unknown.size() - n.size() - 1] == '.';
    if ((k_ends || u_ends) && (suffix_match == nullptr || n.size() < suffix_match->name.size())) {
      suffix_match = &k;
    }
  }
  if (suffix_match != nullptr) return suffix_match->name;
  const size_t limit = std::max<size_t>(2, unknown.size() / 4);
  // Closest first; on a tie, the name whose length is closest (a typo over a missing letter).
  const ConfigKey* best = nullptr;
  std::pair<size_t, size_t> best_score{limit + 1, 0};
  for (const auto& k : keys_) {
    const size_t len_diff = k.name.size() > unknown.size() ? k.name.size() - unknown.size()
                                                           : unknown.size() - k.name.size();
    const std::pair<size_t, size_t> score{edit_distance(unknown, k.name), len_diff};
    if (score < best_score) {
      best = &k;
      best_score = score;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->name;
}

std::string ConfigDef::unknown_message(std::string_view name) const {
  std::string msg = fmt::format("unknown configuration {}", shown(name));
  if (auto s = suggest(name)) msg += fmt::format(" (did you mean {}?)", *s);
  return msg;
}

Result<ConfigValue> ConfigDef::parse_value(const ConfigKey& key, std::string_view text) const {
  const std::string_view t = trim(text);
  std::string why;
  switch (key.type) {
    case ConfigType::boolean:
      if (iequals(t, "true")) return finish(key, ConfigValue::boolean(true), t);
      if (iequals(t, "false")) return finish(key, ConfigValue::boolean(false), t);
      return Result<ConfigValue>::failure(invalid_message(key, t, "not a boolean"));
    case ConfigType::int16:
    case ConfigType::int32:
    case ConfigType::int64:
      if (auto v = parse_integer(t, key.type, why)) {
        return finish(key, ConfigValue::integer(*v), t);
      }
      return Result<ConfigValue>::failure(invalid_message(key, t, why));
    case ConfigType::float64:
      if (auto v = parse_number(t, why)) return finish(key, ConfigValue::number(*v), t);
      return Result<ConfigValue>::failure(invalid_message(key, t, why));
    case ConfigType::list:
      return finish(key, ConfigValue::list(split_list(t)), t);
    case ConfigType::string:
    case ConfigType::class_name:
    case ConfigType::password:
    case ConfigType::unknown:
      break;
  }
  return finish(key, ConfigValue::string(std::string(t)), t);
}

Result<ConfigValue> ConfigDef::parse_list(const ConfigKey& key,
                                          const std::vector<std::string>& items) const {
  const std::string text = join(items, ",");
  if (key.type != ConfigType::list) {
    return Result<ConfigValue>::failure(
        invalid_message(key, "[" + join(items, ", ") + "]", "a list is not accepted here"));
  }
  ConfigValue::List trimmed;
  trimmed.reserve(items.size());
  for (const auto& item : items) trimmed.emplace_back(trim(item));
  return finish(key, ConfigValue::list(std::move(trimmed)), text);
}

Result<Config> ConfigDef::parse(std::span<const Setting> settings) const {
  Config config(*this);
  std::vector<std::string> errors;
  std::map<std::string_view, size_t> last;  // name -> index of its last occurrence
  for (size_t i = 0; i < settings.size(); ++i) last[settings[i].name] = i;
  for (size_t i = 0; i < settings.size(); ++i) {
    const Setting& s = settings[i];
    if (last[s.name] != i) continue;  // a later setting replaces this one
    const ConfigKey* key = find(s.name);
    if (key == nullptr) {
      errors.push_back(with_origin(s.origin, unknown_message(s.name)));
      continue;
    }
    auto parsed = s.list ? parse_list(*key, *s.list) : parse_value(*key, s.value);
    if (!parsed.ok()) {
      for (const auto& e : parsed.errors()) errors.push_back(with_origin(s.origin, e));
      continue;
    }
    config.set(s.name, std::move(parsed).value(), s.list ? join(*s.list, ",") : s.value);
  }
  for (const auto& key : keys_) {
    if (key.required && !config.is_set(key.name)) {
      errors.push_back(
          fmt::format("missing required configuration {} (it has no default)", key.name));
    }
  }
  if (!errors.empty()) return Result<Config>::failure(std::move(errors));
  return config;
}

Result<Config> ConfigDef::parse(const std::map<std::string, std::string>& settings) const {
  std::vector<Setting> list;
  list.reserve(settings.size());
  for (const auto& [name, value] : settings) list.push_back({name, value, std::nullopt, {}});
  return parse(list);
}

// --- Config ------------------------------------------------------------------

Config::Config(const ConfigDef& def) : def_(&def) {
  values_.reserve(def.keys().size());
  for (const auto& key : def.keys()) values_.push_back(key.default_value);
}

const ConfigValue& Config::get(std::string_view name) const {
  static const ConfigValue kNull;
  if (def_ == nullptr) return kNull;
  auto i = def_->index_of(name);
  return i ? values_[*i] : kNull;
}

std::optional<int64_t> Config::get_optional_long(std::string_view name) const {
  const ConfigValue& v = get(name);
  if (v.is_null()) return std::nullopt;
  return v.as_int();
}

std::optional<std::string> Config::get_optional_string(std::string_view name) const {
  const ConfigValue& v = get(name);
  if (v.is_null()) return std::nullopt;
  return v.as_string();
}

bool Config::is_set(std::string_view name) const { return originals_.count(name) != 0; }

void Config::set(std::string_view name, ConfigValue value, std::string original) {
  if (def_ == nullptr) return;
  auto i = def_->index_of(name);
  if (!i) return;
  values_[*i] = std::move(value);
  originals_[std::string(name)] = std::move(original);
}

// --- helpers -------------------------------------------------------------------

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: three rows are enough for adjacent swaps.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

Result<std::pair<std::string, std::string>> split_assignment(std::string_view text) {
  using R = Result<std::pair<std::string, std::string>>;
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return R::failure(fmt::format("expected key=value, got '{}'", text));
  }
  const std::string_view key = trim(text.substr(0, eq));
  if (key.empty()) return R::failure(fmt::format("missing the key in '{}'", text));
  return std::pair{std::string(key), std::string(trim(text.substr(eq + 1)))};
}

}  // namespace kfk::config

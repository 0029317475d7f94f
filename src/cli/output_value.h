// A JSON-like document that listing and describe commands build once and then print in the
// format --output asks for: compact JSON on one line, or block-style YAML. Object keys keep
// the order they were added in, so the printed shape is stable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kfk::cli {

enum class OutputFormat;  // app.h

class Value {
 public:
  enum class Kind : uint8_t { null, boolean, integer, number, string, array, object };

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool value) : kind_(Kind::boolean), boolean_(value) {}
  // Unsigned integers keep their type, so that counts above INT64_MAX print as they are.
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Value(T value)
      : kind_(Kind::integer),
        unsigned_(std::is_unsigned_v<T>),
        integer_(static_cast<int64_t>(value)) {}
  // A fraction, written with up to 6 significant digits (text() holds the digits).
  explicit Value(double value);
  // A measurement written with exactly `decimals` digits after the point ("12.500"), as the
  // reports of perf print their figures; null when it is not finite.
  static Value fixed(double value, int decimals);
  Value(std::string value) : kind_(Kind::string), text_(std::move(value)) {}
  Value(std::string_view value) : kind_(Kind::string), text_(value) {}
  Value(const char* value) : kind_(Kind::string), text_(value) {}

  static Value array();
  static Value object();

  // Adds `key` to an object; returns *this so that fields chain.
  Value& set(std::string key, Value value);
  // Appends to an array; returns the element added.
  Value& push(Value value);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool boolean() const { return boolean_; }
  int64_t integer() const { return integer_; }
  // integer() holds the bits of an unsigned 64-bit number.
  bool is_unsigned() const { return unsigned_; }
  const std::string& text() const { return text_; }
  // Elements of an array or values of an object, and the keys of an object.
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }
  size_t size() const { return items_.size(); }

 private:
  Kind kind_ = Kind::null;
  bool boolean_ = false;
  bool unsigned_ = false;
  int64_t integer_ = 0;
  std::string text_;
  std::vector<std::string> keys_;
  std::vector<Value> items_;
};

// `v` or null when it is negative: offsets, leaders and sizes use -1 for "none".
Value non_negative_or_null(int64_t v);

// Compact JSON, without a trailing newline.
std::string to_json(const Value& value);
// Block-style YAML ending with a newline; strings are quoted whenever a plain scalar could
// be read back as something else (a number, a boolean, null) or would not parse.
std::string to_yaml(const Value& value);
// A string as a YAML scalar: plain when that is safe, else double-quoted.
std::string yaml_scalar(std::string_view text);

// Prints `value` to stdout as JSON (one line) or YAML. `format` must be json or yaml.
void print_value(const Value& value, OutputFormat format);

// Prints, as one line of JSON, an object whose one list is too long to build in memory (the
// entries of a large file): the fields of `head`, then the items as they come, then the fields
// of `tail`. The line is what print_value would print for the whole object.
class StreamedJsonList {
 public:
  // Prints the fields of `head` (an object) and opens the list `name`.
  void begin(const Value& head, std::string_view name);
  void item(const Value& item);
  // Closes the list, then the object after the fields of `tail` (an object).
  void end(const Value& tail);

 private:
  bool first_item_ = true;
};

// The one string escaper of the CLI. JSON strings escape `"`, `\`, newline, tab and carriage
// return, and other control characters as \u00XX; YAML's double-quoted scalars write those as
// \xXX, DEL too. The TOML profile file uses the JSON form (TOML reads the same escapes).
enum class Quoting : uint8_t { json, yaml };
// Appends `text` between double quotes, escaped.
void append_quoted(std::string& out, std::string_view text, Quoting quoting = Quoting::json);
// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);
// Appends an integer as JSON writes it. With append_quoted, what the per-record printers of
// consume (JSON lines, {json} modifiers) write with, so that they need no Value per record.
void append_json_integer(std::string& out, int64_t value);

}  // namespace kfk::cli

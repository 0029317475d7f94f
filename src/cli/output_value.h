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
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Value(T value)
      : kind_(Kind::integer), integer_(static_cast<int64_t>(value)) {}
  // A fraction, written with up to 6 significant digits (text() holds the digits).
  explicit Value(double value);
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
  const std::string& text() const { return text_; }
  // Elements of an array or values of an object, and the keys of an object.
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }
  size_t size() const { return items_.size(); }

 private:
  Kind kind_ = Kind::null;
  bool boolean_ = false;
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

}  // namespace kfk::cli

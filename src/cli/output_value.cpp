#include "cli/output_value.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "cli/app.h"

namespace kfk::cli {

Value::Value(double value) : kind_(Kind::number) {
  // JSON has no NaN or infinity; %g never prints a form JSON cannot read otherwise.
  text_ = std::isfinite(value) ? fmt::format("{:.6g}", value) : "null";
  if (text_ == "null") kind_ = Kind::null;
}

Value Value::array() {
  Value v;
  v.kind_ = Kind::array;
  return v;
}

Value Value::object() {
  Value v;
  v.kind_ = Kind::object;
  return v;
}

Value& Value::set(std::string key, Value value) {
  keys_.push_back(std::move(key));
  items_.push_back(std::move(value));
  return *this;
}

Value& Value::push(Value value) {
  items_.push_back(std::move(value));
  return items_.back();
}

Value non_negative_or_null(int64_t v) { return v < 0 ? Value() : Value(v); }

namespace {

void append_json(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Value::Kind::null:
      out += "null";
      return;
    case Value::Kind::boolean:
      out += v.boolean() ? "true" : "false";
      return;
    case Value::Kind::integer:
      out += std::to_string(v.integer());
      return;
    case Value::Kind::number:
      out += v.text();
      return;
    case Value::Kind::string:
      out += json_quote(v.text());
      return;
    case Value::Kind::array:
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ',';
        append_json(v.items()[i], out);
      }
      out += ']';
      return;
    case Value::Kind::object:
      out += '{';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ',';
        out += json_quote(v.keys()[i]);
        out += ':';
        append_json(v.items()[i], out);
      }
      out += '}';
      return;
  }
}

bool is_plain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '/' || c == '-' || c == ':' || c == ' ' || c == '@' || c == '+' ||
         c == '=';
}

// Plain scalars are kept to a small safe subset: they start with a letter, '_' or '/' (so
// nothing numeric, no indicator characters), hold no ", " or ": " or '#', and are not one of
// the words YAML 1.1 reads as booleans or null.
bool can_be_plain(std::string_view s) {
  if (s.empty()) return false;
  const char first = s.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_' ||
        first == '/')) {
    return false;
  }
  if (s.back() == ' ' || s.back() == ':') return false;
  if (!std::all_of(s.begin(), s.end(), is_plain_char)) return false;
  if (s.find(": ") != std::string_view::npos) return false;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  static constexpr std::array<std::string_view, 9> kReserved = {"y",     "n",  "yes", "no",  "true",
                                                                "false", "on", "off", "null"};
  return std::find(kReserved.begin(), kReserved.end(), lower) == kReserved.end();
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\x{:02x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// Scalars, empty collections and arrays of numbers/booleans/nulls fit on the key's line.
bool fits_inline(const Value& v) {
  if (v.kind() != Value::Kind::array && v.kind() != Value::Kind::object) return true;
  if (v.size() == 0) return true;
  if (v.kind() == Value::Kind::object) return false;
  return std::all_of(v.items().begin(), v.items().end(), [](const Value& item) {
    return item.kind() == Value::Kind::null || item.kind() == Value::Kind::boolean ||
           item.kind() == Value::Kind::integer || item.kind() == Value::Kind::number;
  });
}

std::string inline_yaml(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::null:
      return "null";
    case Value::Kind::boolean:
      return v.boolean() ? "true" : "false";
    case Value::Kind::integer:
      return std::to_string(v.integer());
    case Value::Kind::number:
      return v.text();
    case Value::Kind::string:
      return yaml_scalar(v.text());
    case Value::Kind::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        out += inline_yaml(v.items()[i]);
      }
      return out + "]";
    }
    case Value::Kind::object:
      return "{}";  // only ever called for an empty object
  }
  return "null";
}

// Writes a non-empty array or object, every line indented by `indent` spaces.
void append_block(const Value& v, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  for (size_t i = 0; i < v.size(); ++i) {
    const Value& item = v.items()[i];
    if (v.kind() == Value::Kind::object) {
      out += pad + yaml_scalar(v.keys()[i]) + ':';
      if (fits_inline(item)) {
        out += ' ' + inline_yaml(item) + '\n';
      } else {
        out += '\n';
        append_block(item, indent + 2, out);
      }
      continue;
    }
    if (fits_inline(item)) {
      out += pad + "- " + inline_yaml(item) + '\n';
      continue;
    }
    // A nested collection starts on the dash's line: "- key: value".
    std::string nested;
    append_block(item, indent + 2, nested);
    out += pad + "- ";
    out += nested.substr(indent + 2);
  }
}

}  // namespace

std::string yaml_scalar(std::string_view text) {
  return can_be_plain(text) ? std::string(text) : double_quoted(text);
}

std::string to_json(const Value& value) {
  std::string out;
  append_json(value, out);
  return out;
}

std::string to_yaml(const Value& value) {
  if (fits_inline(value)) return inline_yaml(value) + '\n';
  std::string out;
  append_block(value, 0, out);
  return out;
}

void print_value(const Value& value, OutputFormat format) {
  const std::string text = format == OutputFormat::yaml ? to_yaml(value) : to_json(value) + '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace kfk::cli

#include "cli/output_value.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "cli/app.h"

namespace kfk::cli {

Value::Value(double value) : kind_(Kind::number) {
  // JSON has no NaN or infinity; %g never prints a form JSON cannot read otherwise.
  text_ = std::isfinite(value) ? fmt::format("{:.6g}", value) : "null";
  if (text_ == "null") kind_ = Kind::null;
}

Value Value::fixed(double value, int decimals) {
  if (!std::isfinite(value)) return Value();
  Value v;
  v.kind_ = Kind::number;
  v.text_ = fmt::format("{:.{}f}", value, decimals);
  return v;
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

void append_json(const Value& v, std::string& out);

void append_integer(const Value& v, std::string& out) {
  if (!v.is_unsigned()) {
    append_json_integer(out, v.integer());
    return;
  }
  char digits[24];
  const auto end =
      std::to_chars(digits, digits + sizeof digits, static_cast<uint64_t>(v.integer()));
  out.append(digits, end.ptr);
}

// The fields of an object, without its braces: "key":value,...
void append_members(const Value& object, std::string& out) {
  for (size_t i = 0; i < object.size(); ++i) {
    if (i > 0) out += ',';
    append_quoted(out, object.keys()[i]);
    out += ':';
    append_json(object.items()[i], out);
  }
}

void append_json(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Value::Kind::null:
      out += "null";
      return;
    case Value::Kind::boolean:
      out += v.boolean() ? "true" : "false";
      return;
    case Value::Kind::integer:
      append_integer(v, out);
      return;
    case Value::Kind::number:
      out += v.text();
      return;
    case Value::Kind::string:
      append_quoted(out, v.text());
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
      append_members(v, out);
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
    case Value::Kind::integer: {
      std::string out;
      append_integer(v, out);
      return out;
    }
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
  if (can_be_plain(text)) return std::string(text);
  std::string out;
  append_quoted(out, text, Quoting::yaml);
  return out;
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

void StreamedJsonList::begin(const Value& head, std::string_view name) {
  first_item_ = true;
  std::string out = "{";
  append_members(head, out);
  if (head.size() > 0) out += ',';
  append_quoted(out, name);
  out += ":[";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void StreamedJsonList::item(const Value& item) {
  std::string out = first_item_ ? "" : ",";
  first_item_ = false;
  append_json(item, out);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void StreamedJsonList::end(const Value& tail) {
  std::string out = "]";
  if (tail.size() > 0) out += ',';
  append_members(tail, out);
  out += "}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void append_quoted(std::string& out, std::string_view text, Quoting quoting) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t plain_from = 0;  // the characters since the last escape are copied in one go
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    const bool control = u < 0x20 || (u == 0x7f && quoting == Quoting::yaml);
    if (!control && u != '"' && u != '\\') continue;
    out.append(text, plain_from, i - plain_from);
    plain_from = i + 1;
    out += '\\';
    switch (u) {
      case '"':
      case '\\':
        out += static_cast<char>(u);
        break;
      case '\n':
        out += 'n';
        break;
      case '\r':
        out += 'r';
        break;
      case '\t':
        out += 't';
        break;
      default:
        out += quoting == Quoting::json ? "u00" : "x";
        out += kHex[u >> 4];
        out += kHex[u & 0xf];
    }
  }
  out.append(text, plain_from);
  out += '"';
}

std::string json_quote(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

void append_json_integer(std::string& out, int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace kfk::cli

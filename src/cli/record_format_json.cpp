// JSON lines of records: printing (consume) and reading back (produce). See record_format.h
// for the shape. The reader is a small recursive-descent parser that keeps, for every value,
// the exact bytes it was written with, so that embedded JSON values read back byte-exact.
#include <fmt/core.h>

#include <charconv>

#include "cli/output_value.h"
#include "cli/record_format.h"

namespace kfk::cli {

namespace {

struct JsonValue {
  enum class Kind : uint8_t { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  std::string_view raw;  // the value's text as written
  std::string text;      // strings: the decoded text
  // Objects: member names and values at the same index (a pair would need JsonValue complete).
  std::vector<std::string> names;
  std::vector<JsonValue> items;  // array items, or object member values

  const JsonValue* member(std::string_view name) const {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return &items[i];
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  // The whole text as one value (whitespace around it allowed).
  bool parse_document(JsonValue& out) {
    skip_ws();
    if (!parse_value(out, 0)) return false;
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected text after the JSON value");
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  static constexpr int kMaxDepth = 256;

  bool fail(std::string what) {
    if (error_.empty()) error_ = fmt::format("{} at column {}", what, pos_ + 1);
    return false;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid JSON value");
    pos_ += word.size();
    return true;
  }

  bool parse_value(JsonValue& out, int depth) {
    if (depth > kMaxDepth) return fail("JSON nested too deeply");
    if (pos_ >= s_.size()) return fail("missing JSON value");
    const size_t start = pos_;
    bool ok = false;
    switch (s_[pos_]) {
      case 'n':
        out.kind = JsonValue::Kind::null;
        ok = literal("null");
        break;
      case 't':
        out.kind = JsonValue::Kind::boolean;
        ok = literal("true");
        break;
      case 'f':
        out.kind = JsonValue::Kind::boolean;
        ok = literal("false");
        break;
      case '"':
        out.kind = JsonValue::Kind::string;
        ok = parse_string(out.text);
        break;
      case '[':
        out.kind = JsonValue::Kind::array;
        ok = parse_array(out, depth);
        break;
      case '{':
        out.kind = JsonValue::Kind::object;
        ok = parse_object(out, depth);
        break;
      default:
        out.kind = JsonValue::Kind::number;
        ok = parse_number();
    }
    if (ok) out.raw = s_.substr(start, pos_ - start);
    return ok;
  }

  bool parse_number() {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    const size_t int_start = pos_;
    const size_t n = digits();
    if (n == 0) return fail("invalid JSON value");
    if (n > 1 && s_[int_start] == '0') return fail("leading zero in a JSON number");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return fail("digits expected after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail("digits expected in the exponent");
    }
    return pos_ > start;
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("invalid \\u escape");
      }
    }
    return true;
  }

  static void append_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parse_string(std::string& out) {
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return fail("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (s_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate in \\u escape");
            pos_ += 2;
            if (!hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("unpaired surrogate in \\u escape");
          }
          append_utf8(cp, out);
          break;
        }
        default:
          return fail(fmt::format("invalid escape '\\{}'", e));
      }
    }
  }

  bool parse_array(JsonValue& out, int depth) {
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skip_ws();
      JsonValue item;
      if (!parse_value(item, depth + 1)) return false;
      out.items.push_back(std::move(item));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated array");
      const char c = s_[pos_++];
      if (c == ']') return true;
      if (c != ',') return fail("expected ',' or ']'");
    }
  }

  bool parse_object(JsonValue& out, int depth) {
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name");
      std::string name;
      if (!parse_string(name)) return false;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      JsonValue value;
      if (!parse_value(value, depth + 1)) return false;
      out.names.push_back(std::move(name));
      out.items.push_back(std::move(value));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated object");
      const char c = s_[pos_++];
      if (c == '}') return true;
      if (c != ',') return fail("expected ',' or '}'");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

record::NullableBytes nullable(const std::optional<protocol::Bytes>& bytes) {
  if (!bytes) return std::nullopt;
  return std::span<const uint8_t>(*bytes);
}

std::span<const uint8_t> text_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Records are written straight into the output with the Value printer's escaping and numbers,
// not through a Value: this runs for every record consume prints.

// Starts the field `name` of the object `out` ends in: a comma unless it is the first field.
void begin_field(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ',';
  append_quoted(out, name);
  out += ':';
}

// `"name":...` for a nullable byte field (see record_format.h).
void append_field(std::string& out, std::string_view name, record::NullableBytes bytes,
                  bool embed_json) {
  begin_field(out, name);
  if (!bytes) {
    out += "null";
  } else if (embed_json && embeddable_json(*bytes)) {
    out += as_text(*bytes);
  } else if (valid_utf8(*bytes)) {
    append_quoted(out, as_text(*bytes));
  } else {
    append_quoted(out, to_base64(*bytes));
    begin_field(out, std::string(name) + "_encoding");
    append_quoted(out, "base64");
  }
}

// Reads a byte field written by append_field from `object`. False with `error` set on a bad
// field; an absent field leaves `present` false.
bool read_field(const JsonValue& object, const std::string& name, bool& present,
                std::optional<protocol::Bytes>& out, std::string& error) {
  const JsonValue* v = object.member(name);
  present = v != nullptr;
  if (v == nullptr) return true;
  std::string encoding;
  if (const JsonValue* e = object.member(name + "_encoding")) {
    if (e->kind != JsonValue::Kind::string) {
      error = fmt::format("\"{}_encoding\" must be a string", name);
      return false;
    }
    encoding = e->text;
  }
  if (v->kind == JsonValue::Kind::null) {
    out.reset();
    return true;
  }
  if (v->kind != JsonValue::Kind::string) {
    if (!encoding.empty() && encoding != "json") {
      error = fmt::format("\"{}\" with encoding {} must be a string", name, encoding);
      return false;
    }
    out = protocol::Bytes(v->raw.begin(), v->raw.end());
    return true;
  }
  if (encoding.empty() || encoding == "utf8" || encoding == "text") {
    out = protocol::Bytes(v->text.begin(), v->text.end());
  } else if (encoding == "base64") {
    out = from_base64(v->text);
    if (!out) {
      error = fmt::format("\"{}\" is not valid base64", name);
      return false;
    }
  } else if (encoding == "hex") {
    out = from_hex(v->text);
    if (!out) {
      error = fmt::format("\"{}\" is not valid hex", name);
      return false;
    }
  } else if (encoding == "json") {
    out = protocol::Bytes(v->raw.begin(), v->raw.end());
  } else {
    error = fmt::format("unknown \"{}_encoding\" '{}' (known: base64, hex, utf8, json)", name,
                        encoding);
    return false;
  }
  return true;
}

template <class T>
bool read_integer(const JsonValue& object, std::string_view name, std::optional<T>& out,
                  std::string& error) {
  const JsonValue* v = object.member(name);
  if (v == nullptr || v->kind == JsonValue::Kind::null) return true;
  T value{};
  const auto [ptr, ec] = std::from_chars(v->raw.data(), v->raw.data() + v->raw.size(), value);
  if (v->kind != JsonValue::Kind::number || ec != std::errc() ||
      ptr != v->raw.data() + v->raw.size()) {
    error = fmt::format("\"{}\" must be an integer", name);
    return false;
  }
  if (value >= 0) out = value;  // -1: none, as consume prints a record without a timestamp
  return true;
}

}  // namespace

bool embeddable_json(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return false;
  const auto text = as_text(bytes);
  const char first = text.front();
  const char last = text.back();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (space(first) || space(last) || first == '"' || first == 'n') return false;
  if (text.find_first_of("\n\r") != std::string_view::npos) return false;
  if (!valid_utf8(bytes)) return false;
  JsonValue value;
  JsonParser parser(text);
  return parser.parse_document(value);
}

std::string record_to_json(const client::ConsumerRecord& r) {
  std::string out = "{";
  begin_field(out, "topic");
  append_quoted(out, r.topic);
  begin_field(out, "partition");
  append_json_integer(out, r.partition);
  begin_field(out, "offset");
  append_json_integer(out, r.offset);
  begin_field(out, "timestamp");
  append_json_integer(out, r.timestamp);
  begin_field(out, "timestamp_type");
  append_quoted(out, r.timestamp_type == record::TimestampType::log_append_time ? "LogAppendTime"
                                                                                : "CreateTime");
  append_field(out, "key", nullable(r.key), false);
  append_field(out, "value", nullable(r.value), true);
  begin_field(out, "headers");
  out += '[';
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i > 0) out += ',';
    out += '{';
    append_field(out, "key", text_bytes(r.headers[i].key), false);
    append_field(out, "value", nullable(r.headers[i].value), false);
    out += '}';
  }
  out += "]}";
  return out;
}

std::optional<InputRecord> record_from_json(std::string_view line, std::string& error) {
  JsonValue doc;
  JsonParser parser(line);
  if (!parser.parse_document(doc)) {
    error = "invalid JSON: " + parser.error();
    return std::nullopt;
  }
  if (doc.kind != JsonValue::Kind::object) {
    error = "expected a JSON object per line";
    return std::nullopt;
  }
  InputRecord rec;
  if (!read_field(doc, "key", rec.has_key, rec.key, error)) return std::nullopt;
  if (!read_field(doc, "value", rec.has_value, rec.value, error)) return std::nullopt;
  if (!read_integer(doc, "partition", rec.partition, error)) return std::nullopt;
  if (!read_integer(doc, "timestamp", rec.timestamp, error)) return std::nullopt;
  if (const JsonValue* headers = doc.member("headers")) {
    if (headers->kind == JsonValue::Kind::object) {
      for (size_t i = 0; i < headers->names.size(); ++i) {
        const JsonValue& value = headers->items[i];
        record::Header h;
        h.key = headers->names[i];
        if (value.kind == JsonValue::Kind::string) {
          h.value = protocol::Bytes(value.text.begin(), value.text.end());
        } else if (value.kind != JsonValue::Kind::null) {
          h.value = protocol::Bytes(value.raw.begin(), value.raw.end());
        }
        rec.headers.push_back(std::move(h));
      }
    } else if (headers->kind == JsonValue::Kind::array) {
      for (const auto& item : headers->items) {
        if (item.kind != JsonValue::Kind::object) {
          error = "\"headers\" must hold objects {\"key\":..,\"value\":..}";
          return std::nullopt;
        }
        bool present = false;
        std::optional<protocol::Bytes> key;
        if (!read_field(item, "key", present, key, error)) return std::nullopt;
        if (!present || !key) {
          error = "every header needs a \"key\"";
          return std::nullopt;
        }
        record::Header h;
        h.key.assign(key->begin(), key->end());
        if (!read_field(item, "value", present, h.value, error)) return std::nullopt;
        rec.headers.push_back(std::move(h));
      }
    } else if (headers->kind != JsonValue::Kind::null) {
      error = "\"headers\" must be an array or an object";
      return std::nullopt;
    }
  }
  return rec;
}

}  // namespace kfk::cli

#include "cli/record_format.h"

#include <fmt/core.h>

#include <charconv>

#include "cli/output_value.h"

namespace kfk::cli {

namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // also the URL-safe alphabet
  if (c == '/' || c == '_') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

protocol::Bytes to_bytes(std::string_view s) { return protocol::Bytes(s.begin(), s.end()); }

template <class T>
std::optional<T> parse_int(std::string_view text) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool valid_utf8(std::span<const uint8_t> s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = s[i];
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // fewer continuation bytes than announced
    for (size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string to_base64(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<protocol::Bytes> from_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  protocol::Bytes out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base64_index(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::optional<protocol::Bytes> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  protocol::Bytes out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

// --- format strings ------------------------------------------------------------------

std::optional<RecordTemplate> RecordTemplate::parse(std::string_view text, Use use,
                                                    std::string& error) {
  RecordTemplate format;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) format.parts_.push_back(Part{0, Modifier::none, std::move(literal)});
    literal.clear();
  };
  const std::string_view codes = use == Use::print ? "tpokKvsSVThH" : "kvshpT";
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) {
        error = "the format ends with a lone '\\'";
        return std::nullopt;
      }
      const char e = text[++i];
      switch (e) {
        case 'n':
          literal += '\n';
          break;
        case 't':
          literal += '\t';
          break;
        case 'r':
          literal += '\r';
          break;
        case '0':
          literal += '\0';
          break;
        case '\\':
          literal += '\\';
          break;
        case 'x': {
          const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
          const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
          if (hi < 0 || lo < 0) {
            error = "\\x takes two hex digits, e.g. \\x1f";
            return std::nullopt;
          }
          literal += static_cast<char>(hi * 16 + lo);
          i += 2;
          break;
        }
        default:
          literal += '\\';
          literal += e;
      }
      continue;
    }
    if (c != '%') {
      literal += c;
      continue;
    }
    if (i + 1 >= text.size()) {
      error = "the format ends with a lone '%'";
      return std::nullopt;
    }
    char code = text[++i];
    if (code == '%') {
      literal += '%';
      continue;
    }
    if (codes.find(code) == std::string_view::npos) {
      std::string known;
      for (char k : codes) known += fmt::format("%{} ", k);
      error = fmt::format("unknown format code '%{}' (known: {}%%)", code, known);
      return std::nullopt;
    }
    if (code == 's') code = 'v';
    Modifier modifier = Modifier::none;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        error = fmt::format("unterminated modifier after %{}", code);
        return std::nullopt;
      }
      const auto name = text.substr(i + 2, close - i - 2);
      if (name == "hex") {
        modifier = Modifier::hex;
      } else if (name == "base64") {
        modifier = Modifier::base64;
      } else if (name == "json" && use == Use::print) {
        modifier = Modifier::json;
      } else {
        error = fmt::format("unknown modifier '{{{}}}' (known: {{hex}} {{base64}}{})", name,
                            use == Use::print ? " {json}" : "");
        return std::nullopt;
      }
      if (code != 'k' && code != 'v' && code != 'h') {
        error = fmt::format("%{} takes no modifier (only %k, %v and %h do)", code);
        return std::nullopt;
      }
      i = close;
    }
    flush();
    if (use == Use::read && !format.parts_.empty() && format.parts_.back().code != 0) {
      error = fmt::format("%{} follows %{} directly: put the text that separates them between",
                          code, format.parts_.back().code);
      return std::nullopt;
    }
    format.parts_.push_back(Part{code, modifier, {}});
  }
  flush();
  return format;
}

bool RecordTemplate::uses(char code) const {
  for (const auto& p : parts_) {
    if (p.code == code) return true;
  }
  return false;
}

namespace {

void append_bytes(const std::optional<protocol::Bytes>& bytes, int modifier, std::string& out) {
  // modifier: 0 none, 1 hex, 2 base64, 3 json (the order of RecordTemplate::Modifier)
  if (!bytes) {
    if (modifier == 3) out += "null";
    return;
  }
  switch (modifier) {
    case 1:
      out += to_hex(*bytes);
      break;
    case 2:
      out += to_base64(*bytes);
      break;
    case 3:
      if (valid_utf8(*bytes)) {
        append_quoted(out, as_text(*bytes));
      } else {
        append_quoted(out, to_base64(*bytes));
      }
      break;
    default:
      out += as_text(*bytes);
  }
}

}  // namespace

void RecordTemplate::print(const client::ConsumerRecord& r, std::string& out) const {
  for (const auto& part : parts_) {
    const int modifier = static_cast<int>(part.modifier);
    switch (part.code) {
      case 0:
        out += part.text;
        break;
      case 't':
        out += r.topic;
        break;
      case 'p':
        out += std::to_string(r.partition);
        break;
      case 'o':
        out += std::to_string(r.offset);
        break;
      case 'k':
        append_bytes(r.key, modifier, out);
        break;
      case 'K':
        out += std::to_string(r.key ? static_cast<int64_t>(r.key->size()) : -1);
        break;
      case 'v':
        append_bytes(r.value, modifier, out);
        break;
      case 'S':
      case 'V':
        out += std::to_string(r.value ? static_cast<int64_t>(r.value->size()) : -1);
        break;
      case 'T':
        out += std::to_string(r.timestamp);
        break;
      case 'H':
        out += std::to_string(r.headers.size());
        break;
      case 'h':
        if (part.modifier == Modifier::json) {
          out += '{';
          for (size_t i = 0; i < r.headers.size(); ++i) {
            if (i > 0) out += ',';
            append_quoted(out, r.headers[i].key);
            out += ':';
            append_bytes(r.headers[i].value, modifier, out);
          }
          out += '}';
          break;
        }
        for (size_t i = 0; i < r.headers.size(); ++i) {
          if (i > 0) out += ',';
          out += r.headers[i].key;
          out += '=';
          append_bytes(r.headers[i].value, modifier, out);
        }
        break;
      default:
        break;
    }
  }
}

bool RecordTemplate::assign(const Part& part, std::string_view field, InputRecord& out,
                            std::string& error) const {
  auto decode = [&](std::string_view text) -> std::optional<protocol::Bytes> {
    switch (part.modifier) {
      case Modifier::hex:
        if (auto b = from_hex(text)) return b;
        error = fmt::format("%{}{{hex}}: '{}' is not hex", part.code, text);
        return std::nullopt;
      case Modifier::base64:
        if (auto b = from_base64(text)) return b;
        error = fmt::format("%{}{{base64}}: '{}' is not base64", part.code, text);
        return std::nullopt;
      default:
        return to_bytes(text);
    }
  };
  switch (part.code) {
    case 'k': {
      auto bytes = decode(field);
      if (!bytes) return false;
      out.has_key = true;
      out.key = std::move(bytes);
      return true;
    }
    case 'v': {
      auto bytes = decode(field);
      if (!bytes) return false;
      out.has_value = true;
      out.value = std::move(bytes);
      return true;
    }
    case 'p': {
      const auto p = parse_int<int32_t>(field);
      if (!p || *p < 0) {
        error = fmt::format("%p: '{}' is not a partition number", field);
        return false;
      }
      out.partition = *p;
      return true;
    }
    case 'T': {
      const auto t = parse_int<int64_t>(field);
      if (!t || *t < 0) {
        error = fmt::format("%T: '{}' is not a timestamp in milliseconds", field);
        return false;
      }
      out.timestamp = *t;
      return true;
    }
    case 'h': {
      // k=v,k=v; an entry without '=' is a header with a null value.
      std::string_view rest = field;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto entry = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (entry.empty()) continue;
        const auto eq = entry.find('=');
        record::Header h;
        h.key = std::string(entry.substr(0, eq));
        if (eq != std::string_view::npos) {
          auto bytes = decode(entry.substr(eq + 1));
          if (!bytes) return false;
          h.value = std::move(bytes);
        }
        out.headers.push_back(std::move(h));
      }
      return true;
    }
    default:
      return true;
  }
}

RecordTemplate::ReadResult RecordTemplate::read(std::string_view input, bool at_eof,
                                                InputRecord& out, size_t& used,
                                                std::string& error) const {
  out = InputRecord{};
  size_t pos = 0;
  for (size_t i = 0; i < parts_.size(); ++i) {
    const Part& part = parts_[i];
    const bool last = i + 1 == parts_.size();
    if (part.code == 0) {
      const std::string_view rest = input.substr(pos);
      if (rest.size() < part.text.size() && part.text.compare(0, rest.size(), rest) == 0) {
        if (!at_eof) return ReadResult::need_more;
        if (last) {  // the final literal (say, the last newline) may be missing at the end
          pos = input.size();
          break;
        }
      }
      if (rest.substr(0, part.text.size()) != part.text) {
        error = fmt::format("expected {} at byte {} of the record", json_quote(part.text), pos);
        return ReadResult::bad;
      }
      pos += part.text.size();
      continue;
    }
    // A token takes everything up to the next literal (or the end of the input). It never
    // runs over the end of its record (say, a line without the tab that should separate key
    // and value): that is bad input, not a key spanning two lines.
    const Part& terminator = parts_.back();
    const size_t record_end = !last && i + 2 < parts_.size() && terminator.code == 0
                                  ? input.find(terminator.text, pos)
                                  : std::string_view::npos;
    size_t end = input.size();
    if (!last) {
      end = input.find(parts_[i + 1].text, pos);
      if (record_end != std::string_view::npos &&
          (end == std::string_view::npos || record_end < end)) {
        error =
            fmt::format("expected {} before the end of the record", json_quote(parts_[i + 1].text));
        return ReadResult::bad;
      }
      if (end == std::string_view::npos) {
        if (!at_eof) return ReadResult::need_more;
        end = input.size();
      }
    } else if (!at_eof) {
      return ReadResult::need_more;
    }
    const auto field = input.substr(pos, end - pos);
    if (!assign(part, field, out, error)) return ReadResult::bad;
    pos = end;
  }
  used = pos;
  return ReadResult::record;
}

}  // namespace kfk::cli

#include "cli/output_format.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "cli/app.h"

namespace kfk::cli {

namespace {

// Printed width: UTF-8 continuation bytes and "ESC [ ... m" color sequences take no column.
size_t visible_width(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {
      i = text.find('m', i);
      if (i == std::string_view::npos) break;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

bool env_set(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

}  // namespace

OutputFormat listing_format(const GlobalOptions& opts) {
  if (opts.output != OutputFormat::automatic) return opts.output;
  return stdout_is_terminal() ? OutputFormat::table : OutputFormat::json;
}

OutputFormat report_format(const GlobalOptions& opts) {
  return opts.output == OutputFormat::automatic ? OutputFormat::table : opts.output;
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }
bool stdin_is_terminal() { return isatty(STDIN_FILENO) == 1; }

bool colors_enabled() {
  static const bool enabled = stdout_is_terminal() && !env_set("NO_COLOR");
  return enabled;
}

std::string styled(std::string_view text, Style style) {
  if (!colors_enabled() || text.empty()) return std::string(text);
  const char* code = "1";
  switch (style) {
    case Style::header:
      code = "1";
      break;
    case Style::error:
      code = "31";
      break;
    case Style::warning:
      code = "33";
      break;
    case Style::good:
      code = "32";
      break;
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

std::string human_bytes(int64_t bytes) {
  if (bytes < 0) return "-";
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], visible_width(row[i]));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row, bool is_header) {
    std::string line;
    size_t pending_spaces = 0;  // padding is written only before a following cell
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      if (row[i].empty()) {
        pending_spaces += widths[i] + 2;
        continue;
      }
      line.append(pending_spaces, ' ');
      line += is_header ? styled(row[i], Style::header) : row[i];
      pending_spaces = widths[i] - visible_width(row[i]) + 2;
    }
    out += line;
    out += '\n';
  };
  emit(header, true);
  for (const auto& row : rows) emit(row, false);
  return out;
}

namespace {

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

std::string_view as_text(const std::optional<std::vector<uint8_t>>& bytes) {
  if (!bytes) return {};
  return {reinterpret_cast<const char*>(bytes->data()), bytes->size()};
}

}  // namespace

std::optional<std::string> json_utf8(std::span<const uint8_t> bytes) {
  if (!valid_utf8(bytes)) return std::nullopt;
  return json_quote(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string base64(std::span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string json_bytes_field(std::string_view name,
                             const std::optional<std::vector<uint8_t>>& bytes) {
  if (!bytes) return fmt::format("\"{}\":null", name);
  if (auto text = json_utf8(*bytes)) return fmt::format("\"{}\":{}", name, *text);
  return fmt::format("\"{}_base64\":\"{}\"", name, base64(*bytes));
}

std::string record_json(const client::ConsumerRecord& r) {
  std::string out = fmt::format(
      "{{\"topic\":{},\"partition\":{},\"offset\":{},\"timestamp\":{},\"timestamp_type\":\"{}\",",
      json_quote(r.topic), r.partition, r.offset, r.timestamp,
      r.timestamp_type == record::TimestampType::log_append_time ? "LogAppendTime" : "CreateTime");
  out += json_bytes_field("key", r.key);
  out += ',';
  out += json_bytes_field("value", r.value);
  out += ",\"headers\":[";
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"key\":" + json_quote(r.headers[i].key) + ',';
    out += json_bytes_field("value", r.headers[i].value);
    out += '}';
  }
  out += "]}";
  return out;
}

std::optional<RecordFormat> RecordFormat::parse(std::string_view text, std::string& error) {
  RecordFormat format;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) format.parts_.push_back(Part{0, std::move(literal)});
    literal.clear();
  };
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
        case '\\':
          literal += '\\';
          break;
        default:
          literal += '\\';
          literal += e;
      }
    } else if (c == '%') {
      if (i + 1 >= text.size()) {
        error = "the format ends with a lone '%'";
        return std::nullopt;
      }
      const char code = text[++i];
      if (code == '%') {
        literal += '%';
        continue;
      }
      if (std::string_view("tpokKsSTh").find(code) == std::string_view::npos) {
        error =
            fmt::format("unknown format code '%{}' (known: %t %p %o %k %K %s %S %T %h %%)", code);
        return std::nullopt;
      }
      flush();
      format.parts_.push_back(Part{code, {}});
    } else {
      literal += c;
    }
  }
  flush();
  return format;
}

void RecordFormat::append(const client::ConsumerRecord& r, std::string& out) const {
  for (const auto& part : parts_) {
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
        out += as_text(r.key);
        break;
      case 'K':
        out += std::to_string(r.key ? static_cast<int64_t>(r.key->size()) : -1);
        break;
      case 's':
        out += as_text(r.value);
        break;
      case 'S':
        out += std::to_string(r.value ? static_cast<int64_t>(r.value->size()) : -1);
        break;
      case 'T':
        out += std::to_string(r.timestamp);
        break;
      case 'h':
        for (size_t i = 0; i < r.headers.size(); ++i) {
          if (i > 0) out += ',';
          out += r.headers[i].key;
          out += '=';
          out += as_text(r.headers[i].value);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace kfk::cli

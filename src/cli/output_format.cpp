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

}  // namespace kfk::cli

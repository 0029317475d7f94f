// Output helpers of the client commands: which format a command prints in (--output, the
// terminal), colors and aligned text tables. Structured output (JSON, YAML) is in
// output_value.h; the text forms of records in record_format.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kfk::cli {

enum class OutputFormat;  // app.h
struct GlobalOptions;     // app.h

// The format a listing or description prints in: what --output asked for, else a table on a
// terminal and JSON when stdout is a pipe or a file, so that scripts get the stable shapes.
// Returns table, json or yaml.
OutputFormat listing_format(const GlobalOptions& opts);
// The format of a command that reports what it did (create, delete, ...): what --output
// asked for, else table (sentences for people).
OutputFormat report_format(const GlobalOptions& opts);

bool stdout_is_terminal();
bool stdin_is_terminal();
// Colors and bold only when stdout is a terminal and NO_COLOR is unset or empty
// (https://no-color.org).
bool colors_enabled();
enum class Style { header, error, warning, good };
// `text` wrapped in the style's escape codes, or unchanged when colors are off.
std::string styled(std::string_view text, Style style);
// "512 B", "1.5 KiB", "12.0 MiB", ...; "-" for a negative size (unknown).
std::string human_bytes(int64_t bytes);

// Columns padded to their widest cell, two spaces apart; no trailing spaces. Widths count
// characters, not bytes, and ignore color escapes; the header is bold when colors are on.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace kfk::cli

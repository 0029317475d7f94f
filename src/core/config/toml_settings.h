// Reading TOML configuration files into Kafka-named settings. The TOML library stays inside
// toml_settings.cpp; callers see only Setting values.
//
// Keys are Kafka names. These spell the same setting:
//
//   "log.dirs" = "/data/a,/data/b"   # a quoted key holding the whole dotted name
//   log.dirs = ["/data/a", "/data/b"]  # a TOML dotted key
//   [log]
//   dirs = ["/data/a", "/data/b"]      # a table: its name prefixes the keys inside
//
// Strings, integers, floats and booleans are all accepted (their text is checked against the
// setting's type later); an array gives a list. Dates, times, nested arrays and arrays of
// tables are refused. A name given twice in a file (say "log.dirs" and [log] dirs) is an
// error. Each setting's origin is "<source>:<line>:<column>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_def.h"
#include "core/config/result.h"

namespace kfk::config {

// `source_name` names the document in origins and errors (a path, "<string>").
Result<std::vector<Setting>> read_toml_settings(std::string_view text,
                                                std::string_view source_name);
Result<std::vector<Setting>> read_toml_file(const std::string& path);

// One "key=value" command-line setting (--set, -X), with origin `origin`.
Result<Setting> parse_setting_arg(std::string_view arg, std::string_view origin);

}  // namespace kfk::config

// What the files of `kfk topic` share: topic.cpp (create, list, alter-config, add-partitions),
// topic_describe.cpp (describe, offsets) and topic_delete.cpp (delete, trim).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/app.h"
#include "core/client/admin.h"
#include "core/client/client.h"
#include "core/config/client_config.h"

namespace kfk::cli {

// A client built from the global options, with the topic admin over it.
struct TopicSession {
  TopicSession(const GlobalOptions& opts, const std::string& command);
  config::ClientConfig config;
  client::Client client;
  client::Admin admin;
};

// Adds a paragraph (e.g. the JSON shape) before the help footer the command inherited.
void add_footer(CLI::App& cmd, const std::string& text);

// Checks KEY=VALUE arguments (--config, --set).
CLI::Validator key_value_validator();

// The broker's error `code` for `context`, with the broker's own message when it sent one.
CliError topic_kafka_error(int16_t code, const std::string& broker_message,
                           const std::string& context);

// Destructive commands ask first. With `yes` nothing is asked; else on a terminal the
// question goes to stderr and anything but y/yes cancels (ExitCode::error); when stdin is not
// a terminal nobody can answer, so it is a usage error asking for --yes.
void require_stdin_terminal_or_yes(bool yes, const std::string& context);
void confirm(bool yes, const std::string& question, const std::string& context);

// A point in time for offsets by time: client::parse_time_point, the TIME of `kfk consume -o
// @TIME` and `kfk group reset-offsets --to-datetime`: milliseconds since the epoch
// ("1714557600000"), RFC 3339 / ISO 8601 ("2024-05-01T12:00:00Z", "2024-05-01"), "now", or
// relative to now ("-10m", "-2h", "-1h30m", "-7d", "-500ms"). nullopt when malformed.
std::optional<int64_t> parse_point_in_time(std::string_view text, int64_t now_ms);
inline constexpr std::string_view kTimeFormats =
    "use milliseconds since the epoch, a date and time like 2024-05-01T12:00:00Z, or a time "
    "before now like -10m, -2h, -7d";
int64_t now_ms();

void add_topic_describe_commands(CLI::App& topic, GlobalOptions& opts);
void add_topic_delete_commands(CLI::App& topic, GlobalOptions& opts);

}  // namespace kfk::cli

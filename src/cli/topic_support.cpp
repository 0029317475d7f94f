#include "cli/topic_support.h"

#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <iostream>

#include "cli/client_support.h"
#include "cli/output_format.h"
#include "core/client/consumer.h"

namespace kfk::cli {

TopicSession::TopicSession(const GlobalOptions& opts, const std::string& command)
    : config(client_config(opts, command)), client(client_options(opts, config)), admin(client) {}

void add_footer(CLI::App& cmd, const std::string& text) {
  const std::string inherited = cmd.get_footer();
  cmd.footer(inherited.empty() ? text : text + "\n\n" + inherited);
}

CLI::Validator key_value_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (split_key_value(text).first.empty()) {
          return fmt::format("expected KEY=VALUE, got '{}'", text);
        }
        return {};
      },
      "KEY=VALUE", "key=value");
}

CliError topic_kafka_error(int16_t code, const std::string& broker_message,
                           const std::string& context) {
  CliError e = kafka_error(code, context);
  if (broker_message.empty()) return e;
  return CliError(e.code(), std::string(e.what()) + " (" + broker_message + ")", e.hint());
}

void require_stdin_terminal_or_yes(bool yes, const std::string& context) {
  if (yes || stdin_is_terminal()) return;
  throw CliError(ExitCode::usage, context + ": refusing to go on without confirmation",
                 "stdin is not a terminal, so kfk cannot ask: add --yes to go ahead");
}

void confirm(bool yes, const std::string& question, const std::string& context) {
  if (yes) return;
  require_stdin_terminal_or_yes(yes, context);
  fmt::print(stderr, "{} [y/N] ", question);
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  for (auto& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (answer == "y" || answer == "yes") return;
  throw CliError(ExitCode::error, context + ": cancelled, nothing was changed",
                 "answer y to go ahead, or pass --yes");
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> parse_point_in_time(std::string_view text, int64_t now) {
  return client::parse_time_point(text, now);  // the TIME of `kfk consume -o @TIME`
}

}  // namespace kfk::cli

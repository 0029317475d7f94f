// What the client commands (topic, produce, consume) share: the client settings built from the
// global options (-b, -X), the mapping of client failures to CliError and exit codes, and
// Ctrl-C handling.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "cli/app.h"
#include "core/client/client.h"
#include "core/config/client_config.h"

namespace kfk::cli {

// The -X properties checked with the Java client's rules; a bad one is a usage error.
config::ClientConfig client_config(const GlobalOptions& opts, std::string_view command);
client::ClientOptions client_options(const GlobalOptions& opts, const config::ClientConfig& cfg);

// Turns the exception being handled (net::NetError, client::ClientError, CliError) into a
// CliError whose message starts with `context`. Call only inside a catch block.
[[noreturn]] void rethrow_as_cli_error(std::string_view context);

// Runs `body`, reporting client failures as CliErrors led by `context`.
template <class F>
decltype(auto) with_client_errors(std::string_view context, F&& body) {
  try {
    return std::forward<F>(body)();
  } catch (const CliError&) {
    throw;
  } catch (...) {
    rethrow_as_cli_error(context);
  }
}

// client.topic(name), a missing topic reported as a CliError led by `context` whose hint also
// names the existing topics close to `name` ("did you mean 'orders'?").
const client::TopicMetadata& existing_topic(client::Client& client, const std::string& name,
                                            std::string_view context,
                                            bool allow_auto_create = false);
// "did you mean 'x'?" among the broker's topics, or "" (also when the broker cannot say).
std::string close_topic_names(client::Client& client, std::string_view name);

// Notes for people about what a command is doing (waiting at the end of the log, an offset
// reset, a lost connection, a summary): on stderr, and only when stderr is a terminal and -q
// was not given, so scripts and JSON output never see them.
bool notes_enabled(const GlobalOptions& opts);
void note(const GlobalOptions& opts, std::string_view command, std::string_view text);

// Ctrl-C: the first SIGINT or SIGTERM sets a flag the command checks between steps; commands
// then finish cleanly (a consumer commits and leaves its group, a producer flushes) and exit
// with ExitCode::interrupted. A second signal ends the process at once.
void catch_interrupts();
bool interrupted();
// Ends the process with ExitCode::interrupted, printing nothing.
[[noreturn]] void exit_interrupted();

// A "KEY=VALUE" argument split at the first '='; nullopt-like empty key on error.
std::pair<std::string, std::string> split_key_value(std::string_view text);

}  // namespace kfk::cli

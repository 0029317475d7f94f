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

// Ctrl-C: the first SIGINT sets a flag the command checks between steps; commands then stop
// quietly with ExitCode::interrupted. A second Ctrl-C ends the process at once.
void catch_interrupts();
bool interrupted();
// Ends the process with ExitCode::interrupted, printing nothing.
[[noreturn]] void exit_interrupted();

// A "KEY=VALUE" argument split at the first '='; nullopt-like empty key on error.
std::pair<std::string, std::string> split_key_value(std::string_view text);

}  // namespace kfk::cli

// The kfk command line: global options shared by every command, the errors commands throw,
// and the helpers that turn both into exit codes (see exit_codes.h).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cli/exit_codes.h"

namespace kfk::cli {

// What --output asked for. `automatic` (no --output) lets each command choose: listings and
// descriptions print a table on a terminal and JSON otherwise (see listing_format() in
// output_format.h). `text` is the older name of `table`.
enum class OutputFormat { automatic, table, json, yaml, text = table };

// Options accepted before or after any command. The *_arg fields hold what was typed; the
// others are filled from them once parsing has finished, before any command runs.
struct GlobalOptions {
  std::string brokers_arg = "localhost:9092";
  std::vector<std::string> property_args;  // each "key=value"
  std::string profile_arg;                 // --profile
  std::string client_id_arg;               // --client-id
  // Reserved for TLS and SASL: accepted so scripts can be written now, refused by client
  // commands (exit 5) until the client speaks them.
  bool tls = false;            // --tls
  std::string tls_ca_file;     // --tls-ca
  std::string tls_cert_file;   // --tls-cert
  std::string tls_key_file;    // --tls-key
  std::string sasl_mechanism;  // --sasl-mechanism
  std::string sasl_username;   // --sasl-username
  std::string sasl_password;   // --sasl-password
  std::string output_arg = "auto";
  int verbosity = 0;  // -v info, -vv debug, -vvv trace; warnings only without -v
  bool quiet = false;

  std::vector<std::string> brokers;               // "host:port", in the order given
  std::map<std::string, std::string> properties;  // Kafka client properties from -X
  // Where the settings came from (profile.h): flag > environment > profile > default.
  std::string brokers_given;   // -b, else KFK_BROKERS, as written; empty when neither
  std::string brokers_source;  // "--brokers", "KFK_BROKERS", "profile NAME" or "default"
  std::string profile;         // the profile in use; empty for none
  std::string profile_source;  // "--profile", "KFK_PROFILE" or "current"
  // A bad profile file, profile name or KFK_BROKERS: client commands fail with it (as a
  // usage error), other commands (server, profile) still run.
  std::string settings_error;
  OutputFormat output = OutputFormat::automatic;
};

// An error a command reports to the user. The message is printed to stderr as it is, so start
// it with command_path() ("kfk topic create: ..."); then comes "hint: ..." if there is a hint,
// and kfk exits with `code`.
class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message, std::string hint = {})
      : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}

  ExitCode code() const { return code_; }
  const std::string& hint() const { return hint_; }

 private:
  ExitCode code_;
  std::string hint_;
};

// The broker answered `code`: message and hint come from the Kafka error table. `context`
// leads the message, e.g. "kfk topic create orders".
CliError kafka_error(int16_t code, std::string_view context);

// Sets up `app` as the kfk executable: global options, every command, help text.
void build_app(CLI::App& app, GlobalOptions& opts);

// Marks `cmd` as a command this version does not provide yet: it accepts any arguments and
// fails with ExitCode::not_available, saying `why`.
void make_placeholder(CLI::App& cmd, std::string why);
bool is_placeholder(const CLI::App& cmd);

// "kfk topic list" for the `list` subcommand of `topic`.
std::string command_path(const CLI::App& cmd);
// The deepest subcommand the command line selected, or `app` itself.
const CLI::App& selected_command(const CLI::App& app);

// Print the error to stderr and return the exit code for it.
int report_parse_error(CLI::App& app, const CLI::ParseError& e);
int report_error(const CliError& e);

// Checks and normalises a comma-separated broker list ("host[:port],..."; the port defaults
// to 9092). Returns an error message, or an empty string and fills `out`.
std::string parse_broker_list(std::string_view text, std::vector<std::string>& out);
// Checks one -X argument. Returns an error message or an empty string.
std::string check_property(std::string_view text);

}  // namespace kfk::cli

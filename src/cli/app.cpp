#include "cli/app.h"

#include <fmt/core.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/profile.h"
#include "cli/suggest.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

// Placeholder commands and the reason each gives.
std::map<const CLI::App*, std::string>& placeholders() {
  static std::map<const CLI::App*, std::string> registered;
  return registered;
}

CliError placeholder_error(const CLI::App& cmd) {
  return CliError(ExitCode::not_available, command_path(cmd) + ": " + placeholders().at(&cmd));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 65535;
}

bool is_host(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// One "host[:port]" or "[v6addr][:port]" entry, normalised to always carry a port.
std::string parse_broker(std::string_view entry, std::string& out) {
  std::string_view host;
  std::string_view port = "9092";
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos || close == 1)
      return "unterminated or empty '[' in address";
    host = entry.substr(0, close + 1);
    const auto rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "expected ':' after ']'";
      port = rest.substr(1);
    }
  } else {
    const auto colon = entry.rfind(':');
    if (colon != std::string_view::npos) {
      if (entry.find(':') != colon) return "IPv6 addresses go in brackets, e.g. [::1]:9092";
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
    } else {
      host = entry;
    }
    if (!is_host(host)) return "invalid host name";
  }
  if (!is_port(port)) return "port must be a number from 1 to 65535";
  out.assign(host);
  out += ':';
  out += port;
  return {};
}

void configure_logging(const GlobalOptions& opts) {
  auto logger = spdlog::get("kfk");
  if (!logger) logger = spdlog::stderr_color_mt("kfk");
  logger->set_pattern("kfk: %^%l%$: %v");
  spdlog::set_default_logger(logger);

  auto level = spdlog::level::warn;
  if (opts.quiet) {
    level = spdlog::level::err;
  } else if (opts.verbosity == 1) {
    level = spdlog::level::info;
  } else if (opts.verbosity == 2) {
    level = spdlog::level::debug;
  } else if (opts.verbosity >= 3) {
    level = spdlog::level::trace;
  }
  spdlog::set_level(level);
}

// The profile in use and the brokers, by precedence: flag > environment > profile > default.
// Problems go to opts.settings_error, for the client commands to report.
void apply_profile(GlobalOptions& opts, bool brokers_flag) {
  opts.profile.clear();
  opts.profile_source.clear();
  opts.settings_error.clear();
  const char* env_profile = std::getenv("KFK_PROFILE");
  const char* env_brokers = std::getenv("KFK_BROKERS");
  ProfileStore store;
  const std::string path = profile_config_path();
  const std::string load_error = load_profiles(path, store);
  if (!opts.profile_arg.empty()) {
    opts.profile = opts.profile_arg;
    opts.profile_source = "--profile";
  } else if (env_profile != nullptr && *env_profile != '\0') {
    opts.profile = env_profile;
    opts.profile_source = "KFK_PROFILE";
  } else if (load_error.empty() && !store.current.empty()) {
    opts.profile = store.current;
    opts.profile_source = "current";
  }
  const Profile* profile = nullptr;
  if (!load_error.empty()) {
    opts.settings_error = fmt::format("reading profiles: {}", load_error);
  } else if (!opts.profile.empty()) {
    auto it = store.profiles.find(opts.profile);
    if (it == store.profiles.end()) {
      opts.settings_error = fmt::format("no profile named '{}' (from {}) in {}", opts.profile,
                                        opts.profile_source, path);
    } else {
      profile = &it->second;
    }
  }

  // Not opts.brokers_arg: in the shell it may still hold an earlier command's -b.
  std::string brokers = "localhost:9092";
  opts.brokers_source = "default";
  opts.brokers_given.clear();
  if (brokers_flag) {
    brokers = opts.brokers_arg;
    opts.brokers_source = "--brokers";
    opts.brokers_given = opts.brokers_arg;
  } else if (env_brokers != nullptr && *env_brokers != '\0') {
    brokers = env_brokers;
    opts.brokers_source = "KFK_BROKERS";
    opts.brokers_given = brokers;
  } else if (profile != nullptr && !profile->brokers.empty()) {
    brokers = profile->brokers;
    opts.brokers_source = "profile " + opts.profile;
  }
  opts.brokers.clear();
  if (auto error = parse_broker_list(brokers, opts.brokers); !error.empty()) {
    opts.settings_error = fmt::format("{}: {}", opts.brokers_source, error);
    parse_broker_list("localhost:9092", opts.brokers);
  }

  // Properties: the profile's, then -X, then --client-id.
  opts.properties.clear();
  if (profile != nullptr) {
    opts.properties = profile->properties;
    if (!profile->client_id.empty()) opts.properties["client.id"] = profile->client_id;
  }
}

// Runs once parsing succeeded and before any command: the validators have already accepted
// every value; a bad profile or environment is kept in opts.settings_error.
void finish_global_options(GlobalOptions& opts, bool brokers_flag) {
  apply_profile(opts, brokers_flag);
  for (const auto& arg : opts.property_args) {
    const auto eq = arg.find('=');
    opts.properties[arg.substr(0, eq)] = arg.substr(eq + 1);  // a repeated key: last one wins
  }
  if (!opts.client_id_arg.empty()) opts.properties["client.id"] = opts.client_id_arg;
  opts.output = opts.output_arg == "json"   ? OutputFormat::json
                : opts.output_arg == "yaml" ? OutputFormat::yaml
                : opts.output_arg == "auto" ? OutputFormat::automatic
                                            : OutputFormat::table;  // "table" or "text"
  configure_logging(opts);
  spdlog::debug("brokers: {}", opts.brokers_arg);
}

std::string help_footer() {
  std::string text = "Exit status:\n";
  for (const auto& [code, meaning] : kExitCodes) {
    text += fmt::format("  {:<4} {}\n", to_int(code), meaning);
  }
  text +=
      "\nEnvironment:\n"
      "  KFK_BROKERS  brokers to use when -b/--brokers is not given\n"
      "  KFK_PROFILE  connection profile to use when --profile is not given (see 'kfk profile')\n"
      "  NO_COLOR     set to turn colors off (colors are only used on a terminal)\n"
      "\nGlobal options may also follow the command. Run 'kfk COMMAND --help' for a command's "
      "options.";
  return text;
}

}  // namespace

CliError kafka_error(int16_t code, std::string_view context) {
  std::string message{context};
  if (!message.empty()) message += ": ";
  message += protocol::describe_error(code);
  return CliError(ExitCode::kafka, message, std::string(protocol::error_hint(code)));
}

void build_app(CLI::App& app, GlobalOptions& opts) {
  app.name("kfk");
  app.description("kfk " KFK_VERSION
                  " - a Kafka-compatible event-streaming platform in one binary");
  app.set_version_flag("--version", std::string("kfk ") + KFK_VERSION,
                       "Print the version and exit");
  // Subcommands copy this when created: unknown options in a command are then tried as
  // global options, so `kfk topic list -b host` works like `kfk -b host topic list`.
  app.fallthrough();

  const std::string globals = "Global options";
  // KFK_BROKERS is read in apply_profile(), which needs to know where the brokers came from.
  auto* brokers =
      app.add_option("-b,--brokers", opts.brokers_arg,
                     "Bootstrap brokers, comma-separated host[:port] (port 9092 if left out); "
                     "default: KFK_BROKERS, else the profile's, else localhost:9092")
          ->capture_default_str()
          ->type_name("LIST")
          ->check(CLI::Validator(
              [](std::string& text) {
                std::vector<std::string> ignored;
                return parse_broker_list(text, ignored);
              },
              "", "brokers"))
          ->group(globals);
  app.add_option("-X,--property", opts.property_args,
                 "Kafka client property as KEY=VALUE, e.g. -X acks=all (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)  // one value per -X, so a following argument stays an argument
      ->check(
          CLI::Validator([](std::string& text) { return check_property(text); }, "", "property"))
      ->group(globals);
  app.add_option("-o,--output", opts.output_arg,
                 "Output format: table, json or yaml (text = table); auto: listings print a "
                 "table on a terminal, json otherwise")
      ->capture_default_str()
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"auto", "table", "text", "json", "yaml"}))
      ->group(globals);
  app.add_option("--profile", opts.profile_arg,
                 "Connection profile to use (default: KFK_PROFILE, else the current one; see "
                 "'kfk profile')")
      ->type_name("NAME")
      ->group(globals);
  app.add_option("--client-id", opts.client_id_arg,
                 "Client id sent with every request (the client.id property)")
      ->type_name("ID")
      ->group(globals);
  const std::string security = "Security (reserved: not available in this version)";
  app.add_flag("--tls", opts.tls, "Connect with TLS (security.protocol SSL or SASL_SSL)")
      ->group(security);
  app.add_option("--tls-ca", opts.tls_ca_file, "CA certificates to trust (PEM file)")
      ->type_name("FILE")
      ->group(security);
  app.add_option("--tls-cert", opts.tls_cert_file, "Client certificate (PEM file)")
      ->type_name("FILE")
      ->group(security);
  app.add_option("--tls-key", opts.tls_key_file, "Client private key (PEM file)")
      ->type_name("FILE")
      ->group(security);
  app.add_option("--sasl-mechanism", opts.sasl_mechanism, "SASL mechanism")
      ->type_name("NAME")
      ->check(CLI::IsMember({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"}))
      ->group(security);
  app.add_option("--sasl-username", opts.sasl_username, "SASL user name")
      ->type_name("NAME")
      ->group(security);
  app.add_option("--sasl-password", opts.sasl_password, "SASL password")
      ->type_name("TEXT")
      ->group(security);
  auto* verbose =
      app.add_flag("-v,--verbose", opts.verbosity,
                   "Log more on stderr: -v info, -vv debug, -vvv trace (default: warnings)")
          ->group(globals);
  app.add_flag("-q,--quiet", opts.quiet, "Print only errors")->excludes(verbose)->group(globals);

  // The root runs this before any command's callback.
  app.parse_complete_callback(
      [&opts, brokers] { finish_global_options(opts, brokers->count() > 0); });

  // Every command copies this footer when created; the top level gets the full one below.
  app.footer("Global options (-b, -X, -o, -v, -q) are listed by 'kfk --help'.");
  add_server_command(app, opts);
  add_topic_command(app, opts);
  add_produce_command(app, opts);
  add_consume_command(app, opts);
  add_group_command(app, opts);
  add_cluster_command(app, opts);
  add_broker_command(app, opts);
  add_connect_command(app, opts);
  add_schema_command(app, opts);
  add_profile_command(app, opts);
  add_help_command(app, opts);
  add_perf_command(app, opts);
  add_shell_command(app, opts);
  add_completion_command(app, opts);
  add_man_command(app, opts);
  add_debug_command(app, opts);

  app.footer(help_footer());
}

void make_placeholder(CLI::App& cmd, std::string why) {
  placeholders()[&cmd] = std::move(why);
  // Swallow positionals so that any planned syntax reaches the "not available" message;
  // unknown options are caught in report_parse_error().
  cmd.add_option_function<std::vector<std::string>>(
         "args", [](const std::vector<std::string>&) {}, "Ignored in this version")
      ->group("");
  cmd.callback([&cmd] { throw placeholder_error(cmd); });
}

bool is_placeholder(const CLI::App& cmd) { return placeholders().count(&cmd) > 0; }

std::string command_path(const CLI::App& cmd) {
  const CLI::App* parent = cmd.get_parent();
  return parent == nullptr ? cmd.get_name() : command_path(*parent) + ' ' + cmd.get_name();
}

const CLI::App& selected_command(const CLI::App& app) {
  const CLI::App* cmd = &app;
  for (auto subs = cmd->get_subcommands(); !subs.empty(); subs = cmd->get_subcommands()) {
    cmd = subs.front();
  }
  return *cmd;
}

int report_parse_error(CLI::App& app, const CLI::ParseError& e) {
  // --help and --version arrive as "errors" with a success code; CLI11 prints them.
  if (e.get_exit_code() == 0) return app.exit(e);

  const CLI::App& cmd = selected_command(app);
  const bool extras = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
  if (extras && is_placeholder(cmd)) {
    // Options we do not know yet, given to a command we do not have yet: the missing
    // command is the real news.
    return report_error(placeholder_error(cmd));
  }

  const bool required = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
  if (required && cmd.get_name() == "help" && cmd.get_parent() == &app) {
    // `kfk help` alone: kfk's own help, as `kfk --help` prints it.
    fmt::print("{}",
               app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal));
    return to_int(ExitCode::ok);
  }
  std::string message = e.what();
  // A word where a command was expected (`kfk tpoic`, `kfk topic lsit`): name it, and the
  // commands it is close to.
  const auto subcommands = cmd.get_subcommands([](const CLI::App* sub) {
    return !sub->get_name().empty() && !sub->get_group().empty();  // hidden ones have no group
  });
  if ((extras || required) && !subcommands.empty()) {
    // The unknown word stays with the command, or (fallthrough) reaches the top.
    auto rest = cmd.remaining();
    if (rest.empty()) rest = app.remaining(true);
    if (!rest.empty() && !rest.front().empty() && rest.front().front() != '-') {
      std::vector<std::string> names;
      for (const auto* sub : subcommands) names.push_back(sub->get_name());
      message = fmt::format("unknown command '{}'", rest.front());
      if (auto close = did_you_mean(rest.front(), names); !close.empty()) {
        message += "; " + close;
      }
    }
  }
  fmt::print(stderr, "{}: {}\n", command_path(cmd), message);
  fmt::print(stderr, "Run '{} --help' for usage.\n", command_path(cmd));
  return to_int(ExitCode::usage);
}

int report_error(const CliError& e) {
  fmt::print(stderr, "{}\n", e.what());
  if (!e.hint().empty()) fmt::print(stderr, "hint: {}\n", e.hint());
  return to_int(e.code());
}

std::string parse_broker_list(std::string_view text, std::vector<std::string>& out) {
  std::vector<std::string> brokers;
  while (true) {
    const auto comma = text.find(',');
    const auto entry = trim(text.substr(0, comma));
    if (entry.empty()) return "empty entry in broker list";
    std::string broker;
    if (auto error = parse_broker(entry, broker); !error.empty()) {
      return fmt::format("bad broker '{}': {}", entry, error);
    }
    brokers.push_back(std::move(broker));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  out = std::move(brokers);
  return {};
}

std::string check_property(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return fmt::format("expected KEY=VALUE (a Kafka client property), got '{}'", text);
  }
  for (char c : text.substr(0, eq)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return fmt::format("invalid property name '{}'", text.substr(0, eq));
  }
  return {};
}

}  // namespace kfk::cli

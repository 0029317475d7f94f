#include "cli/client_support.h"

#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "cli/suggest.h"
#include "core/net/net_error.h"
#include "core/protocol/errors.h"

namespace kfk::cli {

namespace {

constexpr std::string_view kConnectionHint =
    "check -b/--brokers (or KFK_BROKERS) and that the broker is running and reachable";

std::atomic<bool> g_interrupted{false};

// SIGINT (Ctrl-C) and SIGTERM (kill, timeout, CI runners) both ask the command to stop; a
// second one of either ends the process as that signal does by default.
extern "C" void on_stop_signal(int sig) {
  if (g_interrupted.exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

config::ClientConfig client_config(const GlobalOptions& opts, std::string_view command) {
  if (!opts.settings_error.empty()) {
    throw CliError(ExitCode::usage, fmt::format("{}: {}", command, opts.settings_error),
                   "check --profile / KFK_PROFILE, KFK_BROKERS and 'kfk profile list'");
  }
  auto result = config::make_client_config(opts.properties);
  if (!result.ok()) {
    std::string text;
    for (const auto& e : result.errors()) text += "\n  -X " + e;
    throw CliError(ExitCode::usage, fmt::format("{}: invalid client properties:{}", command, text),
                   "use Kafka client property names and values, e.g. -X request.timeout.ms=5000");
  }
  // Sending plaintext to a broker that was asked for TLS or SASL would be worse than failing.
  const bool security_flags = opts.tls || !opts.tls_ca_file.empty() ||
                              !opts.tls_cert_file.empty() || !opts.tls_key_file.empty() ||
                              !opts.sasl_mechanism.empty() || !opts.sasl_username.empty() ||
                              !opts.sasl_password.empty();
  if (security_flags || result.value().security_protocol != config::SecurityProtocol::plaintext) {
    throw CliError(ExitCode::not_available,
                   fmt::format("{}: TLS and SASL are not available in this version", command),
                   "connect to a PLAINTEXT listener (security.protocol=PLAINTEXT)");
  }
  return std::move(result).value();
}

client::ClientOptions client_options(const GlobalOptions& opts, const config::ClientConfig& cfg) {
  client::ClientOptions o;
  for (const auto& b : opts.brokers) {
    std::string error;
    if (auto address = client::parse_address(b, error)) o.bootstrap.push_back(*address);
  }
  if (!cfg.client_id.empty()) o.client_id = cfg.client_id;
  o.connect_timeout = std::chrono::milliseconds(cfg.socket_connection_setup_timeout_ms);
  o.request_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
  o.api_timeout = std::chrono::milliseconds(cfg.default_api_timeout_ms);
  o.retry_backoff = std::chrono::milliseconds(cfg.retry_backoff_ms);
  o.retry_backoff_max = std::chrono::milliseconds(cfg.retry_backoff_max_ms);
  o.metadata_max_age = std::chrono::milliseconds(cfg.metadata_max_age_ms);
  if (notes_enabled(opts)) {
    o.on_connection_change = [](const std::string& what) {
      fmt::print(stderr, "kfk: {}\n", what);
      std::fflush(stderr);
    };
  }
  return o;
}

bool notes_enabled(const GlobalOptions& opts) {
  return !opts.quiet && ::isatty(STDERR_FILENO) == 1;
}

void note(const GlobalOptions& opts, std::string_view command, std::string_view text) {
  if (!notes_enabled(opts)) return;
  fmt::print(stderr, "{}: {}\n", command, text);
  std::fflush(stderr);
}

void rethrow_as_cli_error(std::string_view context) {
  const std::string ctx(context);
  try {
    throw;
  } catch (const CliError&) {
    throw;
  } catch (const net::NetError& e) {
    switch (e.kind()) {
      case net::NetErrorKind::connect:
      case net::NetErrorKind::closed:
      case net::NetErrorKind::timeout:
        throw CliError(ExitCode::connection, ctx + ": " + e.what(), std::string(kConnectionHint));
      case net::NetErrorKind::unsupported:
        throw CliError(ExitCode::kafka,
                       fmt::format("{}: {} ({})", ctx, e.what(),
                                   protocol::error_name(
                                       protocol::to_int(protocol::ErrorCode::unsupported_version))),
                       "the broker is older than this command needs, or does not offer it");
      case net::NetErrorKind::protocol:
        throw CliError(ExitCode::error, ctx + ": " + e.what(),
                       "the broker sent a response this client cannot read; rerun with -vv "
                       "and report it");
    }
    throw CliError(ExitCode::error, ctx + ": " + e.what());
  } catch (const client::ClientError& e) {
    switch (e.kind()) {
      case client::ClientErrorKind::kafka:
        throw CliError(ExitCode::kafka, ctx + ": " + e.what(),
                       std::string(protocol::error_hint(e.code())));
      case client::ClientErrorKind::connection:
      case client::ClientErrorKind::timeout:
        throw CliError(ExitCode::connection, ctx + ": " + e.what(),
                       e.code() != 0 ? std::string(protocol::error_hint(e.code()))
                                     : std::string(kConnectionHint));
      case client::ClientErrorKind::invalid_argument:
        throw CliError(ExitCode::usage, ctx + ": " + e.what());
      case client::ClientErrorKind::protocol:
        throw CliError(ExitCode::error, ctx + ": " + e.what());
    }
    throw CliError(ExitCode::error, ctx + ": " + e.what());
  }
  // Not reached: every handler above throws. Anything else (std::bad_alloc, logic errors)
  // leaves the try block as it is and goes on to main's internal-error report.
  throw;
}

std::string close_topic_names(client::Client& client, std::string_view name) {
  try {
    std::vector<std::string> names;
    for (const auto& [topic, meta] : client.fetch_metadata(std::nullopt).topics) {
      if (!meta.internal) names.push_back(topic);
    }
    return did_you_mean(name, names);
  } catch (const std::exception&) {
    return {};  // only a suggestion: the error at hand is what matters
  }
}

const client::TopicMetadata& existing_topic(client::Client& client, const std::string& name,
                                            std::string_view context, bool allow_auto_create) {
  try {
    return client.topic(name, allow_auto_create);
  } catch (const client::ClientError& e) {
    if (e.kind() != client::ClientErrorKind::kafka ||
        e.code() != protocol::to_int(protocol::ErrorCode::unknown_topic_or_partition)) {
      throw;
    }
    const std::string close = close_topic_names(client, name);
    throw CliError(ExitCode::kafka, fmt::format("{}: {}", context, e.what()),
                   close.empty() ? std::string(protocol::error_hint(e.code()))
                                 : fmt::format("{} ('kfk topic list' shows the topics)", close));
  }
}

void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and we look at the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() { return g_interrupted.load(); }

void exit_interrupted() {
  std::fflush(stdout);
  std::exit(to_int(ExitCode::interrupted));
}

std::pair<std::string, std::string> split_key_value(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return {};
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

}  // namespace kfk::cli

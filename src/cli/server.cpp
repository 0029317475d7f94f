// kfk server: runs the broker in the foreground (`start`) and prepares data directories
// (`format`), both configured by a TOML file and Kafka-named `--set key=value` overrides.
#include <fmt/core.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/config/broker_config.h"
#include "core/config/kafka_compat_configs.h"
#include "server/broker.h"
#include "server/cluster/meta_properties.h"
#include "server/storage/file_io.h"

namespace kfk::cli {

namespace {

struct ServerOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string cluster_id;  // format only
};

config::BrokerConfig load_config(const ServerOptions& o, const std::string& command) {
  std::optional<std::string> path;
  if (!o.config_path.empty()) path = o.config_path;
  auto loaded = config::load_broker_config(path, o.overrides);
  if (!loaded.ok()) {
    throw CliError(ExitCode::usage, command + ": invalid configuration:\n  " + loaded.error_text(),
                   "fix the settings above in the file given with --config or in --set; "
                   "the broker was not started");
  }
  config::BrokerConfig cfg = std::move(loaded).value();
  // Kafka settings kfk accepts so that Kafka's files load, but does not act on.
  if (auto names = config::settings_without_effect(cfg.values); !names.empty()) {
    std::string list;
    for (const auto& name : names) {
      list += (list.empty() ? "" : ", ") + name;
      if (const auto* key = cfg.values.def()->find(name)) config::warn_deprecated_once(*key);
    }
    spdlog::warn("settings accepted for compatibility but without effect in kfk: {}", list);
  }
  // listener.name.<listener>.*: only max.connections acts (TLS and SASL are not served yet).
  for (const auto& [listener, settings] : cfg.listener_settings) {
    const std::string& name = listener;  // clang: a lambda cannot capture a structured binding
    const bool known = std::any_of(cfg.listeners.begin(), cfg.listeners.end(),
                                   [&](const auto& l) { return l.name == name; });
    if (!known)
      spdlog::warn("settings for listener {} are ignored: listeners has no listener of that name",
                   listener);
    for (const auto& [setting, value] : settings)
      if (known && setting != "max.connections")
        spdlog::warn("listener {}: {} accepted for compatibility but without effect in kfk",
                     listener, setting);
  }
  return cfg;
}

void add_config_options(CLI::App& cmd, ServerOptions& o) {
  cmd.add_option("-c,--config", o.config_path, "TOML file with broker settings (Kafka names)")
      ->check(CLI::ExistingFile);
  cmd.add_option("--set", o.overrides,
                 "Override a setting, e.g. --set num.partitions=3 (repeatable; wins over --config)")
      ->type_name("KEY=VALUE");
}

// Every connection and every open segment costs a file descriptor, and the usual soft limit
// (1024) is far below what a broker needs; the hard limit is what the administrator allows.
void raise_open_files_limit() {
  constexpr rlim_t kLowLimit = 4096;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t soft = limit.rlim_cur;
  if (soft < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("open files limit {}: raising it to the hard limit {} failed", soft,
                   limit.rlim_max);
      return;
    }
    spdlog::info("open files limit raised from {} to {} (the hard limit)", soft, limit.rlim_max);
  } else {
    spdlog::info("open files limit {} (the hard limit)", soft);
  }
  if (limit.rlim_cur < kLowLimit)
    spdlog::warn(
        "open files limit {} is low: every connection and every partition's open segment "
        "takes descriptors (raise the hard limit, e.g. ulimit -Hn or LimitNOFILE)",
        limit.rlim_cur);
}

// Until TLS and SASL are served, such a listener would serve plaintext under their name.
void refuse_unserved_listeners(const config::BrokerConfig& cfg) {
  for (const auto& l : cfg.listeners) {
    if (l.protocol == config::SecurityProtocol::plaintext) continue;
    throw CliError(ExitCode::not_available,
                   fmt::format("kfk server start: listener {} uses {}, which this version of kfk "
                               "does not serve (only PLAINTEXT)",
                               l.to_string(), config::to_string(l.protocol)),
                   "use a PLAINTEXT listener (listeners=PLAINTEXT://host:port), or check "
                   "listener.security.protocol.map; TLS and SASL are not available yet");
  }
}

// What to do about a broker that did not start, from what failed.
std::string start_failure_hint(const std::string& error) {
  if (error.find("in use by another broker") != std::string::npos)
    return "stop the broker named above, or give this one other log.dirs and metadata.log.dir";
  if (error.find("cannot listen on") != std::string::npos)
    return "choose another port or address in listeners; a broker can listen only on "
           "addresses of this machine";
  if (error.find("metadata log") != std::string::npos)
    return "the metadata log (topics and configs) is damaged or incomplete: restore the "
           "directory named above from a backup. Do not move it away: a broker without its "
           "metadata deletes the logs of every topic it does not know";
  if (error.find("log dirs") != std::string::npos ||
      error.find("__consumer_offsets") != std::string::npos)
    return "check that log.dirs exist, are writable and have free space; the partition at "
           "fault is named above";
  return "check listeners and log.dirs; another process may hold the port";
}

// A damaged metadata log: starting anyway would serve an image without the operations
// recorded from the damage on (topics missing, producer ids handed out again), so it refuses.
std::string damaged_metadata_hint(const std::string& metadata_log_dir) {
  const std::string dir =
      (std::filesystem::path(metadata_log_dir) / fmt::format("{}-0", storage::kMetadataLogTopic))
          .string();
  return fmt::format(
      "`kfk debug verify-log {}` lists every damaged range. The newest snapshot there "
      "(*.checkpoint) is already used when it covers the damage; otherwise restore that "
      "directory from a backup taken after the last topic or config change. Do not delete "
      "or move it: a broker without its metadata deletes the logs of every topic it does not "
      "know",
      dir);
}

void run_start(const ServerOptions& o) {
  config::BrokerConfig cfg = load_config(o, "kfk server start");
  refuse_unserved_listeners(cfg);
  raise_open_files_limit();
  // SIGINT and SIGTERM are taken by sigwait() below; block them before any thread starts so
  // every reactor thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::Broker broker(cfg);
  if (auto err = broker.start(); !err.empty()) {
    if (broker.start_found_damage())
      throw CliError(ExitCode::damaged, "kfk server start: " + err,
                     damaged_metadata_hint(cfg.metadata_log_dir));
    throw CliError(ExitCode::error, "kfk server start: " + err, start_failure_hint(err));
  }
  const auto ports = broker.bound_ports();
  std::string where;
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    const auto& l = cfg.listeners[i];
    const std::string host =
        l.host.empty() ? "0.0.0.0" : (l.is_ipv6() ? "[" + l.host + "]" : l.host);
    where += fmt::format("{}listening on {}:{} ({})", i ? ", " : "", host, ports[i], l.name);
  }
  fmt::print("kfk broker ready: node {}, cluster {}, {}\n", cfg.node_id, broker.cluster_id(),
             where);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("{} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  broker.stop();
  fmt::print("kfk broker stopped\n");
}

void run_format(const ServerOptions& o) {
  config::BrokerConfig cfg = load_config(o, "kfk server format");
  std::string error;
  std::string cluster = o.cluster_id.empty() ? cfg.cluster_id.value_or("") : o.cluster_id;
  cluster = server::ensure_formatted(cfg.log_dirs, cfg.node_id, cluster, error);
  if (!error.empty())
    throw CliError(ExitCode::error, "kfk server format: " + error,
                   "each log directory must belong to one cluster and node");
  fmt::print("formatted {} log director{} for node {} of cluster {}\n", cfg.log_dirs.size(),
             cfg.log_dirs.size() == 1 ? "y" : "ies", cfg.node_id, cluster);
}

}  // namespace

void add_server_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* server = app.add_subcommand("server", "Run a kfk broker");
  server->require_subcommand(1);
  auto options = std::make_shared<ServerOptions>();

  auto* start = server->add_subcommand(
      "start",
      "Start the broker in the foreground (data in ./kfk-data, listener 127.0.0.1:9092 "
      "unless configured); Ctrl-C or SIGTERM stops it cleanly");
  add_config_options(*start, *options);
  start->callback([options] { run_start(*options); });

  auto* format = server->add_subcommand(
      "format",
      "Write the cluster id and node identity (meta.properties) into the log directories");
  add_config_options(*format, *options);
  format->add_option("--cluster-id", options->cluster_id, "Cluster id to use (default: a new one)");
  format->callback([options] { run_format(*options); });
}

}  // namespace kfk::cli

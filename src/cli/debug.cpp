// kfk debug: hidden helpers for people and tests. `config` shows what kfk made of the global
// options (command line, then KFK_BROKERS, then defaults); `error` explains a Kafka error code
// or, with --fail, reports it the way commands report broker errors; `dump-log` decodes
// segment files (dump_log.cpp); `verify-log` CRC-checks partitions (verify_log.cpp); `histogram`
// summarises numbers read from stdin with the latency histogram of `kfk perf`, so that tests can
// check its percentiles against exact ones.
#include <fmt/core.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/output_value.h"
#include "cli/perf_histogram.h"
#include "cli/tool_commands.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

void print_config(const GlobalOptions& opts) {
  if (opts.output == OutputFormat::json) {
    Value brokers = Value::array();
    for (const auto& b : opts.brokers) brokers.push(b);
    Value properties = Value::object();
    for (const auto& [key, value] : opts.properties) properties.set(key, value);
    print_value(Value::object()
                    .set("brokers", std::move(brokers))
                    .set("properties", std::move(properties))
                    .set("output", "json")
                    .set("verbosity", opts.verbosity)
                    .set("quiet", opts.quiet),
                OutputFormat::json);
    return;
  }
  for (const auto& b : opts.brokers) fmt::print("broker     {}\n", b);
  for (const auto& [key, value] : opts.properties) fmt::print("property   {}={}\n", key, value);
  fmt::print("output     text\n");
  fmt::print("verbosity  {}\n", opts.verbosity);
  fmt::print("quiet      {}\n", opts.quiet);
}

void explain_error(const GlobalOptions& opts, const std::string& query, bool fail) {
  int16_t code = 0;
  const auto* end = query.data() + query.size();
  if (auto [ptr, ec] = std::from_chars(query.data(), end, code); ec != std::errc() || ptr != end) {
    const auto* info = protocol::find_error_by_name(query);
    if (info == nullptr) {
      throw CliError(ExitCode::usage,
                     fmt::format("kfk debug error: no Kafka error named '{}'", query));
    }
    code = info->value();
  }
  if (fail) throw kafka_error(code, "kfk debug error");
  const bool retriable = protocol::is_retriable(code);
  if (opts.output == OutputFormat::json) {
    print_value(Value::object()
                    .set("code", code)
                    .set("name", protocol::error_name(code))
                    .set("retriable", retriable)
                    .set("message", protocol::error_message(code))
                    .set("hint", protocol::error_hint(code)),
                OutputFormat::json);
    return;
  }
  fmt::print("{} ({})\n", protocol::error_name(code), code);
  fmt::print("retriable  {}\n", retriable ? "yes" : "no");
  fmt::print("message    {}\n", protocol::error_message(code));
  fmt::print("hint       {}\n", protocol::error_hint(code));
}

void print_histogram() {
  LatencyHistogram h;
  unsigned long long value = 0;
  while (std::scanf("%llu", &value) == 1) h.record(value);
  print_value(Value::object()
                  .set("count", h.count())
                  .set("min", h.min())
                  .set("max", h.max())
                  .set("mean", Value::fixed(h.mean(), 3))
                  .set("p50", h.percentile(0.5))
                  .set("p95", h.percentile(0.95))
                  .set("p99", h.percentile(0.99))
                  .set("p99_9", h.percentile(0.999))
                  .set("p100", h.percentile(1.0)),
              OutputFormat::json);
}

}  // namespace

void add_debug_command(CLI::App& app, GlobalOptions& opts) {
  auto* debug = app.add_subcommand("debug", "Inspect kfk itself");
  debug->group("");  // hidden from `kfk --help`
  debug->require_subcommand(1);

  auto* config = debug->add_subcommand("config", "Show the effective global options");
  config->callback([&opts] { print_config(opts); });

  auto* error = debug->add_subcommand("error", "Explain a Kafka error code");
  auto query = std::make_shared<std::string>();
  error->add_option("code", *query, "Error code number or name, e.g. 36 or TOPIC_ALREADY_EXISTS")
      ->required();
  auto fail = std::make_shared<bool>(false);
  error->add_flag("--fail", *fail, "Fail the way a command fails when the broker answers this");
  error->callback([&opts, query, fail] { explain_error(opts, *query, *fail); });

  add_dump_log_command(*debug, opts);
  add_verify_log_command(*debug, opts);

  debug->add_subcommand("histogram", "Percentiles of the numbers on stdin (kfk perf's histogram)")
      ->callback(print_histogram);
}

}  // namespace kfk::cli

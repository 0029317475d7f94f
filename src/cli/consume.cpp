// kfk consume: reads records from topics and prints them, one per line by default.
//
// Without a consumer group: every partition of the topics (or the one given with -p) is read
// from the start offset (-o, default latest, as Kafka's console consumer does) and the
// command follows the log until Ctrl-C, -c records, or (-e) the end of every partition.
// Note: -o here is --offset; the global --output keeps its long name inside this command.
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "core/client/consumer.h"

namespace kfk::cli {
namespace {

struct ConsumeOptions {
  std::vector<std::string> topics;
  int32_t partition = -1;
  std::string offset = "latest";
  int64_t count = -1;
  bool exit_at_end = false;
  std::string format;
  bool print_key = false;
};

client::ConsumerOptions consumer_options(const config::ClientConfig& cfg) {
  client::ConsumerOptions co;
  co.fetch_max_wait_ms = cfg.fetch_max_wait_ms;
  co.fetch_min_bytes = cfg.fetch_min_bytes;
  co.fetch_max_bytes = cfg.fetch_max_bytes;
  co.max_partition_fetch_bytes = cfg.max_partition_fetch_bytes;
  co.isolation_level = cfg.isolation_level == config::IsolationLevel::read_committed ? 1 : 0;
  co.check_crcs = cfg.check_crcs;
  switch (cfg.auto_offset_reset) {
    case config::OffsetReset::earliest:
      co.reset = client::ConsumerOptions::Reset::earliest;
      break;
    case config::OffsetReset::none:
      co.reset = client::ConsumerOptions::Reset::none;
      break;
    default:
      co.reset = client::ConsumerOptions::Reset::latest;
  }
  return co;
}

void run(const GlobalOptions& g, const ConsumeOptions& o, const std::string& command) {
  const auto start = client::parse_start_offset(o.offset);
  if (!start) {
    throw CliError(ExitCode::usage, fmt::format("{}: invalid offset '{}'", command, o.offset),
                   "use earliest (or beginning), latest (or end), an offset N, or -N for N "
                   "records before the end");
  }
  std::string format_text = o.format;
  if (format_text.empty()) format_text = o.print_key ? "%k\\t%s\\n" : "%s\\n";
  std::string format_error;
  const auto format = RecordFormat::parse(format_text, format_error);
  if (!format) {
    throw CliError(ExitCode::usage, fmt::format("{}: --format: {}", command, format_error));
  }
  const bool json = g.output == OutputFormat::json;

  const auto cfg = client_config(g, command);
  client::Client client(client_options(g, cfg));
  client::Consumer consumer(client, consumer_options(cfg));
  std::vector<std::pair<client::TopicPartition, client::StartOffset>> assignment;
  for (const auto& name : o.topics) {
    const auto& topic = client.topic(name);
    if (o.partition >= 0) {
      assignment.push_back({client::TopicPartition{name, o.partition}, *start});
    } else {
      for (const auto& p : topic.partitions) {
        assignment.push_back({client::TopicPartition{name, p.partition}, *start});
      }
    }
  }
  consumer.assign(assignment);

  int64_t printed = 0;
  std::string out;
  while (!interrupted()) {
    if (o.count >= 0 && printed >= o.count) break;
    if (o.exit_at_end && consumer.at_end()) break;
    const auto records = consumer.poll();
    out.clear();
    for (const auto& r : records) {
      if (o.count >= 0 && printed >= o.count) break;
      if (json) {
        out += record_json(r);
        out += '\n';
      } else {
        format->append(r, out);
      }
      ++printed;
    }
    if (!out.empty()) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    }
  }
  if (interrupted()) exit_interrupted();
  spdlog::info("{} record{} read", printed, printed == 1 ? "" : "s");
}

}  // namespace

void add_consume_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<ConsumeOptions>();
  auto* cmd = app.add_subcommand("consume", "Read records from topics and print them");
  cmd->add_option("topics", o->topics, "Topics to read")->required();
  cmd->add_option("-p,--partition", o->partition,
                  "Read only this partition (default: every partition)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--offset", o->offset,
                  "Where to start: earliest|beginning, latest|end, an offset N, or -N (N "
                  "records before the end)")
      ->capture_default_str()
      ->type_name("OFFSET");
  cmd->add_option("-c,--count", o->count, "Stop after N records")->check(CLI::NonNegativeNumber);
  cmd->add_flag("-e,--exit-at-end", o->exit_at_end,
                "Stop once every partition has been read to its end");
  cmd->add_option("-f,--format", o->format,
                  "Output format per record: %t topic, %p partition, %o offset, %k key, %s "
                  "value, %K/%S key/value length, %T timestamp, %h headers, \\n \\t "
                  "(default: '%s\\n')")
      ->type_name("FORMAT");
  cmd->add_flag("--print-key", o->print_key, "Print the key and a tab before each value");
  cmd->footer(
      "Global options (-b, -X, -v, -q) are listed by 'kfk --help'; inside this command -o is "
      "--offset, so write the global option as --output json (one JSON object per record).");
  cmd->callback([&opts, o, cmd] {
    const std::string path = command_path(*cmd);
    catch_interrupts();
    with_client_errors(path + " " + o->topics.front(), [&] { run(opts, *o, path); });
  });
}

}  // namespace kfk::cli

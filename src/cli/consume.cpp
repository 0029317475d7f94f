// kfk consume: reads records from topics and prints them, one per line by default.
//
// Without a consumer group: every partition of the topics (or the one given with -p) is read
// from the start offset (-o, default latest, as Kafka's console consumer does) and the
// command follows the log until Ctrl-C, -c records, or (-e) the end of every partition.
//
// With --group (or -X group.id): the command joins the group and reads the partitions the
// group assigns it, from the group's committed offsets (else auto.offset.reset, which -o
// earliest|latest sets), committing as it goes (enable.auto.commit, default on with a group).
// -e then means the end of every partition assigned to this member. At the end, Ctrl-C
// included, it commits what it printed and leaves the group.
// Note: -o here is --offset; the global --output keeps its long name inside this command.
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "core/client/consumer.h"
#include "core/client/group_consumer.h"

namespace kfk::cli {
namespace {

struct ConsumeOptions {
  std::vector<std::string> topics;
  std::string group;
  int32_t partition = -1;
  std::string offset = "latest";
  bool offset_given = false;
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

client::AssignorKind assignor_kind(config::Assignor a) {
  switch (a) {
    case config::Assignor::range:
      return client::AssignorKind::range;
    case config::Assignor::roundrobin:
      return client::AssignorKind::roundrobin;
    case config::Assignor::cooperative_sticky:
      return client::AssignorKind::cooperative_sticky;
  }
  return client::AssignorKind::range;
}

client::GroupConsumerOptions group_consumer_options(const config::ClientConfig& cfg) {
  using std::chrono::milliseconds;
  client::GroupConsumerOptions go;
  go.group.group_id = cfg.group_id.value_or("");
  go.group.group_instance_id = cfg.group_instance_id;
  go.group.session_timeout = milliseconds(cfg.session_timeout_ms);
  go.group.heartbeat_interval = milliseconds(cfg.heartbeat_interval_ms);
  go.group.rebalance_timeout = milliseconds(cfg.max_poll_interval_ms);
  go.group.assignors.clear();
  for (auto a : cfg.partition_assignment_strategy) go.group.assignors.push_back(assignor_kind(a));
  if (!cfg.client_rack.empty()) go.group.rack = cfg.client_rack;
  go.fetch = consumer_options(cfg);
  if (cfg.auto_offset_reset == config::OffsetReset::by_duration) {
    go.reset_by_duration_ms = cfg.auto_offset_reset_duration_ms;
  }
  go.auto_commit = cfg.enable_auto_commit;
  go.auto_commit_interval = milliseconds(cfg.auto_commit_interval_ms);
  go.max_poll_interval = milliseconds(cfg.max_poll_interval_ms);
  go.max_poll_records = static_cast<size_t>(cfg.max_poll_records);
  go.metadata_max_age = milliseconds(cfg.metadata_max_age_ms);
  return go;
}

// Prints records as the command's format says, one write per batch.
struct Printer {
  const RecordFormat& format;
  bool json;
  std::string out;

  void print(const std::vector<client::ConsumerRecord>& records) {
    out.clear();
    for (const auto& r : records) {
      if (json) {
        out += record_json(r);
        out += '\n';
      } else {
        format.append(r, out);
      }
    }
    if (!out.empty()) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    }
  }
};

void run_group(const GlobalOptions& g, const ConsumeOptions& o, const std::string& command,
               Printer& printer) {
  GlobalOptions with_group = g;
  if (!o.group.empty()) with_group.properties["group.id"] = o.group;
  if (o.offset_given) {
    if (o.offset != "earliest" && o.offset != "beginning" && o.offset != "latest" &&
        o.offset != "end") {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: -o {} cannot be used with a group", command, o.offset),
                     "a group starts from its committed offsets; -o earliest or -o latest says "
                     "where to start without one (use 'kfk group reset-offsets' to move them)");
    }
    const bool earliest = o.offset == "earliest" || o.offset == "beginning";
    with_group.properties["auto.offset.reset"] = earliest ? "earliest" : "latest";
  }
  if (o.partition >= 0) {
    throw CliError(ExitCode::usage, fmt::format("{}: -p cannot be used with a group", command),
                   "the group assigns the partitions; leave out --group to read one partition");
  }
  const auto cfg = client_config(with_group, command);
  client::Client client(client_options(g, cfg));
  for (const auto& name : o.topics) client.topic(name);  // unknown topics fail here
  client::GroupConsumer consumer(client, group_consumer_options(cfg));
  consumer.subscribe(o.topics);
  int64_t printed = 0;
  try {
    while (!interrupted()) {
      if (o.count >= 0 && printed >= o.count) break;
      if (o.exit_at_end && consumer.at_end()) break;
      const size_t limit = o.count >= 0 ? static_cast<size_t>(o.count - printed) : 0;
      const auto records = consumer.poll(limit);
      printer.print(records);
      printed += static_cast<int64_t>(records.size());
    }
  } catch (...) {
    // Leave the group on the way out, so that the others do not wait for the session timeout.
    try {
      consumer.close();
    } catch (const std::exception& e) {
      spdlog::debug("leaving the group failed: {}", e.what());
    }
    throw;
  }
  consumer.close();
  if (interrupted()) exit_interrupted();
  spdlog::info("{} record{} read", printed, printed == 1 ? "" : "s");
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
  Printer printer{*format, json, {}};
  if (!o.group.empty() || g.properties.count("group.id") > 0) {
    run_group(g, o, command, printer);
    return;
  }

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
  while (!interrupted()) {
    if (o.count >= 0 && printed >= o.count) break;
    if (o.exit_at_end && consumer.at_end()) break;
    auto records = consumer.poll();
    if (o.count >= 0 && static_cast<int64_t>(records.size()) > o.count - printed) {
      records.resize(static_cast<size_t>(o.count - printed));
    }
    printer.print(records);
    printed += static_cast<int64_t>(records.size());
  }
  if (interrupted()) exit_interrupted();
  spdlog::info("{} record{} read", printed, printed == 1 ? "" : "s");
}

}  // namespace

void add_consume_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<ConsumeOptions>();
  auto* cmd = app.add_subcommand("consume", "Read records from topics and print them");
  cmd->add_option("topics", o->topics, "Topics to read")->required();
  cmd->add_option("-g,--group", o->group,
                  "Consume as a member of this consumer group: the group assigns the "
                  "partitions and keeps the committed offsets")
      ->type_name("GROUP");
  cmd->add_option("-p,--partition", o->partition,
                  "Read only this partition (default: every partition)")
      ->check(CLI::NonNegativeNumber);
  auto* offset = cmd->add_option("-o,--offset", o->offset,
                                 "Where to start: earliest|beginning, latest|end, an offset N, or "
                                 "-N (N records before the end); with --group, where partitions "
                                 "without a committed offset start (earliest or latest)")
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
  cmd->callback([&opts, o, cmd, offset] {
    o->offset_given = offset->count() > 0;
    const std::string path = command_path(*cmd);
    catch_interrupts();
    with_client_errors(path + " " + o->topics.front(), [&] { run(opts, *o, path); });
  });
}

}  // namespace kfk::cli

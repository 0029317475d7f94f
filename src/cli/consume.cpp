// kfk consume: reads records from topics and prints them, one per line by default.
//
// Without a consumer group: every partition of the topics (or those given with -p) is read
// from the start of --offset (default: the end, as Kafka's console consumer does) and the
// command follows the log like `tail -f` until Ctrl-C, -n records, the END of --offset
// (`:end` stops at the end as it is when reading starts) or (-e) the end of every partition.
// With --regex the arguments are patterns matched against the broker's topic names.
//
// With --group (or -X group.id): the command joins the group and reads the partitions the
// group assigns it, from the group's committed offsets (else auto.offset.reset, which -o
// earliest|latest sets), committing as it goes (enable.auto.commit, default on with a group).
// -e then means the end of every partition assigned to this member. At the end, Ctrl-C and
// SIGTERM included, it commits what it printed and leaves the group.
//
// Output: a format string or JSON lines (record_format.h). Ctrl-C (or SIGTERM) ends the
// command with a summary line on stderr (records, bytes, time) and exit status 130.
// Note: -o here is --offset; the global --output keeps its long name inside this command.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/record_format.h"
#include "core/client/consumer.h"
#include "core/client/group_consumer.h"
#include "core/client/offset_lookup.h"

namespace kfk::cli {
namespace {

struct ConsumeOptions {
  std::vector<std::string> topics;
  bool regex = false;
  std::string group;
  std::vector<int32_t> partitions;
  std::string offset = "latest";
  bool offset_given = false;
  int64_t count = -1;
  bool exit_at_end = false;
  std::string format;
  bool print_key = false;
  bool print_headers = false;
  std::vector<std::string> header_filters;  // KEY=VALUE
  std::string isolation;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

client::ConsumerOptions consumer_options(const GlobalOptions& g, const std::string& command,
                                         const config::ClientConfig& cfg) {
  client::ConsumerOptions co;
  if (notes_enabled(g)) {
    co.on_offset_reset = [&g, command](const std::string& what) { note(g, command, what); };
  }
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

client::GroupConsumerOptions group_consumer_options(const GlobalOptions& g,
                                                    const std::string& command,
                                                    const config::ClientConfig& cfg) {
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
  go.fetch = consumer_options(g, command, cfg);
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

// Filters and prints records, one write per batch, and counts what it printed.
class Printer {
 public:
  Printer(std::optional<RecordTemplate> format, std::vector<record::Header> filters)
      : format_(std::move(format)), filters_(std::move(filters)) {}

  bool wanted(const client::ConsumerRecord& r) const {
    for (const auto& f : filters_) {
      const bool found = std::any_of(r.headers.begin(), r.headers.end(),
                                     [&](const record::Header& h) { return h == f; });
      if (!found) return false;
    }
    return true;
  }

  // Prints the wanted records among `records`, at most `limit` (-1: all); returns how many.
  int64_t print(const std::vector<client::ConsumerRecord>& records, int64_t limit) {
    out_.clear();
    int64_t printed = 0;
    for (const auto& r : records) {
      if (limit >= 0 && printed >= limit) break;
      if (!wanted(r)) continue;
      if (format_) {
        format_->print(r, out_);
      } else {
        out_ += record_to_json(r);
        out_ += '\n';
      }
      ++printed;
      bytes_ += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
      for (const auto& h : r.headers) bytes_ += h.key.size() + (h.value ? h.value->size() : 0);
    }
    if (!out_.empty()) {
      std::fwrite(out_.data(), 1, out_.size(), stdout);
      std::fflush(stdout);
    }
    records_ += printed;
    return printed;
  }

  int64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_; }

 private:
  std::optional<RecordTemplate> format_;  // nullopt: JSON lines
  std::vector<record::Header> filters_;
  std::string out_;
  int64_t records_ = 0;
  uint64_t bytes_ = 0;
};

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
  if (bytes < 1024ULL * 1024 * 1024) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024 * 1024));
  }
  return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

// After Ctrl-C or SIGTERM: what was read, on stderr, then exit 130.
[[noreturn]] void exit_with_summary(const GlobalOptions& g, const std::string& command,
                                    const Printer& printer,
                                    std::chrono::steady_clock::time_point started) {
  std::fflush(stdout);
  if (!g.quiet) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print(stderr, "{}: {} record{}, {} in {:.1f} s\n", command, printer.records(),
               printer.records() == 1 ? "" : "s", human_bytes(printer.bytes()), seconds);
  }
  exit_interrupted();
}

// The topics to read: the arguments, or with --regex every topic whose name matches one.
std::vector<std::string> resolve_topics(client::Client& client, const ConsumeOptions& o,
                                        const std::string& command) {
  if (!o.regex) {
    for (const auto& name : o.topics) existing_topic(client, name, command);  // unknown: fail
    return o.topics;
  }
  std::vector<std::regex> patterns;
  for (const auto& text : o.topics) {
    try {
      patterns.emplace_back(text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw CliError(ExitCode::usage, fmt::format("{}: --regex: '{}' is not a valid pattern: {}",
                                                  command, text, e.what()));
    }
  }
  const auto metadata = client.fetch_metadata(std::nullopt);
  std::vector<std::string> names;
  for (const auto& [name, topic] : metadata.topics) {
    if (topic.internal) continue;
    for (const auto& re : patterns) {
      if (std::regex_match(name, re)) {
        names.push_back(name);
        break;
      }
    }
  }
  if (names.empty()) {
    throw CliError(ExitCode::error,
                   fmt::format("{}: no topic matches {}", command, fmt::join(o.topics, " or ")),
                   "'kfk topic list' shows the topics; the pattern must match the whole name");
  }
  for (const auto& name : names) client.topic(name);
  spdlog::info("reading {}", fmt::join(names, ", "));
  return names;
}

void run_group(const GlobalOptions& g, const ConsumeOptions& o, const std::string& command,
               Printer& printer, std::chrono::steady_clock::time_point started) {
  GlobalOptions with_group = g;
  if (!o.group.empty()) with_group.properties["group.id"] = o.group;
  if (!o.isolation.empty()) with_group.properties["isolation.level"] = o.isolation;
  if (o.offset_given) {
    if (o.offset != "earliest" && o.offset != "beginning" && o.offset != "start" &&
        o.offset != "latest" && o.offset != "end") {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: -o {} cannot be used with a group", command, o.offset),
                     "a group starts from its committed offsets; -o earliest or -o latest says "
                     "where to start without one (use 'kfk group reset-offsets' to move them)");
    }
    const bool earliest = o.offset == "earliest" || o.offset == "beginning" || o.offset == "start";
    with_group.properties["auto.offset.reset"] = earliest ? "earliest" : "latest";
  }
  if (!o.partitions.empty()) {
    throw CliError(ExitCode::usage, fmt::format("{}: -p cannot be used with a group", command),
                   "the group assigns the partitions; leave out --group to read one partition");
  }
  const auto cfg = client_config(with_group, command);
  client::Client client(client_options(g, cfg));
  const auto topics = resolve_topics(client, o, command);
  client::GroupConsumer consumer(client, group_consumer_options(g, command, cfg));
  consumer.subscribe(topics);
  size_t noted_waiting = 0;  // the assignment size last said to be at its end
  try {
    while (!interrupted()) {
      if (o.count >= 0 && printer.records() >= o.count) break;
      if (o.exit_at_end && consumer.at_end()) break;
      if (consumer.at_end() && consumer.assignment().size() != noted_waiting) {
        noted_waiting = consumer.assignment().size();
        note(g, command,
             fmt::format("waiting at the end of {} assigned partition{} for new records",
                         noted_waiting, noted_waiting == 1 ? "" : "s"));
      }
      // Records the header filter drops still count for the group: ask for what is left.
      const size_t limit = o.count >= 0 ? static_cast<size_t>(o.count - printer.records()) : 0;
      const auto records = consumer.poll(limit);
      printer.print(records, o.count >= 0 ? o.count - printer.records() : -1);
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
  if (interrupted()) exit_with_summary(g, command, printer, started);
  spdlog::info("{} record{} read", printer.records(), printer.records() == 1 ? "" : "s");
}

// The offset before which each partition stops, from the END of --offset.
std::map<client::TopicPartition, int64_t> end_offsets(client::Client& client,
                                                      const client::Consumer& consumer,
                                                      const client::EndOffset& end,
                                                      int8_t isolation_level) {
  std::map<client::TopicPartition, int64_t> ends;
  if (end.kind == client::EndOffset::Kind::none) return ends;
  std::vector<client::TopicPartition> tps;
  for (const auto& p : consumer.progress()) {
    tps.push_back(p.tp);
    ends[p.tp] = end.kind == client::EndOffset::Kind::exact ? end.value : p.high_watermark;
  }
  if (end.kind == client::EndOffset::Kind::time) {
    for (const auto& [tp, offset] : client::list_offsets(client, tps, end.value, isolation_level)) {
      if (offset >= 0) ends[tp] = offset;  // else no record is that recent: the current end
    }
  }
  return ends;
}

void run(const GlobalOptions& g, const ConsumeOptions& o, const std::string& command) {
  const auto started = std::chrono::steady_clock::now();
  const auto range = client::parse_offset_range(o.offset, now_ms());
  if (!range) {
    if (o.offset == "json" || o.offset == "yaml" || o.offset == "table" || o.offset == "text") {
      throw CliError(ExitCode::usage, fmt::format("{}: invalid offset '{}'", command, o.offset),
                     fmt::format("inside consume -o is --offset: write the output format as "
                                 "--output {} (or --format json for JSON lines)",
                                 o.offset));
    }
    throw CliError(ExitCode::usage, fmt::format("{}: invalid offset '{}'", command, o.offset),
                   "use START[:END]: START is start, end, N, +N (after the start), -N (before "
                   "the end) or @TIME; END is end, N or @TIME; TIME is epoch ms, RFC 3339 or "
                   "relative like -10m (e.g. -o :end, -o -10, -o @-48h:-24h)");
  }
  std::optional<RecordTemplate> format;
  const bool json = o.format == "json" || (o.format.empty() && g.output == OutputFormat::json);
  if (!json) {
    std::string text = o.format;
    if (text.empty()) {
      if (o.print_headers) text += "%h\\t";
      if (o.print_key) text += "%k\\t";
      text += "%v\\n";
    }
    std::string error;
    format = RecordTemplate::parse(text, RecordTemplate::Use::print, error);
    if (!format) throw CliError(ExitCode::usage, fmt::format("{}: --format: {}", command, error));
  }
  std::vector<record::Header> filters;
  for (const auto& f : o.header_filters) {
    auto [key, value] = split_key_value(f);
    filters.push_back(record::Header{key, protocol::Bytes(value.begin(), value.end())});
  }
  Printer printer(std::move(format), std::move(filters));
  if (!o.group.empty() || g.properties.count("group.id") > 0) {
    run_group(g, o, command, printer, started);
    return;
  }

  GlobalOptions settings = g;
  if (!o.isolation.empty()) settings.properties["isolation.level"] = o.isolation;
  const auto cfg = client_config(settings, command);
  client::Client client(client_options(g, cfg));
  const auto options = consumer_options(g, command, cfg);
  client::Consumer consumer(client, options);
  std::vector<std::pair<client::TopicPartition, client::StartOffset>> assignment;
  for (const auto& name : resolve_topics(client, o, command)) {
    const auto& topic = client.topic(name);
    if (!o.partitions.empty()) {
      for (int32_t p : o.partitions) {
        assignment.push_back({client::TopicPartition{name, p}, range->start});
      }
    } else {
      for (const auto& p : topic.partitions) {
        assignment.push_back({client::TopicPartition{name, p.partition}, range->start});
      }
    }
  }
  consumer.assign(assignment);
  auto ends = end_offsets(client, consumer, range->end, options.isolation_level);

  // Partitions read up to their END leave the assignment; the command ends with the last.
  auto drop_finished = [&] {
    if (ends.empty()) return;
    std::vector<client::TopicPartition> done;
    for (const auto& p : consumer.progress()) {
      if (auto it = ends.find(p.tp); it != ends.end() && p.position >= it->second) {
        done.push_back(p.tp);
      }
    }
    if (!done.empty()) consumer.remove(done);
  };
  drop_finished();
  const bool bounded = !ends.empty();
  bool noted_waiting = false;
  while (!interrupted()) {
    if (o.count >= 0 && printer.records() >= o.count) break;
    if (bounded && consumer.progress().empty()) break;
    if (o.exit_at_end && consumer.at_end()) break;
    if (!noted_waiting && consumer.at_end()) {
      // Following the log from its end shows nothing until someone writes: say so.
      noted_waiting = true;
      const size_t n = consumer.progress().size();
      note(g, command,
           fmt::format("waiting at the end of {} partition{} for new records{}", n,
                       n == 1 ? "" : "s",
                       o.offset_given ? "" : "; -o start reads the existing records"));
    }
    auto records = consumer.poll();
    if (bounded) {
      std::erase_if(records, [&](const client::ConsumerRecord& r) {
        auto it = ends.find(client::TopicPartition{r.topic, r.partition});
        return it != ends.end() && r.offset >= it->second;
      });
    }
    printer.print(records, o.count >= 0 ? o.count - printer.records() : -1);
    drop_finished();
  }
  if (interrupted()) exit_with_summary(g, command, printer, started);
  spdlog::info("{} record{} read", printer.records(), printer.records() == 1 ? "" : "s");
}

}  // namespace

void add_consume_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<ConsumeOptions>();
  auto* cmd = app.add_subcommand("consume", "Read records from topics and print them");
  cmd->add_option("topics", o->topics, "Topics to read (patterns with --regex)")->required();
  cmd->add_flag("--regex", o->regex,
                "The topic arguments are regular expressions matched against whole topic names "
                "(internal topics left out)");
  cmd->add_option("-g,--group", o->group,
                  "Consume as a member of this consumer group: the group assigns the "
                  "partitions and keeps the committed offsets")
      ->type_name("GROUP");
  cmd->add_option("-p,--partition", o->partitions,
                  "Read only this partition (repeatable; default: every partition)")
      ->check(CLI::NonNegativeNumber)
      ->allow_extra_args(false);
  auto* offset =
      cmd->add_option("-o,--offset", o->offset,
                      "Where to start and stop, START[:END]: START is start|earliest, end|latest, "
                      "N, +N (N after the start), -N (N before the end) or @TIME; END is end "
                      "(the end when reading starts), N or @TIME; TIME is epoch ms, RFC 3339 or "
                      "relative (-10m, -48h). E.g. -o :end reads everything and exits, "
                      "-o @-48h:-24h yesterday's records. With --group: earliest or latest, "
                      "where partitions without a committed offset start")
          ->capture_default_str()
          ->type_name("OFFSET");
  cmd->add_option("-n,-c,--num,--count", o->count, "Stop after N records")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-e,--exit-at-end", o->exit_at_end,
                "Stop once every partition has been read to its end");
  cmd->add_option("-f,--format", o->format,
                  "Output per record: 'json' (one JSON object per line) or a format string: "
                  "%t topic, %p partition, %o offset, %k key, %v value, %K/%S key/value "
                  "length, %T timestamp, %h headers, %H header count; %k %v %h take {hex}, "
                  "{base64} or {json}, e.g. %v{base64}; escapes \\n \\t (default: '%v\\n')")
      ->type_name("FORMAT");
  cmd->add_flag("--print-key", o->print_key, "Print the key and a tab before each value");
  cmd->add_flag("--print-headers", o->print_headers,
                "Print the headers (k=v,k=v) and a tab before each record");
  cmd->add_option("--filter-header", o->header_filters,
                  "Print only records with this header (repeatable: all must match)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (split_key_value(text).first.empty()) {
              return fmt::format("expected KEY=VALUE, got '{}'", text);
            }
            return {};
          },
          "", "header"));
  cmd->add_option("--isolation", o->isolation,
                  "read_uncommitted (default) or read_committed (hide records of open and "
                  "aborted transactions)")
      ->check(CLI::IsMember({"read_committed", "read_uncommitted"}));
  cmd->footer(
      "Reads until Ctrl-C (like tail -f) unless -n, -e or an END in --offset says when to "
      "stop; Ctrl-C or SIGTERM prints a summary on stderr and exits with 130 (with --group, "
      "after committing what was printed and leaving the group).\n"
      "Global options (-b, -X, -v, -q) are listed by 'kfk --help'; inside this command -o is "
      "--offset, so write the global option as --output json.\n"
      "\n"
      "JSON lines (--format json, or --output json): one object per record, on one line:\n"
      "  {\"topic\":\"t\",\"partition\":0,\"offset\":5,\"timestamp\":1700000000000,\n"
      "   \"timestamp_type\":\"CreateTime\",\"key\":\"k1\",\"value\":{\"n\":1},\n"
      "   \"headers\":[{\"key\":\"h\",\"value\":\"v\"}]}\n"
      "key, value and header values are null, a JSON string (UTF-8 text), the value itself "
      "when it is one JSON object, array, number or boolean, or base64 with a sibling "
      "\"<field>_encoding\":\"base64\" when not UTF-8. 'kfk produce --format json' reads the "
      "lines back byte-exact.");
  cmd->callback([&opts, o, cmd, offset] {
    o->offset_given = offset->count() > 0;
    const std::string path = command_path(*cmd);
    catch_interrupts();
    with_client_errors(path + " " + o->topics.front(), [&] { run(opts, *o, path); });
  });
}

}  // namespace kfk::cli

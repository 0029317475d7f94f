// kfk topic delete and kfk topic trim: the commands that destroy data. Both ask for
// confirmation on a terminal and need --yes when stdin is not one (scripts), before any
// request is sent.
//
// delete reports what it did in sentences unless --output asks for json or yaml; trim prints
// its partitions as a table on a terminal and JSON otherwise. JSON shapes (YAML has the same
// fields):
//
//   kfk topic delete  [{"name": str, "deleted": bool}, ...]
//                     deleted is false for a topic that did not exist (with --if-exists)
//   kfk topic trim    {"topic": str, "dry_run": bool,
//                      "partitions": [{"partition": int, "log_start_offset": int|null,
//                                      "delete_before": int, "error": str|null}]}
//                     log_start_offset: before trimming with --dry-run, after it otherwise
//                     (null for a partition that failed); delete_before: the offset records
//                     were deleted up to (exclusive).
#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <regex>
#include <set>

#include "cli/client_support.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/topic_support.h"
#include "core/client/offset_lookup.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

using protocol::ErrorCode;

struct DeleteOptions {
  std::vector<std::string> names;
  bool regex = false;
  bool if_exists = false;
  bool yes = false;
  // trim
  std::vector<std::string> offsets;  // "N", "end" or "P=N"
  std::string before_time;
  std::vector<int32_t> partitions;  // -p: the partitions --offset N / --before-time apply to
  bool dry_run = false;
};

bool structured(OutputFormat f) { return f == OutputFormat::json || f == OutputFormat::yaml; }

std::string join_names(const std::vector<std::string>& names) {
  constexpr size_t kShown = 10;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kShown));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text;
}

// The topics the patterns match (whole names, ECMAScript syntax); internal topics are never
// matched by a pattern.
std::vector<std::string> matching_topics(TopicSession& s, const std::vector<std::string>& patterns,
                                         const std::string& cmd) {
  std::vector<std::regex> compiled;
  for (const auto& p : patterns) {
    try {
      compiled.emplace_back(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw CliError(ExitCode::usage, fmt::format("{}: bad --regex '{}': {}", cmd, p, e.what()));
    }
  }
  std::vector<std::string> out;
  for (const auto& entry : s.admin.describe_topics({}).topics) {
    const std::string& name = entry.first;
    if (entry.second.internal) continue;
    const bool match = std::any_of(compiled.begin(), compiled.end(),
                                   [&](const std::regex& r) { return std::regex_match(name, r); });
    if (match) out.push_back(name);
  }
  return out;
}

void run_delete(const GlobalOptions& g, const DeleteOptions& o, const std::string& cmd) {
  require_stdin_terminal_or_yes(o.yes, cmd);
  with_client_errors(cmd, [&] {
    TopicSession s(g, cmd);
    std::vector<std::string> names = o.names;
    if (o.regex) {
      names = matching_topics(s, o.names, cmd);
      if (names.empty() && !o.if_exists) {
        throw CliError(ExitCode::error,
                       fmt::format("{}: no topic matches {}", cmd, fmt::join(o.names, " or ")),
                       "'kfk topic list' shows the topics; patterns match whole names, "
                       "e.g. 'logs-.*'");
      }
    } else {
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
    }
    const OutputFormat format = report_format(g);
    if (names.empty()) {
      if (structured(format)) print_value(Value::array(), format);
      return;
    }
    confirm(o.yes,
            fmt::format("Delete {} topic{} ({}) and all their records?", names.size(),
                        names.size() == 1 ? "" : "s", join_names(names)),
            cmd);
    const auto results = s.admin.delete_topics(names);
    std::optional<CliError> failure;
    Value out = Value::array();
    for (const auto& name : names) {
      const auto it = std::find_if(results.begin(), results.end(),
                                   [&](const auto& r) { return r.name == name; });
      const int16_t error =
          it == results.end() ? protocol::to_int(ErrorCode::unknown_server_error) : it->error;
      const bool missing = error == protocol::to_int(ErrorCode::unknown_topic_or_partition);
      if (error != 0 && !(missing && o.if_exists)) {
        // The first failure is the command's error; the others are logged, each once.
        if (!failure) {
          failure = kafka_error(error, cmd + " " + name);
        } else {
          spdlog::error("{} {}: {}", cmd, name, protocol::describe_error(error));
        }
        continue;
      }
      if (structured(format)) {
        out.push(Value::object().set("name", name).set("deleted", error == 0));
      } else if (error == 0) {
        fmt::print("Deleted topic {}.\n", name);
      } else {
        spdlog::info("topic '{}' does not exist", name);
      }
    }
    if (structured(format)) print_value(out, format);
    if (failure) throw *failure;
  });
}

// --offset values: one "N" / "end" for every partition, or "P=N" / "P=end" pairs.
struct TrimOffsets {
  std::optional<int64_t> all;
  std::map<int32_t, int64_t> by_partition;
};

std::optional<int64_t> parse_trim_offset(std::string_view text) {
  if (text == "end" || text == "latest") return client::kDeleteToHighWatermark;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

TrimOffsets parse_trim_offsets(const DeleteOptions& o, const std::string& context) {
  const auto bad = [&](const std::string& text) {
    return CliError(ExitCode::usage, fmt::format("{}: bad --offset '{}'", context, text),
                    "write --offset N (every partition), --offset end (everything), or "
                    "--offset PARTITION=N (repeatable)");
  };
  TrimOffsets out;
  for (const auto& text : o.offsets) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
      const auto offset = parse_trim_offset(text);
      if (!offset || out.all) throw bad(text);
      out.all = offset;
      continue;
    }
    int32_t partition = -1;
    const std::string_view p = std::string_view(text).substr(0, eq);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), partition);
    const auto offset = parse_trim_offset(std::string_view(text).substr(eq + 1));
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || partition < 0 || !offset) {
      throw bad(text);
    }
    out.by_partition[partition] = *offset;
  }
  if (out.all && !out.by_partition.empty()) {
    throw CliError(ExitCode::usage, context +
                                        ": --offset N applies to every partition; leave out the "
                                        "PARTITION=N ones or give only those");
  }
  return out;
}

// The broker's refusal of a trim, with a hint for the usual causes.
CliError trim_error(int16_t error, const std::string& context, const client::TopicPartition& tp,
                    int64_t target, int64_t log_end) {
  const CliError e = kafka_error(error, fmt::format("{}: partition {}", context, tp.partition));
  if (error == protocol::to_int(ErrorCode::offset_out_of_range) && target > log_end) {
    return CliError(e.code(), e.what(),
                    fmt::format("partition {} ends at offset {}: trim to at most that "
                                "(--offset {}=end deletes every record)",
                                tp.partition, log_end, tp.partition));
  }
  if (error == protocol::to_int(ErrorCode::policy_violation)) {
    return CliError(e.code(), e.what(),
                    fmt::format("topic {} is compacted (cleanup.policy=compact), whose records "
                                "are not deleted by offset; allow it with 'kfk topic alter-config "
                                "{} --set cleanup.policy=compact,delete', or write tombstones",
                                tp.topic, tp.topic));
  }
  return e;
}

void run_trim(const GlobalOptions& g, const DeleteOptions& o, const std::string& cmd) {
  const std::string topic = o.names.front();
  const std::string context = cmd + " " + topic;
  if (o.offsets.empty() == o.before_time.empty()) {
    throw CliError(ExitCode::usage, context + ": give either --offset or --before-time",
                   "--offset N deletes the records before offset N in every partition, "
                   "--before-time T those older than T");
  }
  const TrimOffsets offsets = parse_trim_offsets(o, context);
  if (!o.partitions.empty() && !offsets.by_partition.empty()) {
    throw CliError(ExitCode::usage, context +
                                        ": -p picks the partitions of --offset N; with --offset "
                                        "PARTITION=N leave -p out");
  }
  std::optional<int64_t> before;
  if (!o.before_time.empty()) {
    before = parse_point_in_time(o.before_time, now_ms());
    if (!before) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: --before-time: '{}' is not a time", context, o.before_time),
                     std::string(kTimeFormats));
    }
  }
  if (!o.dry_run) require_stdin_terminal_or_yes(o.yes, context);

  with_client_errors(context, [&] {
    TopicSession s(g, cmd);
    const auto& meta = existing_topic(s.client, topic, cmd);
    std::vector<client::TopicPartition> tps;
    std::set<int32_t> chosen(o.partitions.begin(), o.partitions.end());
    for (const auto& [p, offset] : offsets.by_partition) chosen.insert(p);
    if (!chosen.empty()) {
      for (int32_t p : chosen) {
        if (meta.partition(p) == nullptr) {
          throw CliError(ExitCode::usage,
                         fmt::format("{}: no partition {}: the topic has {} partition(s)", context,
                                     p, meta.partition_count()));
        }
        tps.push_back({topic, p});
      }
    } else {
      for (const auto& p : meta.partitions) tps.push_back({topic, p.partition});
    }
    // The plan in plain offsets, so that people see what goes: "end" and times resolved.
    const auto latest = client::list_offsets(s.client, tps, client::kLatestTimestamp);
    const auto earliest = client::list_offsets(s.client, tps, client::kEarliestTimestamp);
    std::map<client::TopicPartition, int64_t> by_time;
    if (before) by_time = client::list_offsets(s.client, tps, *before);
    std::map<client::TopicPartition, int64_t> plan;
    for (const auto& tp : tps) {
      int64_t target = 0;
      if (before) {
        // No record at or after the time: every record is older.
        const int64_t first_kept = by_time.at(tp);
        target = first_kept < 0 ? latest.at(tp) : first_kept;
      } else {
        target = offsets.all ? *offsets.all : offsets.by_partition.at(tp.partition);
        if (target == client::kDeleteToHighWatermark) target = latest.at(tp);
      }
      plan[tp] = target;
    }

    std::map<client::TopicPartition, client::DeleteRecordsResult> results;
    if (!o.dry_run) {
      int64_t records = 0;
      for (const auto& [tp, target] : plan)
        records += std::max<int64_t>(0, target - earliest.at(tp));
      confirm(o.yes,
              fmt::format("Delete about {} record{} of topic {} ({} partition{})?", records,
                          records == 1 ? "" : "s", topic, plan.size(), plan.size() == 1 ? "" : "s"),
              context);
      results = s.admin.delete_records(plan);
    }

    std::optional<CliError> failure;
    Value partitions = Value::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& [tp, target] : plan) {
      int64_t log_start = earliest.at(tp);
      int16_t error = 0;
      if (!o.dry_run) {
        const auto it = results.find(tp);
        error = it == results.end() ? protocol::to_int(ErrorCode::unknown_server_error)
                                    : it->second.error;
        log_start = error == 0 ? it->second.low_watermark : -1;
        if (error != 0 && !failure) {
          failure = trim_error(error, context, tp, target, latest.at(tp));
        }
      }
      partitions.push(Value::object()
                          .set("partition", tp.partition)
                          .set("log_start_offset", non_negative_or_null(log_start))
                          .set("delete_before", target)
                          .set("error", error != 0 ? Value(protocol::error_name(error)) : Value()));
      rows.push_back({std::to_string(tp.partition), std::to_string(target),
                      log_start < 0 ? "-" : std::to_string(log_start),
                      error != 0 ? styled(protocol::error_name(error), Style::error) : ""});
    }
    const OutputFormat format = listing_format(g);  // data: JSON when piped
    if (structured(format)) {
      print_value(Value::object()
                      .set("topic", topic)
                      .set("dry_run", o.dry_run)
                      .set("partitions", std::move(partitions)),
                  format);
    } else {
      fmt::print("{}", format_table({"PARTITION", "DELETE-BEFORE",
                                     o.dry_run ? "LOG-START" : "NEW-LOG-START", "ERROR"},
                                    rows));
      if (o.dry_run && !g.quiet) {
        fmt::print(stderr, "Dry run: nothing was deleted. Leave out --dry-run to delete.\n");
      }
    }
    if (failure) throw *failure;
  });
}

}  // namespace

void add_topic_delete_commands(CLI::App& topic, GlobalOptions& opts) {
  auto o = std::make_shared<DeleteOptions>();

  auto* del = topic.add_subcommand("delete", "Delete topics (asks first; --yes in scripts)");
  del->add_option("names", o->names, "Topic names, or patterns with --regex")->required();
  del->add_flag("--regex", o->regex,
                "The names are regular expressions matching whole topic names (internal "
                "topics are never matched)");
  del->add_flag("--if-exists", o->if_exists, "Succeed for topics that do not exist");
  del->add_flag("-y,--yes", o->yes,
                "Do not ask for confirmation (needed when stdin is not a terminal)");
  add_footer(*del, "JSON (-o json): [{\"name\": str, \"deleted\": bool}, ...]");
  del->callback([&opts, o, del] { run_delete(opts, *o, command_path(*del)); });

  auto* trim = topic.add_subcommand(
      "trim", "Delete the records before an offset or a time (DeleteRecords; asks first)");
  trim->add_option("name", o->names, "Topic name")->required()->expected(1);
  trim->add_option("--offset", o->offsets,
                   "Delete records before N in every partition, 'end' for all of them, or "
                   "PARTITION=N for one partition (repeatable)")
      ->type_name("[P=]N")
      ->allow_extra_args(false);
  trim->add_option("-p,--partition", o->partitions,
                   "Only this partition (repeatable), e.g. -p 0 --offset 1264 to skip a "
                   "damaged range that `kfk topic describe` shows");
  trim->add_option("--before-time", o->before_time,
                   "Delete records older than this time: epoch ms, 2024-05-01T12:00:00Z, or "
                   "-7d / -12h before now")
      ->type_name("TIME");
  trim->add_flag("--dry-run", o->dry_run, "Only show what would be deleted");
  trim->add_flag("-y,--yes", o->yes,
                 "Do not ask for confirmation (needed when stdin is not a terminal)");
  add_footer(*trim,
             "JSON (-o json): {\"topic\": str, \"dry_run\": bool, \"partitions\": "
             "[{\"partition\": int, \"log_start_offset\": int|null, \"delete_before\": int, "
             "\"error\": str|null}]}");
  trim->callback([&opts, o, trim] { run_trim(opts, *o, command_path(*trim)); });
}

}  // namespace kfk::cli

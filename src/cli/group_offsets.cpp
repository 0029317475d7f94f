// kfk group reset-offsets and delete-offsets: moving and removing a group's committed
// offsets. The reset rules are in core/client/offset_reset.h; this file gathers what they
// need (committed offsets, log start and end, offsets by time), prints the plan and, with
// --execute, commits it as a tool does (generation -1), only while the group has no members.
//
// reset-offsets prints its plan as a table on a terminal and JSON otherwise; delete-offsets
// reports in a sentence unless --output asks for json or yaml. JSON shapes (YAML has the same
// fields):
//
//   kfk group reset-offsets   {"group_id": str, "executed": bool,
//                              "offsets": [{"topic": str, "partition": int,
//                                           "current_offset": int|null, "new_offset": int}]}
//   kfk group delete-offsets  {"group_id": str, "deleted": [{"topic": str, "partition": int}]}
#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/client_support.h"
#include "cli/group_commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "core/client/consumer.h"
#include "core/client/offset_lookup.h"
#include "core/client/offset_reset.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

using protocol::ErrorCode;

struct OffsetOptions {
  std::string group;
  std::vector<std::string> topics;
  bool all_topics = false;
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<int64_t> to_offset;
  std::optional<int64_t> shift_by;
  std::string to_datetime;
  std::string by_duration;
  std::string from_file;
  bool execute = false;
  bool dry_run = false;
};

// The one reset mode given, parsed; usage errors for none, several or a malformed value.
client::ResetSpec reset_spec(const OffsetOptions& o, const std::string& context) {
  int modes = 0;
  client::ResetSpec spec;
  if (o.to_earliest) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::earliest;
  }
  if (o.to_latest) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::latest;
  }
  if (o.to_offset) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::offset;
    spec.value = *o.to_offset;
  }
  if (o.shift_by) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::shift_by;
    spec.value = *o.shift_by;
  }
  if (!o.to_datetime.empty()) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::datetime;
    // The TIME of `kfk consume -o @TIME` and `kfk topic offsets --time`: one syntax everywhere.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto ms = client::parse_time_point(o.to_datetime, now);
    if (!ms) {
      throw CliError(
          ExitCode::usage,
          fmt::format("{}: --to-datetime: '{}' is not a time", context, o.to_datetime),
          "write epoch milliseconds, RFC 3339 (2024-05-01T12:00:00Z; without a zone the local "
          "time zone applies) or a time before now like -10m, -2h, -7d");
    }
    spec.value = *ms;
  }
  if (!o.by_duration.empty()) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::duration;
    auto ms = config::parse_iso_duration_ms(o.by_duration);
    if (!ms && !o.by_duration.empty() && o.by_duration.front() != '-' &&
        o.by_duration.front() != '+') {
      // The units of relative times elsewhere: 1h30m, 2d, 500ms.
      if (const auto before = client::parse_time_point("-" + o.by_duration, 0)) ms = -*before;
    }
    if (!ms || *ms < 0) {
      throw CliError(
          ExitCode::usage,
          fmt::format("{}: --by-duration: '{}' is not a duration", context, o.by_duration),
          "write an ISO-8601 duration PnDTnHnMnS (PT1H30M, P2D) or the units of relative "
          "times elsewhere (1h30m, 2d)");
    }
    spec.value = *ms;
  }
  if (!o.from_file.empty()) {
    ++modes;
    spec.kind = client::ResetSpec::Kind::from_file;
    std::ifstream in(o.from_file);
    if (!in) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: cannot read --from-file '{}'", context, o.from_file));
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto offsets = client::parse_reset_csv(text.str(), o.group, error);
    if (!offsets) {
      throw CliError(ExitCode::usage, fmt::format("{}: {}: {}", context, o.from_file, error),
                     "each line is topic,partition,offset");
    }
    spec.file_offsets = std::move(*offsets);
  }
  if (modes != 1) {
    throw CliError(ExitCode::usage,
                   fmt::format("{}: {}", context,
                               modes == 0 ? "say where to move the offsets"
                                          : "give only one way to move the offsets"),
                   "use exactly one of --to-earliest, --to-latest, --to-offset N, --shift-by N, "
                   "--to-datetime ISO8601, --by-duration PnDTnHnMnS, --from-file CSV");
  }
  return spec;
}

// A group with members (or rebalancing) must not have its offsets moved under it.
void refuse_active(const client::GroupDescription& d, const std::string& context) {
  if (d.state == "Empty" || d.state == "Dead") return;
  const int16_t code = protocol::to_int(ErrorCode::non_empty_group);
  throw CliError(
      ExitCode::kafka,
      fmt::format("{}: group '{}' is {} with {} member(s), so its offsets cannot be "
                  "reset: {}",
                  context, d.group_id, d.state, d.members.size(), protocol::describe_error(code)),
      std::string(protocol::error_hint(code)) +
          " Without --execute the command only shows the plan.");
}

// The partitions to reset: --topic selections, --all-topics (every topic the group has
// committed offsets for), or the partitions of the --from-file plan.
std::vector<client::TopicPartition> reset_partitions(GroupSession& s, const OffsetOptions& o,
                                                     const client::ResetSpec& spec,
                                                     const std::string& context) {
  if (o.all_topics) {
    std::set<std::string> topics;
    for (const auto& [tp, c] : s.admin.committed_offsets(o.group, std::nullopt)) {
      topics.insert(tp.topic);
    }
    return selected_partitions(s, {topics.begin(), topics.end()}, context);
  }
  if (!o.topics.empty()) {
    auto tps = selected_partitions(s, o.topics, context);
    if (spec.kind == client::ResetSpec::Kind::from_file) {
      std::erase_if(tps, [&](const auto& tp) { return spec.file_offsets.count(tp) == 0; });
    }
    return tps;
  }
  if (spec.kind == client::ResetSpec::Kind::from_file) {
    std::vector<client::TopicPartition> tps;
    for (const auto& [tp, offset] : spec.file_offsets) {
      const auto& topic = s.client.topic(tp.topic);
      if (topic.partition(tp.partition) == nullptr) {
        throw kafka_error(protocol::to_int(ErrorCode::unknown_topic_or_partition),
                          fmt::format("{}: {}-{}", context, tp.topic, tp.partition));
      }
      tps.push_back(tp);
    }
    return tps;
  }
  throw CliError(ExitCode::usage, context + ": say which partitions to reset",
                 "give --topic TOPIC[:P,P...] (repeatable) or --all-topics");
}

struct Planned {
  client::TopicPartition tp;
  int64_t current = -1;
  int64_t target = 0;
};

std::vector<Planned> plan(GroupSession& s, const OffsetOptions& o, const client::ResetSpec& spec,
                          const std::vector<client::TopicPartition>& tps,
                          const std::string& context) {
  const auto committed = s.admin.committed_offsets(o.group, tps);
  const auto starts = client::list_offsets(s.client, tps, client::kEarliestTimestamp);
  const auto ends = client::list_offsets(s.client, tps, client::kLatestTimestamp);
  std::map<client::TopicPartition, int64_t> for_time;
  if (client::needs_time_lookup(spec)) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for_time = client::list_offsets(s.client, tps, client::reset_timestamp(spec, now));
  }
  std::vector<Planned> out;
  std::vector<std::string> errors;
  for (const auto& tp : tps) {
    client::PartitionOffsets known;
    if (auto c = committed.find(tp); c != committed.end() && c->second.error == 0) {
      known.committed = c->second.offset;
    }
    known.log_start = starts.at(tp);
    known.log_end = ends.at(tp);
    if (auto t = for_time.find(tp); t != for_time.end()) known.for_time = t->second;
    std::string error;
    const auto target = client::plan_reset(spec, tp, known, error);
    if (!target) {
      errors.push_back(error);
      continue;
    }
    out.push_back(Planned{tp, known.committed, *target});
  }
  if (!errors.empty()) {
    throw CliError(ExitCode::error, fmt::format("{}: {}", context, fmt::join(errors, "; ")),
                   "pick another way to move the offsets for those partitions, or leave them "
                   "out of --topic");
  }
  return out;
}

void print_plan(const GlobalOptions& g, const OffsetOptions& o, const std::vector<Planned>& plan,
                bool executed) {
  const OutputFormat format = listing_format(g);  // data: JSON when piped
  if (format == OutputFormat::json || format == OutputFormat::yaml) {
    Value offsets = Value::array();
    for (const auto& p : plan) {
      offsets.push(Value::object()
                       .set("topic", p.tp.topic)
                       .set("partition", p.tp.partition)
                       .set("current_offset", non_negative_or_null(p.current))
                       .set("new_offset", p.target));
    }
    print_value(Value::object()
                    .set("group_id", o.group)
                    .set("executed", executed)
                    .set("offsets", std::move(offsets)),
                format);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : plan) {
    rows.push_back({o.group, p.tp.topic, std::to_string(p.tp.partition),
                    p.current < 0 ? "-" : std::to_string(p.current), std::to_string(p.target)});
  }
  fmt::print("{}",
             format_table({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"}, rows));
}

void run_reset(const GlobalOptions& g, const OffsetOptions& o, const std::string& cmd) {
  const std::string context = cmd + " " + o.group;
  if (o.execute && o.dry_run) {
    throw CliError(ExitCode::usage, context + ": --execute and --dry-run exclude each other");
  }
  const auto spec = reset_spec(o, context);
  with_client_errors(context, [&] {
    GroupSession s(g, cmd);
    const auto d = describe_one(s, o.group, context, true);
    if (o.execute) refuse_active(d, context);
    const auto tps = reset_partitions(s, o, spec, context);
    if (tps.empty()) {
      throw CliError(ExitCode::usage, context + ": no partitions to reset",
                     "check --topic, or that the group has committed offsets for --all-topics");
    }
    const auto planned = plan(s, o, spec, tps, context);
    if (!o.execute) {
      print_plan(g, o, planned, false);
      if (!g.quiet) {
        fmt::print(stderr, "Dry run: nothing was changed. Add --execute to apply{}.\n",
                   d.state == "Empty" || d.state == "Dead"
                       ? ""
                       : fmt::format(" (refused while the group is {})", d.state));
      }
      return;
    }
    std::map<client::TopicPartition, int64_t> offsets;
    for (const auto& p : planned) offsets[p.tp] = p.target;
    const auto result = s.admin.alter_offsets(o.group, offsets);
    for (const auto& [tp, error] : result.errors) {
      if (error == 0) continue;
      throw kafka_error(error,
                        fmt::format("{}: committing {}-{}", context, tp.topic, tp.partition));
    }
    print_plan(g, o, planned, true);
  });
}

void run_delete_offsets(const GlobalOptions& g, const OffsetOptions& o, const std::string& cmd) {
  const std::string context = cmd + " " + o.group;
  with_client_errors(context, [&] {
    GroupSession s(g, cmd);
    // Without partitions, a topic's partitions are those the group has offsets for (the topic
    // may be gone), else those of the topic.
    const auto committed = s.admin.committed_offsets(o.group, std::nullopt);
    std::set<client::TopicPartition> tps;
    for (const auto& text : o.topics) {
      const auto selection = client::parse_topic_selection(text);
      if (!selection) {
        throw CliError(ExitCode::usage, fmt::format("{}: invalid --topic '{}'", context, text),
                       "write TOPIC for every partition, or TOPIC:0,1,2 for some");
      }
      if (!selection->partitions.empty()) {
        for (int32_t p : selection->partitions) {
          tps.insert(client::TopicPartition{selection->topic, p});
        }
        continue;
      }
      bool any = false;
      for (const auto& [tp, c] : committed) {
        if (tp.topic == selection->topic) {
          tps.insert(tp);
          any = true;
        }
      }
      if (!any) {
        for (const auto& tp : selected_partitions(s, {selection->topic}, context)) tps.insert(tp);
      }
    }
    const std::vector<client::TopicPartition> list(tps.begin(), tps.end());
    const auto result = s.admin.delete_offsets(o.group, list);
    if (result.error != 0) throw kafka_error(result.error, context);
    for (const auto& [tp, error] : result.errors) {
      if (error != 0) {
        throw kafka_error(error, fmt::format("{}: {}-{}", context, tp.topic, tp.partition));
      }
    }
    const OutputFormat format = report_format(g);
    if (format == OutputFormat::json || format == OutputFormat::yaml) {
      Value deleted = Value::array();
      for (const auto& tp : list) {
        deleted.push(Value::object().set("topic", tp.topic).set("partition", tp.partition));
      }
      print_value(Value::object().set("group_id", o.group).set("deleted", std::move(deleted)),
                  format);
      return;
    }
    std::vector<std::string> names;
    for (const auto& tp : list) names.push_back(fmt::format("{}-{}", tp.topic, tp.partition));
    fmt::print("Deleted the committed offsets of group {} for {}.\n", o.group,
               fmt::join(names, ", "));
  });
}

}  // namespace

void add_group_offset_commands(CLI::App& group, GlobalOptions& opts) {
  auto o = std::make_shared<OffsetOptions>();

  auto* reset = group.add_subcommand(
      "reset-offsets",
      "Move a group's committed offsets (shows the plan; --execute applies it while the group "
      "has no members)");
  reset->add_option("group", o->group, "Group id")->required();
  reset
      ->add_option("--topic", o->topics,
                   "Partitions to reset: TOPIC (every partition) or TOPIC:P,P,... (repeatable)")
      ->type_name("TOPIC[:P,...]")
      ->allow_extra_args(false);
  reset->add_flag("--all-topics", o->all_topics, "Every topic the group has committed offsets for");
  reset->add_flag("--to-earliest", o->to_earliest, "To the log start offset");
  reset->add_flag("--to-latest", o->to_latest, "To the log end offset");
  reset->add_option("--to-offset", o->to_offset, "To offset N (kept within the log)")
      ->type_name("N");
  reset
      ->add_option("--shift-by", o->shift_by,
                   "By N from the committed offset, N may be negative (kept within the log)")
      ->type_name("N");
  reset
      ->add_option("--to-datetime", o->to_datetime,
                   "To the first record at or after this TIME: epoch ms, RFC 3339 "
                   "(YYYY-MM-DDTHH:mm:SS[.sss] with an optional zone, else local time) or "
                   "relative (-10m, -2h, -7d), as in 'kfk consume -o @TIME'")
      ->type_name("TIME");
  reset
      ->add_option("--by-duration", o->by_duration,
                   "To the first record at most this long ago: PnDTnHnMnS (PT1H) or 1h, 2d, "
                   "1h30m")
      ->type_name("DURATION");
  reset
      ->add_option("--from-file", o->from_file,
                   "To the offsets of a CSV file with lines topic,partition,offset")
      ->type_name("CSV");
  reset->add_flag("--execute", o->execute, "Commit the new offsets (default: only show them)");
  reset->add_flag("--dry-run", o->dry_run, "Only show the new offsets (the default)");
  reset->footer(
      "JSON (-o json): {\"group_id\": str, \"executed\": bool, \"offsets\": [{\"topic\": str, "
      "\"partition\": int, \"current_offset\": int|null, \"new_offset\": int}]}\n\n" +
      reset->get_footer());
  reset->callback([&opts, o, reset] { run_reset(opts, *o, command_path(*reset)); });

  auto* del = group.add_subcommand(
      "delete-offsets", "Delete a group's committed offsets of topics it no longer consumes");
  del->add_option("group", o->group, "Group id")->required();
  del->add_option("--topic", o->topics,
                  "TOPIC (every partition with an offset) or TOPIC:P,P,... (repeatable)")
      ->type_name("TOPIC[:P,...]")
      ->required()
      ->allow_extra_args(false);
  del->footer(
      "JSON (-o json): {\"group_id\": str, \"deleted\": [{\"topic\": str, \"partition\": "
      "int}]}\n\n" +
      del->get_footer());
  del->callback([&opts, o, del] { run_delete_offsets(opts, *o, command_path(*del)); });
}

}  // namespace kfk::cli

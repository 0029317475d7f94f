// kfk group: lists, describes and deletes consumer groups; moving and deleting committed
// offsets is in group_offsets.cpp. Each group's requests go to its coordinator.
//
// `list` and `describe` are listings: a table on a terminal, JSON otherwise, or what --output
// says; `delete` reports in sentences unless --output asks for json or yaml. JSON shapes
// (YAML has the same fields):
//
//   kfk group list      [{"group_id": str, "state": str, "protocol_type": str,
//                         "members": int}, ...]
//   kfk group describe  one object per group, in the order named:
//     [{"group_id": str, "state": str, "protocol_type": str, "protocol": str,
//       "coordinator": int,
//       "members": [{"member_id": str, "group_instance_id": str|null, "client_id": str,
//                    "host": str, "assignment": [{"topic": str, "partition": int}]}],
//       "offsets": [{"topic": str, "partition": int, "committed_offset": int|null,
//                    "log_end_offset": int|null, "lag": int|null, "member_id": str|null}]}]
//   kfk group delete    [{"group_id": str, "deleted": true}, ...]
#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <set>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/group_commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/suggest.h"
#include "core/client/offset_lookup.h"
#include "core/client/offset_reset.h"
#include "core/protocol/errors.h"

namespace kfk::cli {

using protocol::ErrorCode;

GroupSession::GroupSession(const GlobalOptions& opts, const std::string& command)
    : config(client_config(opts, command)), client(client_options(opts, config)), admin(client) {}

namespace {

// GROUP_ID_NOT_FOUND, with the existing groups close to `group` in the hint.
CliError group_not_found(GroupSession& s, const std::string& group, const std::string& context) {
  CliError e = kafka_error(protocol::to_int(ErrorCode::group_id_not_found), context);
  std::string close;
  try {
    std::vector<std::string> names;
    for (const auto& listed : s.admin.list_groups()) names.push_back(listed.group_id);
    close = did_you_mean(group, names);
  } catch (const std::exception&) {
    // Only a suggestion.
  }
  if (close.empty()) return e;
  return CliError(e.code(), e.what(), close + " ('kfk group list' shows the groups)");
}

}  // namespace

client::GroupDescription describe_one(GroupSession& s, const std::string& group,
                                      const std::string& context, bool allow_missing) {
  auto described = s.admin.describe_groups({group});
  if (described.empty()) {
    throw CliError(ExitCode::error, context + ": the broker's answer named no group");
  }
  auto d = std::move(described.front());
  if (d.error != 0) throw kafka_error(d.error, context);
  if (!allow_missing && d.state == "Dead" && d.members.empty()) {
    throw group_not_found(s, group, context);
  }
  return d;
}

std::vector<client::TopicPartition> selected_partitions(GroupSession& s,
                                                        const std::vector<std::string>& topics,
                                                        const std::string& context) {
  std::set<client::TopicPartition> out;
  for (const auto& text : topics) {
    const auto selection = client::parse_topic_selection(text);
    if (!selection) {
      throw CliError(ExitCode::usage, fmt::format("{}: invalid --topic '{}'", context, text),
                     "write TOPIC for every partition, or TOPIC:0,1,2 for some");
    }
    const auto& topic = existing_topic(s.client, selection->topic, context);
    if (selection->partitions.empty()) {
      for (const auto& p : topic.partitions) {
        out.insert(client::TopicPartition{topic.name, p.partition});
      }
      continue;
    }
    for (int32_t p : selection->partitions) {
      if (topic.partition(p) == nullptr) {
        throw CliError(ExitCode::kafka,
                       fmt::format("{}: partition {} does not exist: topic '{}' has {} "
                                   "partition(s); {}",
                                   context, p, topic.name, topic.partition_count(),
                                   protocol::error_name(
                                       protocol::to_int(ErrorCode::unknown_topic_or_partition))),
                       "pick partitions from 0 to the partition count minus one");
      }
      out.insert(client::TopicPartition{topic.name, p});
    }
  }
  return {out.begin(), out.end()};
}

namespace {

struct GroupOptions {
  std::vector<std::string> groups;
  std::vector<std::string> states;
};

std::string partition_list(const std::vector<client::TopicPartition>& tps) {
  if (tps.empty()) return "-";
  std::vector<std::string> parts;
  for (const auto& tp : tps) parts.push_back(fmt::format("{}-{}", tp.topic, tp.partition));
  return fmt::format("{}", fmt::join(parts, ","));
}

Value partitions_value(const std::vector<client::TopicPartition>& tps) {
  Value list = Value::array();
  for (const auto& tp : tps) {
    list.push(Value::object().set("topic", tp.topic).set("partition", tp.partition));
  }
  return list;
}

bool structured(OutputFormat f) { return f == OutputFormat::json || f == OutputFormat::yaml; }

void run_list(const GlobalOptions& g, const GroupOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    GroupSession s(g, cmd);
    const auto groups = s.admin.list_groups(o.states);
    std::vector<std::string> ids;
    for (const auto& l : groups) ids.push_back(l.group_id);
    // ListGroups has no member counts: DescribeGroups has.
    const auto described = s.admin.describe_groups(ids);
    std::vector<std::vector<std::string>> rows;
    Value list = Value::array();
    for (size_t i = 0; i < groups.size(); ++i) {
      const auto& l = groups[i];
      const auto& d = described[i];
      const std::string state = l.state.empty() ? d.state : l.state;
      const size_t members = d.error == 0 ? d.members.size() : 0;
      rows.push_back({l.group_id, state, l.protocol_type.empty() ? "-" : l.protocol_type,
                      std::to_string(members)});
      list.push(Value::object()
                    .set("group_id", l.group_id)
                    .set("state", state)
                    .set("protocol_type", l.protocol_type)
                    .set("members", members));
    }
    const OutputFormat format = listing_format(g);
    if (structured(format)) {
      print_value(list, format);
    } else {
      fmt::print("{}", format_table({"GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"}, rows));
    }
  });
}

struct PartitionRow {
  client::TopicPartition tp;
  int64_t committed = -1;
  int64_t log_end = -1;
  std::string member;
  int64_t lag() const { return committed >= 0 && log_end >= 0 ? log_end - committed : -1; }
};

// Committed offsets, log end offsets and owners of every partition the group has committed
// or been assigned.
std::vector<PartitionRow> partition_rows(GroupSession& s, const client::GroupDescription& d) {
  std::map<client::TopicPartition, PartitionRow> rows;
  for (const auto& [tp, c] : s.admin.committed_offsets(d.group_id, std::nullopt)) {
    rows[tp].committed = c.offset;
  }
  for (const auto& m : d.members) {
    for (const auto& tp : m.assignment) rows[tp].member = m.member_id;
  }
  std::vector<client::TopicPartition> known;
  std::set<std::string> missing_topics;
  for (auto& [tp, row] : rows) {
    row.tp = tp;
    if (missing_topics.count(tp.topic) > 0) continue;
    try {
      if (s.client.topic(tp.topic).partition(tp.partition) != nullptr) known.push_back(tp);
    } catch (const client::ClientError& e) {
      // Offsets of a deleted topic stay until they expire: show them without a log end.
      spdlog::debug("{}", e.what());
      missing_topics.insert(tp.topic);
    }
  }
  if (!known.empty()) {
    for (const auto& [tp, end] : client::list_offsets(s.client, known, client::kLatestTimestamp)) {
      rows[tp].log_end = end;
    }
  }
  std::vector<PartitionRow> out;
  for (auto& [tp, row] : rows) out.push_back(std::move(row));
  return out;
}

Value describe_value(const client::GroupDescription& d, const std::vector<PartitionRow>& rows) {
  Value members = Value::array();
  for (const auto& m : d.members) {
    members.push(
        Value::object()
            .set("member_id", m.member_id)
            .set("group_instance_id", m.group_instance_id ? Value(*m.group_instance_id) : Value())
            .set("client_id", m.client_id)
            .set("host", m.client_host)
            .set("assignment", partitions_value(m.assignment)));
  }
  Value offsets = Value::array();
  for (const auto& r : rows) {
    offsets.push(Value::object()
                     .set("topic", r.tp.topic)
                     .set("partition", r.tp.partition)
                     .set("committed_offset", non_negative_or_null(r.committed))
                     .set("log_end_offset", non_negative_or_null(r.log_end))
                     .set("lag", r.committed >= 0 && r.log_end >= 0 ? Value(r.lag()) : Value())
                     .set("member_id", r.member.empty() ? Value() : Value(r.member)));
  }
  return Value::object()
      .set("group_id", d.group_id)
      .set("state", d.state)
      .set("protocol_type", d.protocol_type)
      .set("protocol", d.protocol)
      .set("coordinator", d.coordinator)
      .set("members", std::move(members))
      .set("offsets", std::move(offsets));
}

void print_describe_text(const client::GroupDescription& d, const std::vector<PartitionRow>& rows) {
  fmt::print("Group:          {}\n", d.group_id);
  fmt::print("State:          {}\n", d.state);
  fmt::print("Protocol type:  {}\n", d.protocol_type.empty() ? "-" : d.protocol_type);
  fmt::print("Assignor:       {}\n", d.protocol.empty() ? "-" : d.protocol);
  fmt::print("Coordinator:    {}\n", d.coordinator);
  fmt::print("Members:        {}\n", d.members.size());
  if (!d.members.empty()) {
    std::vector<std::vector<std::string>> members;
    for (const auto& m : d.members) {
      members.push_back({m.member_id, m.group_instance_id.value_or("-"), m.client_id, m.client_host,
                         partition_list(m.assignment)});
    }
    fmt::print("\n{}", format_table({"MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "PARTITIONS"},
                                    members));
  }
  if (!rows.empty()) {
    std::vector<std::vector<std::string>> table;
    auto text = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
    for (const auto& r : rows) {
      const std::string lag =
          r.committed >= 0 && r.log_end >= 0 ? std::to_string(r.lag()) : std::string("-");
      table.push_back({r.tp.topic, std::to_string(r.tp.partition), text(r.committed),
                       text(r.log_end), lag, r.member.empty() ? "-" : r.member});
    }
    fmt::print("\n{}", format_table({"TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                                     "LAG", "MEMBER-ID"},
                                    table));
  }
}

void run_describe(const GlobalOptions& g, const GroupOptions& o, const std::string& cmd) {
  const OutputFormat format = listing_format(g);
  Value described = Value::array();
  bool first = true;
  for (const auto& group : o.groups) {
    const std::string context = cmd + " " + group;
    with_client_errors(context, [&] {
      GroupSession s(g, cmd);
      const auto d = describe_one(s, group, context, true);
      const auto rows = partition_rows(s, d);
      if (d.state == "Dead" && d.members.empty() && rows.empty()) {
        throw group_not_found(s, group, context);
      }
      if (structured(format)) {
        described.push(describe_value(d, rows));
        return;
      }
      if (!first) fmt::print("\n");
      first = false;
      print_describe_text(d, rows);
    });
  }
  if (structured(format)) print_value(described, format);
}

void run_delete(const GlobalOptions& g, const GroupOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    GroupSession s(g, cmd);
    const auto results = s.admin.delete_groups(o.groups);
    std::optional<CliError> failure;
    const OutputFormat format = report_format(g);
    Value deleted = Value::array();
    for (const auto& r : results) {
      if (r.error != 0) {
        // The first failure is the command's error; the others are logged, each once.
        if (!failure) {
          failure = kafka_error(r.error, cmd + " " + r.group_id);
        } else {
          spdlog::error("{} {}: {}", cmd, r.group_id, protocol::describe_error(r.error));
        }
        continue;
      }
      if (structured(format)) {
        deleted.push(Value::object().set("group_id", r.group_id).set("deleted", true));
      } else {
        fmt::print("Deleted group {}.\n", r.group_id);
      }
    }
    if (structured(format)) print_value(deleted, format);
    if (failure) throw *failure;
  });
}

}  // namespace

void add_group_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<GroupOptions>();
  auto* cmd = app.add_subcommand(
      "group", "List, describe and delete consumer groups; show lag, reset and delete offsets");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand("list", "List consumer groups: state, protocol, members");
  list->alias("ls");
  list->add_option("--state", o->states,
                   "Only groups in this state (Empty, Stable, PreparingRebalance, "
                   "CompletingRebalance, Dead; repeatable)")
      ->type_name("STATE")
      ->allow_extra_args(false);
  list->footer(
      "Output: a table on a terminal, else JSON (or -o table|json|yaml).\n"
      "JSON: [{\"group_id\": str, \"state\": str, \"protocol_type\": str, \"members\": int}, "
      "...]\n\n" +
      list->get_footer());
  list->callback([&opts, o, list] { run_list(opts, *o, command_path(*list)); });

  auto* describe = cmd->add_subcommand(
      "describe", "Show groups' members and assignments, committed offsets and lag");
  describe->add_option("groups", o->groups, "Group ids")->required();
  describe->footer(
      "Output: a table on a terminal, else JSON (or -o table|json|yaml).\n"
      "JSON: [{\"group_id\": str, \"state\": str, \"protocol_type\": str, \"protocol\": str, "
      "\"coordinator\": int, \"members\": [{\"member_id\": str, \"group_instance_id\": "
      "str|null, \"client_id\": str, \"host\": str, \"assignment\": [{\"topic\": str, "
      "\"partition\": int}]}], \"offsets\": [{\"topic\": str, \"partition\": int, "
      "\"committed_offset\": int|null, \"log_end_offset\": int|null, \"lag\": int|null, "
      "\"member_id\": str|null}]}, ...]\n\n" +
      describe->get_footer());
  describe->callback([&opts, o, describe] { run_describe(opts, *o, command_path(*describe)); });

  auto* del = cmd->add_subcommand("delete", "Delete consumer groups without active members");
  del->add_option("groups", o->groups, "Group ids")->required();
  del->footer("JSON (-o json): [{\"group_id\": str, \"deleted\": true}, ...]\n\n" +
              del->get_footer());
  del->callback([&opts, o, del] { run_delete(opts, *o, command_path(*del)); });

  add_group_offset_commands(*cmd, opts);
}

}  // namespace kfk::cli

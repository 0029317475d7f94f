// kfk topic: create, list, alter the configs of and add partitions to topics. Describing and
// offsets are in topic_describe.cpp, deleting topics and records in topic_delete.cpp.
//
// Output: `list` is a listing (a table on a terminal, JSON otherwise, or what --output says);
// the others report what they did in a sentence unless --output asks for json or yaml.
// JSON shapes (YAML has the same fields):
//
//   kfk topic list            [{"name": str, "topic_id": str|null, "partitions": int,
//                               "replication_factor": int, "internal": bool}, ...]
//   kfk topic create          {"name": str, "topic_id": str|null, "partitions": int,
//                              "replication_factor": int, "validate_only": bool}
//   kfk topic alter-config    {"name": str, "set": {KEY: str, ...}, "deleted": [str],
//                              "validate_only": bool}
//   kfk topic add-partitions  {"name": str, "partitions": int, "previous_partitions": int,
//                              "validate_only": bool}
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/topic_support.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

using protocol::ErrorCode;

struct TopicOptions {
  std::string name;
  int32_t partitions = -1;
  int32_t replication_factor = -1;
  std::vector<std::string> configs;  // create: KEY=VALUE
  bool if_not_exists = false;
  bool validate_only = false;
  bool all = false;
  bool exclude_internal = false;     // the default now; kept so that old scripts still parse
  std::vector<std::string> set;      // alter-config: KEY=VALUE
  std::vector<std::string> removed;  // alter-config: KEY
};

Value topic_id(const protocol::Uuid& id) { return id.is_zero() ? Value() : Value(id.to_string()); }

bool structured(OutputFormat f) { return f == OutputFormat::json || f == OutputFormat::yaml; }

void run_create(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  const std::string context = fmt::format("{} {}", cmd, o.name);
  with_client_errors(context, [&] {
    TopicSession s(g, cmd);
    client::NewTopic topic;
    topic.name = o.name;
    topic.partitions = o.partitions;
    topic.replication_factor = static_cast<int16_t>(o.replication_factor);
    for (const auto& c : o.configs) topic.configs.push_back(split_key_value(c));
    const auto results = s.admin.create_topics({topic}, o.validate_only);
    if (results.empty()) {
      throw CliError(ExitCode::error, context + ": the broker's answer named no topic");
    }
    const auto& r = results.front();
    if (r.error == protocol::to_int(ErrorCode::topic_already_exists) && o.if_not_exists) {
      spdlog::info("topic '{}' already exists", topic.name);
      return;
    }
    if (!r.ok()) throw topic_kafka_error(r.error, r.message, context);
    const OutputFormat format = report_format(g);
    if (structured(format)) {
      print_value(Value::object()
                      .set("name", r.name)
                      .set("topic_id", topic_id(r.id))
                      .set("partitions", r.partitions)
                      .set("replication_factor", r.replication_factor)
                      .set("validate_only", o.validate_only),
                  format);
    } else if (o.validate_only) {
      fmt::print("Topic {} can be created (validated only, nothing changed).\n", r.name);
    } else {
      fmt::print("Created topic {}.\n", r.name);
    }
  });
}

void run_list(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    TopicSession s(g, cmd);
    const auto metadata = s.admin.describe_topics({});
    std::vector<const client::TopicMetadata*> topics;
    for (const auto& [name, t] : metadata.topics) {
      if (t.internal && !o.all) continue;
      topics.push_back(&t);
    }
    const OutputFormat format = listing_format(g);
    if (structured(format)) {
      Value list = Value::array();
      for (const auto* t : topics) {
        list.push(Value::object()
                      .set("name", t->name)
                      .set("topic_id", topic_id(t->id))
                      .set("partitions", t->partition_count())
                      .set("replication_factor", t->replication_factor())
                      .set("internal", t->internal));
      }
      print_value(list, format);
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto* t : topics) {
      rows.push_back({t->name + (t->internal ? " (internal)" : ""),
                      std::to_string(t->partition_count()),
                      std::to_string(t->replication_factor())});
    }
    fmt::print("{}", format_table({"NAME", "PARTITIONS", "REPLICAS"}, rows));
  });
}

void run_alter_config(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  const std::string context = fmt::format("{} {}", cmd, o.name);
  if (o.set.empty() && o.removed.empty()) {
    throw CliError(ExitCode::usage, context + ": nothing to change",
                   "give --set KEY=VALUE and/or --delete KEY");
  }
  with_client_errors(context, [&] {
    TopicSession s(g, cmd);
    existing_topic(s.client, o.name, cmd);  // a mistyped name gets the close ones
    std::vector<client::ConfigChange> changes;
    Value set = Value::object();
    Value deleted = Value::array();
    for (const auto& kv : o.set) {
      auto [key, value] = split_key_value(kv);
      set.set(key, value);
      changes.push_back({key, client::ConfigChange::Op::set, value});
    }
    for (const auto& key : o.removed) {
      deleted.push(key);
      changes.push_back({key, client::ConfigChange::Op::remove, {}});
    }
    s.admin.alter_topic_configs(o.name, changes, o.validate_only);
    const OutputFormat format = report_format(g);
    if (structured(format)) {
      print_value(Value::object()
                      .set("name", o.name)
                      .set("set", std::move(set))
                      .set("deleted", std::move(deleted))
                      .set("validate_only", o.validate_only),
                  format);
    } else if (o.validate_only) {
      fmt::print("Config changes for topic {} are valid (nothing changed).\n", o.name);
    } else {
      fmt::print("Altered configs of topic {}.\n", o.name);
    }
  });
}

void run_add_partitions(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  const std::string context = fmt::format("{} {}", cmd, o.name);
  with_client_errors(context, [&] {
    TopicSession s(g, cmd);
    const int32_t previous = existing_topic(s.client, o.name, cmd).partition_count();
    if (o.partitions <= previous) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: the topic already has {} partition(s); --partitions is the "
                                 "new total and must be more",
                                 context, previous),
                     "partitions can be added, never removed");
    }
    const auto results = s.admin.create_partitions({{o.name, o.partitions}}, o.validate_only);
    if (results.empty()) {
      throw CliError(ExitCode::error, context + ": the broker's answer named no topic");
    }
    if (!results.front().ok()) {
      throw topic_kafka_error(results.front().error, results.front().message, context);
    }
    const OutputFormat format = report_format(g);
    if (structured(format)) {
      print_value(Value::object()
                      .set("name", o.name)
                      .set("partitions", o.partitions)
                      .set("previous_partitions", previous)
                      .set("validate_only", o.validate_only),
                  format);
    } else if (o.validate_only) {
      fmt::print("Topic {} can grow from {} to {} partitions (validated only, nothing changed).\n",
                 o.name, previous, o.partitions);
    } else {
      fmt::print("Topic {} now has {} partitions (was {}).\n", o.name, o.partitions, previous);
    }
  });
}

}  // namespace

void add_topic_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<TopicOptions>();
  auto* cmd = app.add_subcommand(
      "topic", "Create, list, describe, alter, grow, trim and delete topics; show offsets");
  cmd->require_subcommand(1);

  auto* create = cmd->add_subcommand("create", "Create a topic");
  create->add_option("name", o->name, "Topic name")->required();
  create
      ->add_option("-p,--partitions", o->partitions,
                   "Number of partitions (default: the broker's num.partitions)")
      ->check(CLI::Range(1, 1'000'000));
  create
      ->add_option("-r,--replication-factor", o->replication_factor,
                   "Replicas per partition (default: the broker's default.replication.factor)")
      ->check(CLI::Range(1, 32'767));
  create->add_option("-c,--config", o->configs, "Topic config KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(key_value_validator());
  create->add_flag("--if-not-exists", o->if_not_exists, "Succeed when the topic already exists");
  create->add_flag("--dry-run,--validate-only", o->validate_only,
                   "Only check that the topic could be created");
  add_footer(*create,
             "JSON (-o json): {\"name\": str, \"topic_id\": str|null, \"partitions\": int, "
             "\"replication_factor\": int, \"validate_only\": bool}");
  create->callback([&opts, o, create] { run_create(opts, *o, command_path(*create)); });

  auto* list = cmd->add_subcommand("list", "List topics (internal ones with --all)");
  list->alias("ls");
  list->add_flag("-a,--all", o->all, "Also list internal topics such as __consumer_offsets");
  list->add_flag("--exclude-internal", o->exclude_internal, "Leave out internal topics (default)")
      ->group("");
  add_footer(*list,
             "Output: a table on a terminal, else JSON (or -o table|json|yaml).\n"
             "JSON: [{\"name\": str, \"topic_id\": str|null, \"partitions\": int, "
             "\"replication_factor\": int, \"internal\": bool}, ...]");
  list->callback([&opts, o, list] { run_list(opts, *o, command_path(*list)); });

  add_topic_describe_commands(*cmd, opts);

  auto* alter = cmd->add_subcommand("alter-config", "Set or remove a topic's config overrides");
  alter->add_option("name", o->name, "Topic name")->required();
  alter->add_option("--set", o->set, "Set KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(key_value_validator());
  alter
      ->add_option("--delete", o->removed,
                   "Remove the override of KEY, back to the default (repeatable)")
      ->type_name("KEY")
      ->allow_extra_args(false);
  alter->add_flag("--dry-run,--validate-only", o->validate_only, "Only check the changes");
  add_footer(*alter,
             "JSON (-o json): {\"name\": str, \"set\": {KEY: str}, \"deleted\": [str], "
             "\"validate_only\": bool}");
  alter->callback([&opts, o, alter] { run_alter_config(opts, *o, command_path(*alter)); });

  auto* grow = cmd->add_subcommand("add-partitions", "Grow a topic to more partitions");
  grow->add_option("name", o->name, "Topic name")->required();
  grow->add_option("-p,--partitions", o->partitions, "The new total number of partitions")
      ->required()
      ->check(CLI::Range(1, 1'000'000));
  grow->add_flag("--dry-run,--validate-only", o->validate_only, "Only check the change");
  add_footer(*grow,
             "Keys map to partitions by hash modulo the partition count: after growing, records of "
             "a key may land in another partition than before.\n"
             "JSON (-o json): {\"name\": str, \"partitions\": int, \"previous_partitions\": int, "
             "\"validate_only\": bool}");
  grow->callback([&opts, o, grow] { run_add_partitions(opts, *o, command_path(*grow)); });

  add_topic_delete_commands(*cmd, opts);
}

}  // namespace kfk::cli

// kfk topic: create, list, describe, alter the configs of, and delete topics.
#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "core/client/admin.h"
#include "core/net/net_error.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

using protocol::ErrorCode;

struct TopicOptions {
  std::vector<std::string> names;
  int32_t partitions = -1;
  int32_t replication_factor = -1;
  std::vector<std::string> configs;  // create: KEY=VALUE
  bool if_not_exists = false;
  bool if_exists = false;
  bool validate_only = false;
  bool exclude_internal = false;
  bool all_configs = false;
  std::vector<std::string> set;      // alter-config: KEY=VALUE
  std::vector<std::string> removed;  // alter-config: KEY
};

CLI::Validator key_value_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (split_key_value(text).first.empty()) {
          return fmt::format("expected KEY=VALUE, got '{}'", text);
        }
        return {};
      },
      "KEY=VALUE", "key=value");
}

std::string json_int_list(const std::vector<int32_t>& values) {
  return fmt::format("[{}]", fmt::join(values, ","));
}

std::string text_int_list(const std::vector<int32_t>& values) {
  return values.empty() ? "-" : fmt::format("{}", fmt::join(values, ","));
}

// Runs the command body with a client built from the global options.
struct Session {
  Session(const GlobalOptions& opts, const std::string& command)
      : config(client_config(opts, command)), client(client_options(opts, config)), admin(client) {}
  config::ClientConfig config;
  client::Client client;
  client::Admin admin;
};

void run_create(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  const std::string context = fmt::format("{} {}", cmd, o.names.front());
  with_client_errors(context, [&] {
    Session s(g, cmd);
    client::NewTopic topic;
    topic.name = o.names.front();
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
    if (!r.ok()) {
      CliError e = kafka_error(r.error, context);
      if (!r.message.empty()) {
        throw CliError(e.code(), std::string(e.what()) + " (" + r.message + ")", e.hint());
      }
      throw e;
    }
    if (g.output == OutputFormat::json) {
      fmt::print(
          "{{\"name\":{},\"topic_id\":{},\"partitions\":{},\"replication_factor\":{},"
          "\"validate_only\":{}}}\n",
          json_quote(r.name), r.id.is_zero() ? "null" : json_quote(r.id.to_string()), r.partitions,
          r.replication_factor, o.validate_only);
    } else if (o.validate_only) {
      fmt::print("Topic {} can be created (validated only, nothing changed).\n", r.name);
    } else {
      fmt::print("Created topic {}.\n", r.name);
    }
  });
}

void run_list(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    Session s(g, cmd);
    const auto metadata = s.admin.describe_topics({});
    std::vector<const client::TopicMetadata*> topics;
    for (const auto& [name, t] : metadata.topics) {
      if (o.exclude_internal && t.internal) continue;
      topics.push_back(&t);
    }
    if (g.output == OutputFormat::json) {
      std::string out = "[";
      for (size_t i = 0; i < topics.size(); ++i) {
        const auto& t = *topics[i];
        out += fmt::format(
            "{}{{\"name\":{},\"topic_id\":{},\"partitions\":{},\"replication_factor\":{},"
            "\"internal\":{}}}",
            i ? "," : "", json_quote(t.name),
            t.id.is_zero() ? "null" : json_quote(t.id.to_string()), t.partition_count(),
            t.replication_factor(), t.internal);
      }
      fmt::print("{}]\n", out);
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

std::string configs_json(const std::vector<client::ConfigEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    out += fmt::format(
        "{}{{\"name\":{},\"value\":{},\"source\":\"{}\",\"read_only\":{},\"sensitive\":{}}}",
        i ? "," : "", json_quote(e.name), e.value ? json_quote(*e.value) : "null",
        client::to_string(e.source), e.read_only, e.sensitive);
  }
  return out + "]";
}

void run_describe(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    Session s(g, cmd);
    const auto metadata = s.admin.describe_topics(o.names);
    std::string json = "[";
    bool first = true;
    for (const auto& name : o.names) {
      const auto it = metadata.topics.find(name);
      if (it == metadata.topics.end()) {
        throw kafka_error(protocol::to_int(ErrorCode::unknown_topic_or_partition),
                          cmd + " " + name);
      }
      const auto& t = it->second;
      if (t.error != 0) throw kafka_error(t.error, cmd + " " + name);

      std::optional<std::vector<client::ConfigEntry>> configs;
      std::string configs_note;
      try {
        auto entries = s.admin.describe_topic_configs(name);
        if (!o.all_configs) {
          std::erase_if(entries, [](const auto& e) {
            return e.is_default() || e.source == client::ConfigSource::static_broker;
          });
        }
        configs = std::move(entries);
      } catch (const net::NetError& e) {
        if (e.kind() != net::NetErrorKind::unsupported) throw;
        configs_note = "not available: the broker does not support DescribeConfigs";
      }

      if (g.output == OutputFormat::json) {
        std::string partitions;
        for (const auto& p : t.partitions) {
          partitions += fmt::format(
              "{}{{\"partition\":{},\"leader\":{},\"leader_epoch\":{},\"replicas\":{},"
              "\"isr\":{},\"offline_replicas\":{}{}}}",
              partitions.empty() ? "" : ",", p.partition, p.leader, p.leader_epoch,
              json_int_list(p.replicas), json_int_list(p.isr), json_int_list(p.offline),
              p.error != 0 ? fmt::format(",\"error\":{}", json_quote(protocol::error_name(p.error)))
                           : "");
        }
        json += fmt::format(
            "{}{{\"name\":{},\"topic_id\":{},\"internal\":{},\"partition_count\":{},"
            "\"replication_factor\":{},\"partitions\":[{}],\"configs\":{}}}",
            first ? "" : ",", json_quote(t.name),
            t.id.is_zero() ? "null" : json_quote(t.id.to_string()), t.internal, t.partition_count(),
            t.replication_factor(), partitions, configs ? configs_json(*configs) : "null");
        first = false;
        continue;
      }
      if (!first) fmt::print("\n");
      first = false;
      fmt::print("Topic:               {}\n", t.name);
      fmt::print("Topic ID:            {}\n", t.id.is_zero() ? "-" : t.id.to_string());
      fmt::print("Partitions:          {}\n", t.partition_count());
      fmt::print("Replication factor:  {}\n", t.replication_factor());
      if (t.internal) fmt::print("Internal:            yes\n");
      if (!configs) {
        fmt::print("Configs:             ({})\n", configs_note);
      } else if (configs->empty()) {
        fmt::print("Configs:             {}\n", o.all_configs ? "none" : "all defaults");
      } else {
        fmt::print("Configs:\n");
        for (const auto& e : *configs) {
          fmt::print("  {}={}{}\n", e.name, e.value ? *e.value : "(sensitive)",
                     o.all_configs ? fmt::format("  [{}]", client::to_string(e.source)) : "");
        }
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : t.partitions) {
        rows.push_back(
            {std::to_string(p.partition), p.leader < 0 ? "none" : std::to_string(p.leader),
             std::to_string(p.leader_epoch), text_int_list(p.replicas), text_int_list(p.isr),
             p.error != 0 ? std::string(protocol::error_name(p.error)) : ""});
      }
      fmt::print("\n{}",
                 format_table({"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "ERROR"}, rows));
    }
    if (g.output == OutputFormat::json) fmt::print("{}]\n", json);
  });
}

void run_delete(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    Session s(g, cmd);
    const auto results = s.admin.delete_topics(o.names);
    std::optional<CliError> failure;
    std::string json = "[";
    bool first = true;
    for (const auto& name : o.names) {
      const auto it = std::find_if(results.begin(), results.end(),
                                   [&](const auto& r) { return r.name == name; });
      const int16_t error =
          it == results.end() ? protocol::to_int(ErrorCode::unknown_server_error) : it->error;
      const bool missing = error == protocol::to_int(ErrorCode::unknown_topic_or_partition);
      if (error != 0 && !(missing && o.if_exists)) {
        if (!failure) failure = kafka_error(error, cmd + " " + name);
        spdlog::error("{} {}: {}", cmd, name, protocol::describe_error(error));
        continue;
      }
      if (g.output == OutputFormat::json) {
        json += fmt::format("{}{{\"name\":{},\"deleted\":{}}}", first ? "" : ",", json_quote(name),
                            error == 0);
        first = false;
      } else if (error == 0) {
        fmt::print("Deleted topic {}.\n", name);
      } else {
        spdlog::info("topic '{}' does not exist", name);
      }
    }
    if (g.output == OutputFormat::json) fmt::print("{}]\n", json);
    if (failure) throw *failure;
  });
}

void run_alter_config(const GlobalOptions& g, const TopicOptions& o, const std::string& cmd) {
  const std::string context = fmt::format("{} {}", cmd, o.names.front());
  if (o.set.empty() && o.removed.empty()) {
    throw CliError(ExitCode::usage, context + ": nothing to change",
                   "give --set KEY=VALUE and/or --delete KEY");
  }
  with_client_errors(context, [&] {
    Session s(g, cmd);
    std::vector<client::ConfigChange> changes;
    for (const auto& kv : o.set) {
      auto [key, value] = split_key_value(kv);
      changes.push_back({key, client::ConfigChange::Op::set, value});
    }
    for (const auto& key : o.removed) {
      changes.push_back({key, client::ConfigChange::Op::remove, {}});
    }
    s.admin.alter_topic_configs(o.names.front(), changes, o.validate_only);
    if (g.output == OutputFormat::json) {
      fmt::print("{{\"name\":{},\"validate_only\":{}}}\n", json_quote(o.names.front()),
                 o.validate_only);
    } else if (o.validate_only) {
      fmt::print("Config changes for topic {} are valid (nothing changed).\n", o.names.front());
    } else {
      fmt::print("Altered configs of topic {}.\n", o.names.front());
    }
  });
}

}  // namespace

void add_topic_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<TopicOptions>();
  auto* cmd = app.add_subcommand("topic", "Create, list, describe, alter and delete topics");
  cmd->require_subcommand(1);

  auto* create = cmd->add_subcommand("create", "Create a topic");
  create->add_option("name", o->names, "Topic name")->required()->expected(1);
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
  create->add_flag("--validate-only", o->validate_only,
                   "Only check that the topic could be created");
  create->callback([&opts, o, create] { run_create(opts, *o, command_path(*create)); });

  auto* list = cmd->add_subcommand("list", "List topics");
  list->alias("ls");
  list->add_flag("--exclude-internal", o->exclude_internal, "Leave out internal topics");
  list->callback([&opts, o, list] { run_list(opts, *o, command_path(*list)); });

  auto* describe = cmd->add_subcommand(
      "describe", "Show topics' partitions (leader, replicas, ISR), ids and configs");
  describe->add_option("names", o->names, "Topic names")->required();
  describe->add_flag("--all-configs", o->all_configs,
                     "Show every config with its source, not only the topic's overrides");
  describe->callback([&opts, o, describe] { run_describe(opts, *o, command_path(*describe)); });

  auto* alter = cmd->add_subcommand("alter-config", "Set or remove a topic's config overrides");
  alter->add_option("name", o->names, "Topic name")->required()->expected(1);
  alter->add_option("--set", o->set, "Set KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(key_value_validator());
  alter
      ->add_option("--delete", o->removed,
                   "Remove the override of KEY, back to the default (repeatable)")
      ->type_name("KEY")
      ->allow_extra_args(false);
  alter->add_flag("--validate-only", o->validate_only, "Only check the changes");
  alter->callback([&opts, o, alter] { run_alter_config(opts, *o, command_path(*alter)); });

  auto* del = cmd->add_subcommand("delete", "Delete topics");
  del->add_option("names", o->names, "Topic names")->required();
  del->add_flag("--if-exists", o->if_exists, "Succeed for topics that do not exist");
  del->callback([&opts, o, del] { run_delete(opts, *o, command_path(*del)); });
}

}  // namespace kfk::cli

// kfk broker config get|set|delete: the broker configs the broker serves through
// DescribeConfigs and changes through IncrementalAlterConfigs (like `rpk cluster config` and
// `kafka-configs --entity-type brokers`).
//
//   get [NAME...]    the configs of one broker (--broker ID, default the lowest id): without
//                    names those not at their default, with --all every one, with names those
//   set NAME=VALUE.. dynamic configs for every broker (the cluster-wide default), or only for
//                    --broker ID
//   delete NAME...   removes such dynamic configs: the value falls back to the next source
//
// Output: get prints a table on a terminal and JSON otherwise (or what --output says); set and
// delete report in a sentence unless --output asks for json or yaml. JSON shapes (YAML has
// the same fields):
//
//   kfk broker config get     [{"name": str, "value": str|null, "source": str,
//                               "read_only": bool, "sensitive": bool}, ...]
//                              source as Kafka names it (DEFAULT_CONFIG, STATIC_BROKER_CONFIG,
//                              DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG); value is
//                              null for sensitive configs
//   kfk broker config set     {"broker": int|null, "set": {NAME: str, ...}}
//   kfk broker config delete  {"broker": int|null, "deleted": [str, ...]}
//                              broker null: the cluster-wide default
#include <fmt/core.h>

#include <algorithm>
#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/suggest.h"
#include "cli/topic_support.h"
#include "core/client/admin.h"

namespace kfk::cli {
namespace {

struct BrokerConfigOptions {
  int32_t broker = -1;  // -1: not given
  bool all = false;
  std::vector<std::string> names;        // get, delete
  std::vector<std::string> assignments;  // set: NAME=VALUE
};

bool structured(OutputFormat f) { return f == OutputFormat::json || f == OutputFormat::yaml; }

// The broker `get` describes: --broker, else the lowest id in the metadata.
int32_t broker_to_describe(client::Client& client, int32_t given) {
  if (given >= 0) return given;
  const auto metadata = client.fetch_metadata(std::vector<std::string>{});
  if (metadata.brokers.empty()) {
    throw CliError(ExitCode::error, "the cluster metadata names no broker",
                   "check that the broker has finished starting");
  }
  return metadata.brokers.begin()->first;
}

void run_get(const GlobalOptions& g, const BrokerConfigOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    TopicSession s(g, cmd);
    const int32_t broker = broker_to_describe(s.client, o.broker);
    const auto entries = s.admin.describe_broker_configs(broker);
    std::vector<const client::ConfigEntry*> shown;
    if (!o.names.empty()) {
      std::vector<std::string> known;
      for (const auto& e : entries) known.push_back(e.name);
      for (const auto& name : o.names) {
        const auto it = std::find_if(entries.begin(), entries.end(),
                                     [&](const auto& e) { return e.name == name; });
        if (it == entries.end()) {
          const std::string close = did_you_mean(name, known);
          throw CliError(ExitCode::usage,
                         fmt::format("{}: broker {} has no config '{}'", cmd, broker, name),
                         close.empty() ? fmt::format("'{}' lists the configs set; --all every "
                                                     "one",
                                                     cmd)
                                       : close);
        }
        shown.push_back(&*it);
      }
    } else {
      for (const auto& e : entries) {
        if (o.all || !e.is_default()) shown.push_back(&e);
      }
    }
    const OutputFormat format = listing_format(g);
    if (structured(format)) {
      Value list = Value::array();
      for (const auto* e : shown) {
        list.push(Value::object()
                      .set("name", e->name)
                      .set("value", e->value ? Value(*e->value) : Value())
                      .set("source", client::to_string(e->source))
                      .set("read_only", e->read_only)
                      .set("sensitive", e->sensitive));
      }
      print_value(list, format);
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto* e : shown) {
      rows.push_back({e->name, e->sensitive ? "(sensitive)" : e->value.value_or("-"),
                      std::string(client::to_string(e->source))});
    }
    fmt::print("{}", format_table({"NAME", "VALUE", "SOURCE"}, rows));
  });
}

std::string scope(int32_t broker) {
  return broker >= 0 ? fmt::format("broker {}", broker)
                     : std::string("every broker (the cluster-wide default)");
}

void run_alter(const GlobalOptions& g, const BrokerConfigOptions& o, const std::string& cmd,
               bool set) {
  std::vector<client::ConfigChange> changes;
  Value report = Value::object().set("broker", o.broker >= 0 ? Value(o.broker) : Value());
  if (set) {
    Value values = Value::object();
    for (const auto& a : o.assignments) {
      auto [name, value] = split_key_value(a);
      changes.push_back({name, client::ConfigChange::Op::set, value});
      values.set(name, value);
    }
    report.set("set", std::move(values));
  } else {
    Value names = Value::array();
    for (const auto& name : o.names) {
      changes.push_back({name, client::ConfigChange::Op::remove, {}});
      names.push(name);
    }
    report.set("deleted", std::move(names));
  }
  with_client_errors(cmd, [&] {
    TopicSession s(g, cmd);
    s.admin.alter_broker_configs(o.broker, changes, false);
  });
  const OutputFormat format = report_format(g);
  if (structured(format)) {
    print_value(report, format);
    return;
  }
  for (const auto& c : changes) {
    if (set) {
      fmt::print("Set {}={} for {}.\n", c.name, c.value, scope(o.broker));
    } else {
      fmt::print("Deleted {} for {}.\n", c.name, scope(o.broker));
    }
  }
}

}  // namespace

void add_broker_command(CLI::App& app, GlobalOptions& opts) {
  auto* broker = app.add_subcommand("broker", "Show and change the configs of brokers");
  broker->require_subcommand(1);
  auto* config = broker->add_subcommand(
      "config", "The broker configs (DescribeConfigs, IncrementalAlterConfigs)");
  config->require_subcommand(1);

  auto o = std::make_shared<BrokerConfigOptions>();
  auto* get = config->add_subcommand(
      "get", "Show a broker's configs: those set (not defaults), --all, or the ones named");
  get->add_option("names", o->names, "Config names (default: every config not at its default)");
  get->add_option("--broker", o->broker, "Broker id (default: the lowest id in the cluster)")
      ->check(CLI::NonNegativeNumber);
  get->add_flag("--all", o->all, "Every config, defaults included");
  add_footer(*get,
             "JSON (when piped, or -o json): [{\"name\": str, \"value\": str|null, \"source\": "
             "str, \"read_only\": bool, \"sensitive\": bool}, ...]");
  get->callback([&opts, o, get] { run_get(opts, *o, command_path(*get)); });

  auto* set = config->add_subcommand(
      "set", "Set dynamic configs for every broker, or one broker with --broker");
  set->add_option("assignments", o->assignments, "NAME=VALUE pairs")
      ->required()
      ->check(key_value_validator());
  set->add_option("--broker", o->broker,
                  "Only this broker (default: the cluster-wide default for every broker)")
      ->check(CLI::NonNegativeNumber);
  set->callback([&opts, o, set] { run_alter(opts, *o, command_path(*set), true); });

  auto* del = config->add_subcommand(
      "delete", "Remove dynamic configs: each falls back to its static value or default");
  del->add_option("names", o->names, "Config names")->required();
  del->add_option("--broker", o->broker,
                  "Only this broker's (default: the cluster-wide default for every broker)")
      ->check(CLI::NonNegativeNumber);
  del->callback([&opts, o, del] { run_alter(opts, *o, command_path(*del), false); });
}

}  // namespace kfk::cli

// kfk cluster info: what the cluster says about itself in one Metadata request: its id, the
// controller, every broker with its address and rack, and how many topics and partitions it
// holds (like `kcat -L` without the topics, and `rpk cluster info`).
//
// Output: a table on a terminal, JSON otherwise (or what --output says). JSON shape (YAML has
// the same fields):
//
//   kfk cluster info  {"cluster_id": str|null, "controller_id": int|null,
//                      "brokers": [{"id": int, "host": str, "port": int, "rack": str|null,
//                                   "controller": bool}],
//                      "topics": int, "partitions": int}
//                     topics and partitions leave out internal topics.
#include <fmt/core.h>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/topic_support.h"

namespace kfk::cli {
namespace {

void run_info(const GlobalOptions& g, const std::string& command) {
  with_client_errors(command, [&] {
    client::Client client(client_options(g, client_config(g, command)));
    const auto metadata = client.fetch_metadata(std::nullopt);
    int64_t topics = 0;
    int64_t partitions = 0;
    for (const auto& [name, topic] : metadata.topics) {
      if (topic.internal || topic.error != 0) continue;
      ++topics;
      partitions += topic.partition_count();
    }
    const OutputFormat format = listing_format(g);
    if (format != OutputFormat::table) {
      Value brokers = Value::array();
      for (const auto& [id, b] : metadata.brokers) {
        brokers.push(Value::object()
                         .set("id", id)
                         .set("host", b.host)
                         .set("port", b.port)
                         .set("rack", b.rack ? Value(*b.rack) : Value())
                         .set("controller", id == metadata.controller_id));
      }
      print_value(
          Value::object()
              .set("cluster_id", metadata.cluster_id ? Value(*metadata.cluster_id) : Value())
              .set("controller_id", non_negative_or_null(metadata.controller_id))
              .set("brokers", std::move(brokers))
              .set("topics", topics)
              .set("partitions", partitions),
          format);
      return;
    }
    fmt::print("Cluster id:  {}\n", metadata.cluster_id.value_or("-"));
    fmt::print("Controller:  {}\n", metadata.controller_id >= 0
                                        ? std::to_string(metadata.controller_id)
                                        : std::string("-"));
    fmt::print("Topics:      {} ({} partition{})\n\n", topics, partitions,
               partitions == 1 ? "" : "s");
    std::vector<std::vector<std::string>> rows;
    for (const auto& [id, b] : metadata.brokers) {
      rows.push_back({std::to_string(id) + (id == metadata.controller_id ? "*" : ""),
                      fmt::format("{}:{}", b.host, b.port), b.rack.value_or("-")});
    }
    fmt::print("{}", format_table({"BROKER", "ADDRESS", "RACK"}, rows));
  });
}

}  // namespace

void add_cluster_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand("cluster", "Show the cluster: its id, controller and brokers");
  cmd->require_subcommand(1);
  auto* info = cmd->add_subcommand(
      "info", "Cluster id, controller, brokers with their addresses, topic and partition counts");
  add_footer(*info,
             "The controller is marked with * in the table.\n"
             "JSON (when piped, or -o json): {\"cluster_id\": str|null, \"controller_id\": "
             "int|null, \"brokers\": [{\"id\": int, \"host\": str, \"port\": int, \"rack\": "
             "str|null, \"controller\": bool}], \"topics\": int, \"partitions\": int}");
  info->callback([&opts, info] { run_info(opts, command_path(*info)); });
}

}  // namespace kfk::cli

// kfk topic: manages topics.
// Not in this version yet: every form of the command fails with ExitCode::not_available.
#include "cli/commands.h"

namespace kfk::cli {

void add_topic_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* cmd = app.add_subcommand(
      "topic",
      "Create, list, describe, alter and delete topics (not available yet in this version)");
  make_placeholder(*cmd, std::string(kNotAvailableYet));
  for (const auto& [verb, what] : {
           std::pair{"list", "List topics"},
           std::pair{"create", "Create a topic"},
           std::pair{"describe", "Show a topic's partitions and configs"},
           std::pair{"alter", "Change a topic's partitions or configs"},
           std::pair{"delete", "Delete a topic"},
       }) {
    auto* sub =
        cmd->add_subcommand(verb, std::string(what) + " (not available yet in this version)");
    make_placeholder(*sub, std::string(kNotAvailableYet));
  }
}

}  // namespace kfk::cli

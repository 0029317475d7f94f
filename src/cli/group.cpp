// kfk group: inspects and manages consumer groups.
// Not in this version yet: every form of the command fails with ExitCode::not_available.
#include "cli/commands.h"

namespace kfk::cli {

void add_group_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* cmd = app.add_subcommand(
      "group", "List, describe and manage consumer groups (not available yet in this version)");
  make_placeholder(*cmd, std::string(kNotAvailableYet));
  for (const auto& [verb, what] : {
           std::pair{"list", "List consumer groups"},
           std::pair{"describe", "Show a group's members, offsets and lag"},
           std::pair{"reset-offsets", "Move a group's committed offsets"},
           std::pair{"delete", "Delete a consumer group"},
       }) {
    auto* sub =
        cmd->add_subcommand(verb, std::string(what) + " (not available yet in this version)");
    make_placeholder(*sub, std::string(kNotAvailableYet));
  }
}

}  // namespace kfk::cli

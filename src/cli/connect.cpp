// kfk connect: runs and manages connectors.
// Not in this version yet: every form of the command fails with ExitCode::not_available.
#include "cli/commands.h"

namespace kfk::cli {

void add_connect_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* cmd = app.add_subcommand("connect",
                                 "Run and manage connectors (not available yet in this version)");
  make_placeholder(*cmd, std::string(kNotAvailableYet));
}

}  // namespace kfk::cli

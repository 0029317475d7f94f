// kfk connect: runs and manages connectors.
// Not in this version yet: every form of the command fails with ExitCode::not_available.
#include "cli/commands.h"

namespace kfk::cli {

void add_connect_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* cmd = app.add_subcommand("connect", "Run and manage connectors (comes in a later release)");
  make_placeholder(*cmd,
                   "not available in this version: Kafka Connect (running and managing connectors) "
                   "comes in a later release");
}

}  // namespace kfk::cli

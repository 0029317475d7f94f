// kfk consume: reads records from topics and prints them.
// Not in this version yet: every form of the command fails with ExitCode::not_available.
#include "cli/commands.h"

namespace kfk::cli {

void add_consume_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* cmd =
      app.add_subcommand("consume", "Read records from topics (not available yet in this version)");
  make_placeholder(*cmd, std::string(kNotAvailableYet));
}

}  // namespace kfk::cli

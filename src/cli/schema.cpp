// kfk schema: registers and looks up schemas.
// Not in this version yet: every form of the command fails with ExitCode::not_available.
#include "cli/commands.h"

namespace kfk::cli {

void add_schema_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* cmd =
      app.add_subcommand("schema", "Register and look up schemas (comes in a later release)");
  make_placeholder(*cmd,
                   "not available in this version: the Schema Registry comes in a later release");
}

}  // namespace kfk::cli

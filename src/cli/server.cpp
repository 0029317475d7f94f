// kfk server: runs the broker. Not in this version yet; `start` must say so and fail rather
// than look as if a broker were running.
#include "cli/commands.h"

namespace kfk::cli {

void add_server_command(CLI::App& app, GlobalOptions& /*opts*/) {
  auto* server =
      app.add_subcommand("server", "Run a kfk broker (not available yet in this version)");
  make_placeholder(*server, std::string(kNotAvailableYet));

  auto* start = server->add_subcommand(
      "start", "Start the broker (not implemented yet in this version: nothing is started)");
  make_placeholder(*start,
                   "the broker is not implemented yet in this version, so no broker was started "
                   "(it lands with the single-node broker work)");

  auto* format = server->add_subcommand(
      "format", "Prepare a data directory for a new broker (not available yet in this version)");
  make_placeholder(*format, std::string(kNotAvailableYet));
}

}  // namespace kfk::cli

#include "cli/run.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "cli/app.h"
#include "cli/exit_codes.h"

namespace kfk::cli {

int run_command_line(const std::vector<std::string>& args) {
  CLI::App app;
  GlobalOptions opts;
  try {
    build_app(app, opts);
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them reversed
    app.parse(reversed);                                            // runs the selected command
    if (app.get_subcommands().empty()) {
      fmt::print(stderr, "{}", app.help());
      return to_int(ExitCode::usage);
    }
    return to_int(ExitCode::ok);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e);
  } catch (const CliError& e) {
    return report_error(e);
  }
}

}  // namespace kfk::cli

// kfk: one binary for the broker and every client tool. This file only turns whatever goes
// wrong into a message on stderr and one of the exit codes in exit_codes.h.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/app.h"
#include "cli/exit_codes.h"

namespace {

using kfk::cli::ExitCode;
using kfk::cli::to_int;

int run(int argc, char** argv) {
  CLI::App app;
  kfk::cli::GlobalOptions opts;
  try {
    kfk::cli::build_app(app, opts);
    app.parse(argc, argv);  // runs the selected command
    if (app.get_subcommands().empty()) {
      fmt::print(stderr, "{}", app.help());
      return to_int(ExitCode::usage);
    }
    return to_int(ExitCode::ok);
  } catch (const CLI::ParseError& e) {
    return kfk::cli::report_parse_error(app, e);
  } catch (const kfk::cli::CliError& e) {
    return kfk::cli::report_error(e);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kfk: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "kfk: internal error: unknown exception\n");
  }
  return to_int(ExitCode::error);
}

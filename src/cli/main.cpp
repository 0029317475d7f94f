// kfk: one binary for the broker and every client tool. `kfk` alone on a terminal opens the
// interactive shell; otherwise the command line runs (run.cpp). This file only turns whatever
// escapes into a message on stderr and one of the exit codes in exit_codes.h.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/run.h"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    if (args.empty() && isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0) {
      args.emplace_back("shell");
    }
    return kfk::cli::run_command_line(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kfk: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "kfk: internal error: unknown exception\n");
  }
  return kfk::cli::to_int(kfk::cli::ExitCode::error);
}

// Running one kfk command line: what `kfk ARGS...` does and what the interactive shell does for
// each line it reads (in a child process, see shell.cpp).
#pragma once

#include <string>
#include <vector>

namespace kfk::cli {

// Parses `args` (the words after the program name) with a fresh command tree, runs the
// selected command and returns its exit code; errors are printed to stderr.
int run_command_line(const std::vector<std::string>& args);

}  // namespace kfk::cli

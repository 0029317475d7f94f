// The commands around the clients: the interactive shell, shell completion and man pages, the
// performance tests and the segment dumper. Registered by build_app() (commands.h) or, for
// the dumper, by the hidden `debug` command.
#pragma once

#include <CLI/CLI.hpp>
#include <string_view>

#include "cli/commands.h"

namespace kfk::cli {

// `kfk debug dump-log FILE...` (dump_log.cpp).
void add_dump_log_command(CLI::App& debug, GlobalOptions& opts);
// `kfk debug verify-log DIR...` (verify_log.cpp).
void add_verify_log_command(CLI::App& debug, GlobalOptions& opts);

// The script `kfk completion SHELL` prints (bash for an unknown shell).
std::string_view completion_script(std::string_view shell);

}  // namespace kfk::cli

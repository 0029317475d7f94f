// One add_<name>_command per top-level command, each defined in <name>.cpp. build_app() in
// app.cpp calls them in the order `kfk --help` lists them.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace kfk::cli {

void add_server_command(CLI::App& app, GlobalOptions& opts);
void add_topic_command(CLI::App& app, GlobalOptions& opts);
void add_produce_command(CLI::App& app, GlobalOptions& opts);
void add_consume_command(CLI::App& app, GlobalOptions& opts);
void add_group_command(CLI::App& app, GlobalOptions& opts);
void add_cluster_command(CLI::App& app, GlobalOptions& opts);  // cluster.cpp
void add_broker_command(CLI::App& app, GlobalOptions& opts);   // broker_config.cpp
void add_connect_command(CLI::App& app, GlobalOptions& opts);
void add_schema_command(CLI::App& app, GlobalOptions& opts);
void add_profile_command(CLI::App& app, GlobalOptions& opts);  // profile.cpp
void add_help_command(CLI::App& app, GlobalOptions& opts);
void add_completion_command(CLI::App& app, GlobalOptions& opts);  // completion_command.cpp
void add_man_command(CLI::App& app, GlobalOptions& opts);         // man_pages.cpp
void add_shell_command(CLI::App& app, GlobalOptions& opts);       // shell.cpp
void add_perf_command(CLI::App& app, GlobalOptions& opts);        // perf.cpp
// Hidden: shows what kfk made of its global options and looks up Kafka error codes.
void add_debug_command(CLI::App& app, GlobalOptions& opts);

}  // namespace kfk::cli

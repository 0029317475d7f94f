// kfk help: `kfk help [COMMAND...]` prints the help of kfk (alone) or of a command, as
// --help does; `kfk help exit-codes` prints the exit statuses of exit_codes.h.
//
// Output of `kfk help exit-codes` (a table unless --output says json or yaml;
// the table is what the man pages include):
//
//   CODE  NAME           MEANING
//   0     ok             success
//   ...
//
// JSON shape (-o json): one array, in the order of the table:
//   [{"code": 0, "name": "ok", "meaning": "success"}, ...]
#include <fmt/core.h>

#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/suggest.h"

namespace kfk::cli {
namespace {

void print_exit_codes(const GlobalOptions& opts) {
  const OutputFormat format = report_format(opts);
  if (format == OutputFormat::json || format == OutputFormat::yaml) {
    Value codes = Value::array();
    for (const auto& info : kExitCodes) {
      codes.push(Value::object()
                     .set("code", to_int(info.code))
                     .set("name", exit_code_name(info.code))
                     .set("meaning", info.meaning));
    }
    print_value(codes, format);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& info : kExitCodes) {
    rows.push_back({std::to_string(to_int(info.code)), std::string(exit_code_name(info.code)),
                    std::string(info.meaning)});
  }
  fmt::print("{}", format_table({"CODE", "NAME", "MEANING"}, rows));
}

void print_help_of(const CLI::App& root, const std::vector<std::string>& path) {
  const CLI::App* cmd = &root;
  for (const auto& name : path) {
    const CLI::App* next = nullptr;
    for (const auto* sub : cmd->get_subcommands({})) {
      if (sub->check_name(name)) next = sub;
    }
    if (next == nullptr) {
      std::vector<std::string> names;
      for (const auto* sub : cmd->get_subcommands({})) {
        if (!sub->get_group().empty()) names.push_back(sub->get_name());
      }
      const std::string close = did_you_mean(name, names);
      throw CliError(ExitCode::usage,
                     fmt::format("kfk help: {} has no command '{}'{}", command_path(*cmd), name,
                                 close.empty() ? "" : "; " + close),
                     fmt::format("run '{} --help' to see its commands", command_path(*cmd)));
    }
    cmd = next;
  }
  // As --help prints it: the usage line names the whole command.
  const CLI::App* parent = cmd->get_parent();
  fmt::print("{}", cmd->help(parent == nullptr ? std::string() : command_path(*parent)));
}

}  // namespace

void add_help_command(CLI::App& app, GlobalOptions& opts) {
  auto* help = app.add_subcommand("help", "Show the help of a command, or the exit codes");
  auto path = std::make_shared<std::vector<std::string>>();
  // Required, so that command names are taken as this argument (CLI11 would otherwise run
  // them as commands); "exit-codes" is a topic of its own rather than a subcommand for the
  // same reason. `kfk help` alone is answered by report_parse_error() with kfk's help.
  help->add_option("topic", *path, "A command (e.g. topic create), or exit-codes")
      ->required()
      ->expected(1, -1);
  help->footer(
      "Topics:\n"
      "  exit-codes  the exit statuses of kfk commands (-o json|yaml for machines)\n"
      "  COMMAND...  the same as 'kfk COMMAND... --help'");
  help->callback([&app, &opts, path] {
    if (*path == std::vector<std::string>{"exit-codes"}) {
      print_exit_codes(opts);
    } else {
      print_help_of(app, *path);
    }
  });
}

}  // namespace kfk::cli

// Completion of kfk command lines, from the CLI11 command tree: subcommands, options and
// live topic and group names. Used by the shell scripts (through the hidden `kfk __complete`)
// and by the interactive shell.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace kfk::cli {

struct Completion {
  std::string word;
  std::string description;  // may be empty
};

// Where live names come from; each returns an empty list on any failure.
struct LiveNames {
  std::function<std::vector<std::string>()> topics;
  std::function<std::vector<std::string>()> groups;
};

// What may replace the last word of `words` (the command line after `kfk`, split into words;
// the last one is the word being typed, possibly empty). Candidates start with that word.
std::vector<Completion> complete_command_line(CLI::App& root, const std::vector<std::string>& words,
                                              const LiveNames& live);

// Live names from the brokers given: a short connect and request timeout, errors swallowed.
LiveNames broker_names(const std::vector<std::string>& brokers);

// The names of the connection profiles (none when the profile file cannot be read).
std::vector<std::string> profile_names();

// The command's visible subcommands (hidden ones are in the group "").
std::vector<CLI::App*> visible_subcommands(CLI::App& cmd);

}  // namespace kfk::cli

// kfk shell (and `kfk` alone on a terminal): a REPL over the same commands as the command line.
//
// Line editing and history come from libedit (its readline-compatible interface); the history
// is kept in $XDG_STATE_HOME/kfk/history (~/.local/state/kfk/history). Tab completes
// subcommands, options and live topic and group names (completion.cpp, as `kfk __complete`).
//
// Each line runs in a child process (fork) with a fresh command tree, exactly as `kfk LINE`
// would, plus the global options the shell itself was given: a command that exits, fails or is
// stopped with Ctrl-C (the terminal sends SIGINT to the child; the shell ignores it meanwhile)
// ends only the child, and no state leaks from one line to the next. Builtins: `use profile
// NAME` (sets KFK_PROFILE for the lines after it), `help`, `exit`/`quit`; Ctrl-D leaves.
#include <editline/readline.h>
#include <fmt/core.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/completion.h"
#include "cli/run.h"
#include "cli/shell_words.h"
#include "cli/tool_commands.h"

namespace kfk::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kHistorySize = 2000;
constexpr auto kNamesTtl = std::chrono::seconds(10);

// Live names fetched once and reused for a while: pressing Tab twice must not ask twice.
class CachedNames {
 public:
  explicit CachedNames(LiveNames source) : source_(std::move(source)) {}

  LiveNames names() {
    LiveNames out;
    out.topics = [this] { return get(topics_, source_.topics); };
    out.groups = [this] { return get(groups_, source_.groups); };
    return out;
  }
  // After a command ran: it may have created or deleted some.
  void invalidate() {
    topics_.at = {};
    groups_.at = {};
  }

 private:
  struct Entry {
    Clock::time_point at{};
    std::vector<std::string> names;
  };
  static std::vector<std::string> get(Entry& entry,
                                      const std::function<std::vector<std::string>()>& fetch) {
    const auto now = Clock::now();
    if (entry.at == Clock::time_point{} || now - entry.at > kNamesTtl) {
      entry.names = fetch ? fetch() : std::vector<std::string>{};
      entry.at = now;
    }
    return entry.names;
  }

  LiveNames source_;
  Entry topics_;
  Entry groups_;
};

struct ShellState {
  std::vector<std::string> global_args;  // the shell's own global options, for every line
  CLI::App completion_tree;              // a command tree to complete against
  GlobalOptions completion_opts;
  std::unique_ptr<CachedNames> names;
  std::string profile;
  std::vector<std::string> candidates;  // of the completion in progress
  size_t next_candidate = 0;
};

ShellState* g_shell = nullptr;  // libedit's completion hooks take no user data

const std::vector<std::string> kBuiltins = {"exit", "help", "quit", "use"};

fs::path history_path() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
    return fs::path(state) / "kfk" / "history";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".local" / "state" / "kfk" / "history";
  }
  return {};
}

char* next_match(const char* /*text*/, int state) {
  if (state == 0) g_shell->next_candidate = 0;
  if (g_shell->next_candidate >= g_shell->candidates.size()) return nullptr;
  return strdup(g_shell->candidates[g_shell->next_candidate++].c_str());
}

char** complete_hook(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // no file names when we have nothing
  auto split = split_shell_words(std::string_view(rl_line_buffer, static_cast<size_t>(start)));
  if (!split.error.empty()) return nullptr;
  std::vector<std::string> words = std::move(split.words);
  if (!words.empty() && words.front() == "kfk") words.erase(words.begin());
  words.emplace_back(text);
  auto& candidates = g_shell->candidates;
  candidates.clear();
  if (words.size() == 1) {
    for (const auto& b : kBuiltins) {
      if (b.rfind(text, 0) == 0) candidates.push_back(b);
    }
  } else if (words.front() == "use") {
    if (words.size() == 2 && std::string("profile").rfind(text, 0) == 0) {
      candidates.emplace_back("profile");
    } else if (words.size() == 3 && words[1] == "profile") {
      for (auto& name : profile_names()) {
        if (name.rfind(text, 0) == 0) candidates.push_back(std::move(name));
      }
    }
    return candidates.empty() ? nullptr : rl_completion_matches(text, next_match);
  }
  for (auto& c : complete_command_line(g_shell->completion_tree, words, g_shell->names->names())) {
    candidates.push_back(std::move(c.word));
  }
  if (candidates.empty()) return nullptr;
  return rl_completion_matches(text, next_match);
}

// Runs one command line in a child process; returns its exit code.
int run_in_child(const std::vector<std::string>& args) {
  std::fflush(stdout);
  std::fflush(stderr);
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGINT, &ignore, &previous);  // Ctrl-C is for the command
  const pid_t pid = fork();
  if (pid < 0) {
    sigaction(SIGINT, &previous, nullptr);
    fmt::print(stderr, "kfk shell: cannot start the command: {}\n", std::strerror(errno));
    return to_int(ExitCode::error);
  }
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    const int code = run_command_line(args);
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(code);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGINT, &previous, nullptr);
  if (WIFSIGNALED(status)) {
    if (WTERMSIG(status) == SIGINT) fmt::print("\n");
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

std::vector<std::string> with_globals(const ShellState& shell, std::vector<std::string> words) {
  std::vector<std::string> args = shell.global_args;
  args.insert(args.end(), std::make_move_iterator(words.begin()),
              std::make_move_iterator(words.end()));
  return args;
}

void print_help() {
  fmt::print(
      "Type kfk commands without 'kfk', e.g. 'topic list' or 'consume orders -n 5'.\n"
      "Tab completes commands, options and topic and group names; Up and Down recall history.\n"
      "Ctrl-C stops the running command; Ctrl-D (or 'exit') leaves the shell.\n"
      "\n"
      "Shell commands:\n"
      "  use profile NAME   use the connection profile NAME for the next commands\n"
      "  use                show the profile in use\n"
      "  help               this text; 'help COMMAND' or 'COMMAND --help' for a command\n"
      "  exit, quit         leave the shell\n"
      "\n");
}

// The global options `args` give, resolved as for a command (profile, environment).
GlobalOptions resolve_globals(const std::vector<std::string>& args) {
  CLI::App app;
  GlobalOptions opts;
  build_app(app, opts);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);  // no command: only the global options are applied
  } catch (const CLI::Error&) {
  }
  return opts;
}

void use_builtin(ShellState& shell, const std::vector<std::string>& words) {
  if (words.size() == 1) {
    fmt::print("{}\n", shell.profile.empty() ? "no profile in use" : "profile " + shell.profile);
    return;
  }
  if (words.size() != 3 || words[1] != "profile") {
    fmt::print(stderr, "kfk shell: use: expected 'use profile NAME'\n");
    return;
  }
  const auto has_profiles =
      !shell.completion_tree.get_subcommands([](CLI::App* c) { return c->get_name() == "profile"; })
           .empty();
  if (!has_profiles) {
    fmt::print(stderr,
               "kfk shell: use: profiles are not available in this version\n"
               "hint: give the brokers with -b when starting the shell, or set KFK_BROKERS\n");
    return;
  }
  // The profile command says whether NAME exists (and why not).
  if (run_in_child(with_globals(shell, {"profile", "show", words[2]})) != 0) return;
  shell.profile = words[2];
  // From now on every line runs with --profile NAME; KFK_BROKERS would still take precedence
  // over the profile's brokers, so it no longer applies in this shell.
  std::erase_if(shell.global_args,
                [](const std::string& a) { return a.rfind("--profile=", 0) == 0; });
  shell.global_args.push_back("--profile=" + shell.profile);
  if (std::getenv("KFK_BROKERS") != nullptr) {
    unsetenv("KFK_BROKERS");
    fmt::print("(KFK_BROKERS no longer applies in this shell)\n");
  }
  const GlobalOptions resolved = resolve_globals(shell.global_args);
  if (resolved.brokers_source == "--brokers") {
    fmt::print("(the shell's -b {} still overrides the profile's brokers)\n", resolved.brokers_arg);
  }
  shell.names = std::make_unique<CachedNames>(broker_names(resolved.brokers));
}

// Handles one line; false to leave the shell.
bool handle_line(ShellState& shell, const std::string& line) {
  auto split = split_shell_words(line);
  if (!split.error.empty()) {
    fmt::print(stderr, "kfk shell: {}\n", split.error);
    return true;
  }
  auto words = std::move(split.words);
  if (!words.empty() && words.front() == "kfk") words.erase(words.begin());
  if (words.empty()) return true;
  const std::string& first = words.front();
  if (first == "exit" || first == "quit") return false;
  if (first == "use") {
    use_builtin(shell, words);
    return true;
  }
  if (first == "shell") {
    fmt::print(stderr, "kfk shell: already in the shell\n");
    return true;
  }
  if (first == "help" && words.size() == 1) {
    print_help();
    words = {"--help"};
  }
  run_in_child(with_globals(shell, std::move(words)));
  shell.names->invalidate();
  return true;
}

void run_shell(ShellState& shell) {
  g_shell = &shell;
  rl_readline_name = "kfk";
  rl_attempted_completion_function = complete_hook;
  rl_basic_word_break_characters = " \t\n";
  rl_completer_word_break_characters = const_cast<char*>(" \t\n");
  stifle_history(kHistorySize);
  const fs::path history = history_path();
  if (!history.empty()) {
    std::error_code ec;
    fs::create_directories(history.parent_path(), ec);
    read_history(history.c_str());
  }
  // A handler without SA_RESTART: Ctrl-C at the prompt makes readline return, and the flag
  // tells that apart from Ctrl-D.
  static volatile std::sig_atomic_t prompt_interrupted = 0;
  struct sigaction on_int {};
  on_int.sa_handler = [](int) { prompt_interrupted = 1; };
  sigemptyset(&on_int.sa_mask);
  sigaction(SIGINT, &on_int, nullptr);

  const bool terminal = isatty(STDIN_FILENO) != 0;
  if (terminal) {
    fmt::print("kfk {} shell. Type 'help' for help, Ctrl-D to leave.\n", KFK_VERSION);
  }
  while (true) {
    prompt_interrupted = 0;
    const std::string prompt =
        shell.profile.empty() ? "kfk> " : fmt::format("kfk ({})> ", shell.profile);
    std::unique_ptr<char, decltype(&std::free)> line(readline(prompt.c_str()), &std::free);
    if (!line) {
      if (prompt_interrupted) {
        fmt::print("\n");
        continue;
      }
      if (terminal) fmt::print("\n");
      break;
    }
    const std::string text(line.get());
    if (text.find_first_not_of(" \t") != std::string::npos) {
      add_history(text.c_str());
      if (!history.empty()) write_history(history.c_str());
    }
    if (!handle_line(shell, text)) break;
  }
  std::fflush(stdout);
  g_shell = nullptr;
}

// The global options given explicitly to `kfk [globals] shell`, to repeat on every line.
std::vector<std::string> explicit_globals(CLI::App& root, const GlobalOptions& opts) {
  std::vector<std::string> args;
  if (root.get_option("--brokers")->count() > 0) args.insert(args.end(), {"-b", opts.brokers_arg});
  for (const auto& p : opts.property_args) args.insert(args.end(), {"-X", p});
  if (root.get_option("--output")->count() > 0) args.insert(args.end(), {"-o", opts.output_arg});
  if (!opts.profile_arg.empty()) args.push_back("--profile=" + opts.profile_arg);
  if (!opts.client_id_arg.empty()) args.insert(args.end(), {"--client-id", opts.client_id_arg});
  for (int i = 0; i < opts.verbosity; ++i) args.emplace_back("-v");
  if (opts.quiet) args.emplace_back("-q");
  return args;
}

void start_shell(CLI::App& root, const GlobalOptions& opts) {
  ShellState shell;
  shell.global_args = explicit_globals(root, opts);
  shell.profile = opts.profile;
  build_app(shell.completion_tree, shell.completion_opts);
  shell.names = std::make_unique<CachedNames>(broker_names(opts.brokers));
  run_shell(shell);
}

}  // namespace

void add_shell_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand("shell", "Interactive shell: every command, with completion");
  cmd->footer(
      "Also started by 'kfk' alone on a terminal. History: $XDG_STATE_HOME/kfk/history "
      "(default ~/.local/state/kfk/history).");
  cmd->callback([&app, &opts] { start_shell(app, opts); });
}

}  // namespace kfk::cli

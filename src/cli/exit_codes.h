// The exit status of every kfk command. Scripts rely on these numbers: never renumber, only add
// (then add the code to kExitCodes and exit_code_name too; `kfk help exit-codes` prints them).
//
//   0    ok             the command did what it was asked
//   1    error          anything not covered below, including internal errors
//   2    usage          the command line is wrong (unknown command or option, bad value)
//   3    kafka          the broker answered with a Kafka error code
//   4    connection     no broker could be reached, or the connection was lost
//   5    not available  the command exists but is not available in this version
//   6    damaged        damaged data was found (kfk debug verify-log), or kfk server start
//                       refused a damaged metadata log
//   130  interrupted    stopped by Ctrl-C (SIGINT) or SIGTERM, after finishing cleanly; 130 is
//                       how shells report Ctrl-C
#pragma once

#include <array>
#include <string_view>

namespace kfk::cli {

enum class ExitCode : int {
  ok = 0,
  error = 1,
  usage = 2,
  kafka = 3,
  connection = 4,
  not_available = 5,
  damaged = 6,
  interrupted = 130,
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }

struct ExitCodeInfo {
  ExitCode code;
  std::string_view meaning;
};

// The table above, for --help and the man page.
inline constexpr std::array kExitCodes{
    ExitCodeInfo{ExitCode::ok, "success"},
    ExitCodeInfo{ExitCode::error, "error (anything not listed below)"},
    ExitCodeInfo{ExitCode::usage, "bad command line"},
    ExitCodeInfo{ExitCode::kafka, "the broker answered with a Kafka error"},
    ExitCodeInfo{ExitCode::connection, "no broker reachable, or connection lost"},
    ExitCodeInfo{ExitCode::not_available, "command not available in this version"},
    ExitCodeInfo{ExitCode::damaged, "damaged data found (kfk debug verify-log)"},
    ExitCodeInfo{ExitCode::interrupted, "interrupted (Ctrl-C or SIGTERM)"},
};

// A short name for each code, as `kfk help exit-codes` and its JSON show them.
constexpr std::string_view exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::ok:
      return "ok";
    case ExitCode::error:
      return "error";
    case ExitCode::usage:
      return "usage";
    case ExitCode::kafka:
      return "kafka";
    case ExitCode::connection:
      return "connection";
    case ExitCode::not_available:
      return "not-available";
    case ExitCode::damaged:
      return "damaged";
    case ExitCode::interrupted:
      return "interrupted";
  }
  return "unknown";
}

}  // namespace kfk::cli

// Rate limits for log lines a client can cause at will (a refused request retried without
// backoff, a flood of connections): per source (a peer address and a reason), the first
// `burst` lines of each interval are written; the rest are counted, and the next line written
// for that source ends with "(suppressed K similar messages)". The broker's log stays
// readable and bounded whatever a client does; the first occurrences are always there.
#pragma once

#include <fmt/core.h>
#include <spdlog/common.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace kfk::server {

class LogRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    size_t burst = 5;  // lines per source and interval
    std::chrono::milliseconds interval{10000};
    size_t max_sources = 4096;  // sources tracked; quiet ones are forgotten
  };

  LogRateLimiter() : LogRateLimiter(Options{}) {}
  explicit LogRateLimiter(Options options) : options_(options) {}

  // Whether a line of `source` may be written at `now`; when it may, `suppressed` is the
  // number of its lines held back since the last one written. Thread-safe.
  bool allow(std::string_view source, uint64_t& suppressed, Clock::time_point now = Clock::now());

  size_t tracked_sources() const;

 private:
  struct Source {
    Clock::time_point window_start;
    size_t written = 0;       // lines written in the current window
    uint64_t suppressed = 0;  // lines held back since the last one written
  };
  void forget_quiet_sources(Clock::time_point now);

  Options options_;
  mutable std::mutex mu_;
  std::map<std::string, Source, std::less<>> sources_;
};

// The broker's limiter for per-connection and per-request warnings.
LogRateLimiter& broker_log_limiter();

// "host" of a "host:port" peer (IPv6 hosts have colons of their own: the port is after the
// last one), so that a client reconnecting from new ports counts as one source.
std::string_view peer_host(std::string_view peer);

// Writes `message` at `level`, with the suppressed count appended when there is one.
void write_limited_line(spdlog::level::level_enum level, std::string message, uint64_t suppressed);

// Logs at `level` through broker_log_limiter(), keyed by `source`; the message is formatted
// only when it is written.
template <class... Args>
void log_limited(spdlog::level::level_enum level, std::string_view source,
                 fmt::format_string<Args...> format, Args&&... args) {
  uint64_t suppressed = 0;
  if (!broker_log_limiter().allow(source, suppressed)) return;
  write_limited_line(level, fmt::format(format, std::forward<Args>(args)...), suppressed);
}

template <class... Args>
void warn_limited(std::string_view source, fmt::format_string<Args...> format, Args&&... args) {
  log_limited(spdlog::level::warn, source, format, std::forward<Args>(args)...);
}

}  // namespace kfk::server

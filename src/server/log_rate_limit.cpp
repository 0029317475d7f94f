#include "server/log_rate_limit.h"

#include <spdlog/spdlog.h>

namespace kfk::server {

bool LogRateLimiter::allow(std::string_view source, uint64_t& suppressed, Clock::time_point now) {
  suppressed = 0;
  std::lock_guard lock(mu_);
  auto it = sources_.find(source);
  if (it == sources_.end()) {
    if (sources_.size() >= options_.max_sources) forget_quiet_sources(now);
    it = sources_.emplace(std::string(source), Source{now, 0, 0}).first;
  }
  Source& s = it->second;
  if (now - s.window_start >= options_.interval) {
    s.window_start = now;
    s.written = 0;
  }
  if (s.written < options_.burst) {
    ++s.written;
    suppressed = s.suppressed;
    s.suppressed = 0;
    return true;
  }
  ++s.suppressed;
  return false;
}

void LogRateLimiter::forget_quiet_sources(Clock::time_point now) {
  for (auto it = sources_.begin(); it != sources_.end();) {
    const bool quiet = now - it->second.window_start >= options_.interval;
    it = quiet ? sources_.erase(it) : std::next(it);
  }
  // Every source is busy: start over rather than grow without bound (a few more lines get
  // through; their counts of suppressed lines are lost).
  if (sources_.size() >= options_.max_sources) sources_.clear();
}

size_t LogRateLimiter::tracked_sources() const {
  std::lock_guard lock(mu_);
  return sources_.size();
}

LogRateLimiter& broker_log_limiter() {
  static LogRateLimiter limiter;
  return limiter;
}

std::string_view peer_host(std::string_view peer) {
  const auto colon = peer.rfind(':');
  return colon == std::string_view::npos ? peer : peer.substr(0, colon);
}

void write_limited_line(spdlog::level::level_enum level, std::string message, uint64_t suppressed) {
  if (suppressed > 0)
    message +=
        fmt::format(" (suppressed {} similar message{})", suppressed, suppressed == 1 ? "" : "s");
  spdlog::log(level, "{}", message);
}

}  // namespace kfk::server

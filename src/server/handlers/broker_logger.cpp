#include "server/handlers/broker_logger.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <utility>

namespace kfk::server {

namespace {

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels{{
    {"TRACE", spdlog::level::trace},
    {"DEBUG", spdlog::level::debug},
    {"INFO", spdlog::level::info},
    {"WARN", spdlog::level::warn},
    {"ERROR", spdlog::level::err},
    {"FATAL", spdlog::level::critical},
    {"OFF", spdlog::level::off},
}};

std::string level_name(spdlog::level::level_enum level) {
  for (const auto& [name, l] : kLevels)
    if (l == level) return std::string(name);
  return "INFO";
}

}  // namespace

std::vector<config::ConfigEntry> describe_broker_loggers() {
  config::ConfigEntry root;
  root.name = "root";
  root.value = level_name(spdlog::get_level());
  root.source = config::ConfigSource::dynamic_broker_logger_config;
  root.type = config::ConfigType::string;
  return {root};
}

ResourceCheck set_broker_logger_level(const std::string& logger,
                                      const std::optional<std::string>& level, bool apply) {
  if (logger != "root")
    return {protocol::ErrorCode::invalid_config,
            fmt::format("Logger {} does not exist; this broker has the logger root.", logger)};
  spdlog::level::level_enum wanted = spdlog::level::info;
  if (level) {
    std::string upper = *level;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    auto it = std::find_if(kLevels.begin(), kLevels.end(),
                           [&](const auto& entry) { return entry.first == upper; });
    if (it == kLevels.end())
      return {protocol::ErrorCode::invalid_config,
              fmt::format("Cannot set the log level of {} to {}: valid levels are TRACE, DEBUG, "
                          "INFO, WARN, ERROR, FATAL and OFF.",
                          logger, *level)};
    wanted = it->second;
  }
  if (apply) spdlog::set_level(wanted);
  return {};
}

}  // namespace kfk::server

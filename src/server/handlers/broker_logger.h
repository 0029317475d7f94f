// The BROKER_LOGGER config resource: log levels by logger name, as Kafka exposes its log4j
// loggers. kfk has one logger, "root".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config/topic_config.h"
#include "server/handlers/config_resources.h"

namespace kfk::server {

std::vector<config::ConfigEntry> describe_broker_loggers();
// Sets (or, with nullopt, resets to INFO) a logger's level: TRACE, DEBUG, INFO, WARN, ERROR,
// FATAL or OFF. Checks only, when `apply` is false.
ResourceCheck set_broker_logger_level(const std::string& logger,
                                      const std::optional<std::string>& level, bool apply);

}  // namespace kfk::server

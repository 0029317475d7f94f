// Apache Kafka 3.9 settings that kfk accepts without giving them an effect, so that files
// and tools written for Kafka (server.properties, admin scripts that set
// message.format.version or SASL/SSL settings) keep working. Each is defined with Kafka's
// name, type, default and dynamic update mode, so values are type-checked, stored, and
// described by DescribeConfigs with Kafka's default; ConfigKey::no_effect marks them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_def.h"

namespace kfk::config {

// Adds every Kafka broker setting that `def` does not define yet.
void define_kafka_compat_broker_keys(ConfigDef& def);

// Adds the Kafka topic setting `name` (one of kafka_compat_topic_key_names()); the topic
// definition calls it where the name falls in its alphabetical order.
void define_kafka_compat_topic_key(ConfigDef& def, std::string_view name);
const std::vector<std::string>& kafka_compat_topic_key_names();

// The explicitly set settings of `values` that have no effect in kfk, in name order.
std::vector<std::string> settings_without_effect(const Config& values);

// Logs a warning the first time (per process) a deprecated Kafka setting is given.
void warn_deprecated_once(const ConfigKey& key);

}  // namespace kfk::config

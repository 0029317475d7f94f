#include "server/partition/partition_manager.h"

#include <spdlog/spdlog.h>

#include "core/config/broker_config.h"
#include "server/cluster/image_apply.h"
#include "server/storage/log_manager.h"

namespace kfk::server {

PartitionManager::PartitionManager(const config::BrokerConfig& config)
    : config_(config),
      table_(std::make_shared<PartitionTable>(std::make_shared<MetadataImage>(), config.node_id)) {}

std::shared_ptr<const PartitionTable> PartitionManager::table() const {
  std::lock_guard lock(mu_);
  return table_;
}

TopicSettings PartitionManager::resolve(const MetadataImage& image, const TopicState& topic) const {
  TopicSettings s;
  auto resolved = config::resolve_topic_config(broker_layers(image, config_), topic.configs);
  if (!resolved) {
    // Settings are checked when they are set; a broker default changed since can still make
    // them fail to resolve. Keep serving with the broker's own defaults.
    spdlog::warn("topic {}: {}; using the broker defaults", topic.name, resolved.error_text());
    s.log = storage::log_config_from(config_.log_defaults, config_.producer_id_expiration_ms);
    return s;
  }
  s.resolved = std::move(resolved).value();
  s.produce = storage::produce_settings_from(*s.resolved);
  s.log = storage::log_config_from(*s.resolved, config_.producer_id_expiration_ms);
  return s;
}

PartitionManager::SettingsMap PartitionManager::resolve_settings(const MetadataImage& next,
                                                                 bool layers_changed) const {
  const auto current = table();
  SettingsMap out;
  out.reserve(next.topics.size());
  for (const auto& [name, state] : next.topics) {
    if (!layers_changed) {
      auto old = current->topics_.find(name);
      // A published TopicState is never changed in place: the same pointer, the same topic.
      if (old != current->topics_.end() && old->second.state == state.get() &&
          old->second.settings) {
        out.emplace(name, old->second.settings);
        continue;
      }
    }
    out.emplace(name, std::make_shared<const TopicSettings>(resolve(next, *state)));
  }
  return out;
}

void PartitionManager::publish(std::shared_ptr<const MetadataImage> image, SettingsMap settings,
                               const storage::LogManager* logs) {
  const auto current = table();
  auto next = std::make_shared<PartitionTable>(image, config_.node_id);
  next->topics_.reserve(image->topics.size());
  for (const auto& [name, state] : image->topics) {
    PartitionTable::Topic& topic = next->topics_[name];
    topic.state = state.get();
    if (auto it = settings.find(name); it != settings.end() && it->second) {
      topic.settings = std::move(it->second);
    } else if (auto old = current->topics_.find(name); old != current->topics_.end() &&
                                                       old->second.state == state.get() &&
                                                       old->second.settings) {
      topic.settings = old->second.settings;
    } else {
      topic.settings = std::make_shared<const TopicSettings>(resolve(*image, *state));
    }
    if (logs != nullptr) {
      for (const PartitionState& p : state->partitions) {
        if (p.partition < 0) continue;
        auto log = logs->partition(storage::TopicPartition{name, p.partition});
        if (!log) continue;
        const auto index = static_cast<size_t>(p.partition);
        if (topic.partitions.size() <= index) topic.partitions.resize(index + 1);
        auto kept = current->local(name, p.partition);
        topic.partitions[index] = kept && kept->shared_log() == log
                                      ? std::move(kept)
                                      : std::make_shared<Partition>(name, p.partition, log);
      }
    }
    next->by_id_.emplace(state->id, &topic);
  }
  std::lock_guard lock(mu_);
  table_ = std::move(next);
}

}  // namespace kfk::server

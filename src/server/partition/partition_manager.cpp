#include "server/partition/partition_manager.h"

#include <spdlog/spdlog.h>

#include <map>
#include <utility>

#include "core/config/broker_config.h"
#include "server/cluster/image_apply.h"
#include "server/storage/log_manager.h"

namespace kfk::server {

// The listeners, shared with their LeadershipWatch handles (which may outlive the manager).
struct LeadershipWatch::Registry {
  // Held while a table is published and its changes reported, so that listeners see the
  // changes one at a time and in order, and a registration falls between two publications.
  std::mutex mu;
  uint64_t next_id = 1;
  std::map<uint64_t, std::pair<std::string, LeadershipListener>> listeners;
};

LeadershipWatch::LeadershipWatch(LeadershipWatch&& o) noexcept
    : registry_(std::move(o.registry_)), id_(std::exchange(o.id_, 0)) {}

LeadershipWatch& LeadershipWatch::operator=(LeadershipWatch&& o) noexcept {
  if (this != &o) {
    reset();
    registry_ = std::move(o.registry_);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

void LeadershipWatch::reset() {
  if (auto registry = registry_.lock()) {
    std::lock_guard lock(registry->mu);
    registry->listeners.erase(id_);
  }
  registry_.reset();
  id_ = 0;
}

namespace {

// What makes one leadership of a partition: the replica and the leader epoch.
using Leaderships = std::map<int32_t, std::pair<const Partition*, int32_t>>;

Leaderships led_partitions(const PartitionTable& table, const std::string& topic) {
  Leaderships out;
  const TopicState* state = table.image().find_topic(topic);
  if (state == nullptr) return out;
  for (const PartitionState& p : state->partitions) {
    const PartitionLookup found = table.leader(topic, p.partition);
    if (found.ok()) out.emplace(p.partition, std::pair(found.partition, p.leader_epoch));
  }
  return out;
}

LeadershipChange leadership_change(const std::string& topic, const Leaderships& before,
                                   const Leaderships& after) {
  LeadershipChange change;
  change.topic = topic;
  for (const auto& [p, leadership] : before) {
    auto now = after.find(p);
    if (now == after.end() || now->second != leadership) change.resigned.push_back(p);
  }
  for (const auto& [p, leadership] : after) {
    auto then = before.find(p);
    if (then == before.end() || then->second != leadership) change.led.push_back(p);
  }
  return change;
}

}  // namespace

PartitionManager::PartitionManager(const config::BrokerConfig& config)
    : config_(config),
      table_(std::make_shared<PartitionTable>(std::make_shared<MetadataImage>(), config.node_id)),
      watchers_(std::make_shared<LeadershipWatch::Registry>()) {}

LeadershipWatch PartitionManager::watch_leadership(std::string topic, LeadershipListener listener) {
  std::lock_guard publishing(watchers_->mu);
  const auto current = table();
  LeadershipChange now = leadership_change(topic, {}, led_partitions(*current, topic));
  now.table = current;
  LeadershipWatch watch;
  watch.registry_ = watchers_;
  watch.id_ = watchers_->next_id++;
  auto& entry = watchers_->listeners[watch.id_];
  entry = {std::move(topic), std::move(listener)};
  entry.second(now);
  return watch;
}

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
  for (const auto& [name, state] : next.topics) {
    // A published TopicState is never changed in place: the same pointer, the same topic.
    if (!layers_changed) {
      auto old = current->topics_.find(name);
      if (old != current->topics_.end() && old->second->state == state) continue;
    }
    out.emplace(name, std::make_shared<const TopicSettings>(resolve(next, *state)));
  }
  return out;
}

std::shared_ptr<const TopicSettings> PartitionManager::settings_of(const SettingsMap& changed,
                                                                   const std::string& topic) const {
  if (auto it = changed.find(topic); it != changed.end()) return it->second;
  const auto current = table();
  auto it = current->topics_.find(topic);
  return it == current->topics_.end() ? nullptr : it->second->settings;
}

void PartitionManager::publish(std::shared_ptr<const MetadataImage> image,
                               const SettingsMap& changed, const storage::LogManager* logs) {
  const auto current = table();
  auto next = std::make_shared<PartitionTable>(image, config_.node_id);
  next->topics_.reserve(image->topics.size());
  next->by_id_.reserve(image->topics.size());
  for (const auto& [name, state] : image->topics) {
    auto old = current->topics_.find(name);
    const PartitionTable::Topic* before =
        old != current->topics_.end() && old->second->state == state ? old->second.get() : nullptr;
    auto settings = changed.find(name);
    if (before != nullptr && settings == changed.end() && before->with_logs == (logs != nullptr)) {
      next->by_id_.emplace(state->id, before);
      next->topics_.emplace(name, old->second);
      continue;
    }
    auto topic = std::make_shared<PartitionTable::Topic>();
    topic->state = state;
    if (settings != changed.end())
      topic->settings = settings->second;
    else if (before != nullptr)
      topic->settings = before->settings;
    else
      topic->settings = std::make_shared<const TopicSettings>(resolve(*image, *state));
    topic->with_logs = logs != nullptr;
    if (logs != nullptr) {
      for (const PartitionState& p : state->partitions) {
        if (p.partition < 0) continue;
        auto log = logs->partition(storage::TopicPartition{name, p.partition});
        if (!log) continue;
        const auto index = static_cast<size_t>(p.partition);
        if (topic->partitions.size() <= index) topic->partitions.resize(index + 1);
        auto kept = current->local(name, p.partition);
        topic->partitions[index] = kept && kept->shared_log() == log
                                       ? std::move(kept)
                                       : std::make_shared<Partition>(name, p.partition, log);
      }
    }
    next->by_id_.emplace(state->id, topic.get());
    next->topics_.emplace(name, std::move(topic));
  }
  std::lock_guard publishing(watchers_->mu);
  std::shared_ptr<const PartitionTable> previous;
  {
    std::lock_guard lock(mu_);
    previous = std::exchange(table_, next);
  }
  for (const auto& [id, entry] : watchers_->listeners) {
    const auto& [topic, listener] = entry;
    // A topic entry shared by both tables did not change.
    auto before = previous->topics_.find(topic);
    auto after = next->topics_.find(topic);
    if (before != previous->topics_.end() && after != next->topics_.end() &&
        before->second == after->second)
      continue;
    LeadershipChange change =
        leadership_change(topic, led_partitions(*previous, topic), led_partitions(*next, topic));
    if (change.led.empty() && change.resigned.empty()) continue;
    change.table = next;
    listener(change);
  }
}

}  // namespace kfk::server

#include "server/delayed/delayed_operations.h"

#include <algorithm>
#include <functional>

namespace kfk::server {

size_t DelayedOperations::KeyHash::operator()(const KeyView& k) const {
  return std::hash<std::string_view>{}(k.topic) * 31 + std::hash<int32_t>{}(k.partition);
}

DelayedOperations::Watch::~Watch() {
  if (owner_ != nullptr) owner_->unwatch(*this);
}

DelayedOperations::Watch DelayedOperations::watch(const Waiter& waiter,
                                                  std::vector<PartitionOffset> partitions) {
  Watch w;
  w.owner_ = this;
  w.waiter_ = waiter;
  std::lock_guard lock(mu_);
  for (const auto& p : partitions)
    watchers_[Key{p.topic, p.partition}].push_back(Entry{waiter, p.offset});
  w.keys_ = std::move(partitions);
  return w;
}

void DelayedOperations::unwatch(const Watch& w) {
  std::lock_guard lock(mu_);
  for (const auto& p : w.keys_) {
    auto it = watchers_.find(KeyView{p.topic, p.partition});
    if (it == watchers_.end()) continue;
    std::erase_if(it->second, [&](const Entry& e) { return e.waiter == w.waiter_; });
    if (it->second.empty()) watchers_.erase(it);
  }
}

void DelayedOperations::notify(std::string_view topic, int32_t partition, int64_t end_offset) {
  std::vector<Waiter> wake;
  {
    std::lock_guard lock(mu_);
    if (watchers_.empty()) return;
    auto it = watchers_.find(KeyView{topic, partition});
    if (it == watchers_.end()) return;
    for (const Entry& e : it->second)
      if (end_offset >= e.offset) wake.push_back(e.waiter);
  }
  for (const Waiter& w : wake) w.wake();
}

void DelayedOperations::wake_all() {
  std::vector<Waiter> wake;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, entries] : watchers_)
      for (const Entry& e : entries) wake.push_back(e.waiter);
  }
  for (const Waiter& w : wake) w.wake();
}

size_t DelayedOperations::watchers(std::string_view topic, int32_t partition) const {
  std::lock_guard lock(mu_);
  auto it = watchers_.find(KeyView{topic, partition});
  return it == watchers_.end() ? 0 : it->second.size();
}

}  // namespace kfk::server

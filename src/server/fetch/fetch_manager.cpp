#include "server/fetch/fetch_manager.h"

#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "core/config/broker_config.h"

namespace kfk::server {

FetchWaiter::FetchWaiter(asio::any_io_executor executor) : timer_(std::move(executor)) {}

asio::awaitable<void> FetchWaiter::wait_until(std::chrono::steady_clock::time_point deadline) {
  // A wake() between the last check and here is seen through the flag; one after it cancels
  // the timer, since the cancel runs on this executor after the wait has started.
  if (woken_.exchange(false)) co_return;
  timer_.expires_at(deadline);
  co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  woken_.store(false);
}

void FetchWaiter::wake() {
  if (woken_.exchange(true)) return;
  // On the waiter's own reactor (the producer and the consumer share it) the timer is
  // cancelled here and now; from another thread the cancel is posted to that reactor.
  asio::dispatch(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

size_t FetchManager::KeyHash::operator()(const WatchedPartition& k) const {
  return std::hash<std::string_view>{}(k.topic) * 31 + std::hash<int32_t>{}(k.partition);
}

FetchManager::FetchManager(const config::BrokerConfig& config)
    : sessions_(static_cast<size_t>(config.max_incremental_fetch_session_cache_slots),
                config.min_incremental_fetch_session_eviction_ms) {}
FetchManager::~FetchManager() = default;

FetchManager::Watch::~Watch() {
  if (manager_ != nullptr) manager_->unwatch(*this);
}

FetchManager::Watch FetchManager::watch(const std::shared_ptr<FetchWaiter>& waiter,
                                        std::vector<WatchedPartition> partitions) {
  Watch w;
  w.manager_ = this;
  w.waiter_ = waiter.get();
  std::lock_guard lock(mu_);
  for (const auto& p : partitions) watchers_[p].push_back(waiter);
  w.keys_ = std::move(partitions);
  return w;
}

void FetchManager::unwatch(const Watch& w) {
  std::lock_guard lock(mu_);
  for (const auto& key : w.keys_) {
    auto it = watchers_.find(key);
    if (it == watchers_.end()) continue;
    auto& list = it->second;
    std::erase_if(list, [&](const std::weak_ptr<FetchWaiter>& p) {
      auto locked = p.lock();
      return !locked || locked.get() == w.waiter_;
    });
    if (list.empty()) watchers_.erase(it);
  }
}

void FetchManager::notify(std::string_view topic, int32_t partition) {
  std::vector<std::shared_ptr<FetchWaiter>> wake;
  {
    std::lock_guard lock(mu_);
    if (watchers_.empty()) return;
    auto it = watchers_.find(WatchedPartition{std::string(topic), partition});
    if (it == watchers_.end()) return;
    for (const auto& weak : it->second)
      if (auto w = weak.lock()) wake.push_back(std::move(w));
  }
  for (const auto& w : wake) w->wake();
}

void FetchManager::wake_all() {
  std::vector<std::shared_ptr<FetchWaiter>> wake;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, list] : watchers_)
      for (const auto& weak : list)
        if (auto w = weak.lock()) wake.push_back(std::move(w));
  }
  for (const auto& w : wake) w->wake();
}

size_t FetchManager::watchers(std::string_view topic, int32_t partition) const {
  std::lock_guard lock(mu_);
  auto it = watchers_.find(WatchedPartition{std::string(topic), partition});
  return it == watchers_.end() ? 0 : it->second.size();
}

}  // namespace kfk::server

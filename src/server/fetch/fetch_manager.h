// Fetch state shared by every connection: long-poll waiters per partition and the fetch
// session cache (KIP-227).
//
// Long polls: a fetch that may wait creates a FetchWaiter on its connection's executor and
// watches its partitions; an append to one of them (Produce) calls notify(), which wakes the
// waiter by cancelling its timer on the waiter's own executor. Nothing blocks a reactor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/fetch/fetch_session.h"

namespace kfk::config {
struct BrokerConfig;
}

namespace kfk::server {

// One fetch waiting for data. wake() may be called from any thread; wait_until() only on the
// executor the waiter was made with.
class FetchWaiter : public std::enable_shared_from_this<FetchWaiter> {
 public:
  explicit FetchWaiter(asio::any_io_executor executor);

  // Returns at the deadline or when woken; at once when woken since the last wait.
  asio::awaitable<void> wait_until(std::chrono::steady_clock::time_point deadline);
  void wake();

 private:
  asio::steady_timer timer_;
  std::atomic<bool> woken_{false};
};

// A partition a fetch watches, by topic name.
struct WatchedPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const WatchedPartition&) const = default;
};

class FetchManager {
 public:
  explicit FetchManager(const config::BrokerConfig& config);
  ~FetchManager();
  FetchManager(const FetchManager&) = delete;
  FetchManager& operator=(const FetchManager&) = delete;

  FetchSessionCache& sessions() { return sessions_; }

  // Watches the partitions for `waiter` until the returned handle is destroyed.
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& o) noexcept
        : manager_(o.manager_), waiter_(o.waiter_), keys_(std::move(o.keys_)) {
      o.manager_ = nullptr;
    }
    Watch& operator=(Watch&&) = delete;
    Watch(const Watch&) = delete;
    ~Watch();

   private:
    friend class FetchManager;
    FetchManager* manager_ = nullptr;
    const FetchWaiter* waiter_ = nullptr;
    std::vector<WatchedPartition> keys_;
  };
  Watch watch(const std::shared_ptr<FetchWaiter>& waiter, std::vector<WatchedPartition> partitions);

  // Something was appended to the partition: wakes the fetches watching it.
  void notify(std::string_view topic, int32_t partition);

  // Wakes every waiting fetch (shutdown: long polls answer at once instead of at max_wait).
  void wake_all();

  // Fetches watching a partition (tests).
  size_t watchers(std::string_view topic, int32_t partition) const;

 private:
  struct KeyHash {
    size_t operator()(const WatchedPartition& k) const;
  };
  void unwatch(const Watch& w);

  FetchSessionCache sessions_;
  mutable std::mutex mu_;
  std::unordered_map<WatchedPartition, std::vector<std::weak_ptr<FetchWaiter>>, KeyHash> watchers_;
};

}  // namespace kfk::server

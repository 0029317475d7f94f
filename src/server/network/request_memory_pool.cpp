#include "server/network/request_memory_pool.h"

#include <asio/post.hpp>

namespace kfk::server {

bool RequestMemoryPool::try_reserve(size_t bytes) {
  const auto n = static_cast<int64_t>(bytes);
  if (capacity_ <= 0) {
    used_.fetch_add(n);
    return true;
  }
  int64_t used = used_.load();
  do {
    if (used > 0 && used + n > capacity_) return false;
  } while (!used_.compare_exchange_weak(used, used + n));
  return true;
}

void RequestMemoryPool::release(size_t bytes) {
  used_.fetch_sub(static_cast<int64_t>(bytes));
  if (!has_waiters_.load()) return;
  std::vector<std::weak_ptr<asio::steady_timer>> wake;
  {
    std::lock_guard lock(mu_);
    wake.swap(waiters_);
    has_waiters_.store(false);
  }
  for (auto& weak : wake) {
    auto timer = weak.lock();
    if (!timer) continue;
    asio::post(timer->get_executor(), [weak] {
      if (auto t = weak.lock()) t->cancel();
    });
  }
}

void RequestMemoryPool::wake_on_release(std::weak_ptr<asio::steady_timer> timer) {
  std::lock_guard lock(mu_);
  waiters_.push_back(std::move(timer));
  has_waiters_.store(true);
}

}  // namespace kfk::server

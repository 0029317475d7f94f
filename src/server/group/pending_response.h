// A response that another thread completes later (JoinGroup and SyncGroup wait for the
// rest of the group). The handler's coroutine waits on its own executor; complete() may be
// called from any thread, once.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>

namespace kfk::server::group {

template <class T>
class PendingResponse : public std::enable_shared_from_this<PendingResponse<T>> {
 public:
  explicit PendingResponse(asio::any_io_executor executor) : timer_(std::move(executor)) {}

  void complete(T value) {
    {
      std::lock_guard lock(mu_);
      if (value_) return;
      value_ = std::move(value);
    }
    // Runs on the waiter's executor after its wait has started (or sees the value first).
    asio::post(timer_.get_executor(), [self = this->shared_from_this()] { self->timer_.cancel(); });
  }

  asio::awaitable<T> wait() {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (value_) co_return std::move(*value_);
      }
      timer_.expires_at(asio::steady_timer::time_point::max());
      co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

 private:
  asio::steady_timer timer_;
  std::mutex mu_;
  std::optional<T> value_;
};

}  // namespace kfk::server::group

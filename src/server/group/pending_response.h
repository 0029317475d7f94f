// A response that another thread completes later (JoinGroup and SyncGroup wait for the
// rest of the group). The handler's coroutine waits on a timer in its own frame, on its own
// executor; completer() gives the callback for the coordinator, which may run on any thread,
// at any time, even after the coroutine is gone (its connection closed). The callback owns
// no asio object, so nothing of the executor is touched or destroyed from the wrong thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace kfk::server::group {

template <class T>
class PendingResponse {
  struct Slot {
    std::mutex mu;
    std::optional<T> value;
    asio::steady_timer* timer = nullptr;  // set while a wait() is in progress
  };

 public:
  // Completes the response once; later calls are ignored.
  std::function<void(T)> completer() const {
    return [slot = slot_](T value) {
      std::lock_guard lock(slot->mu);
      if (slot->value) return;
      slot->value = std::move(value);
      // Posted under the lock: the waiter cannot see the value and leave (and its executor
      // cannot go away) before the wake-up is queued.
      if (slot->timer != nullptr) {
        asio::post(slot->timer->get_executor(), [slot] {
          std::lock_guard relock(slot->mu);
          if (slot->timer != nullptr) slot->timer->cancel();
        });
      }
    };
  }

  asio::awaitable<T> wait() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // Detaches the timer however the coroutine ends, even when it is destroyed while waiting.
    struct Attach {
      Slot& slot;
      ~Attach() {
        std::lock_guard lock(slot.mu);
        slot.timer = nullptr;
      }
    } attach{*slot_};
    {
      std::lock_guard lock(slot_->mu);
      if (slot_->value) co_return std::move(*slot_->value);
      slot_->timer = &timer;
    }
    for (;;) {
      timer.expires_at(asio::steady_timer::time_point::max());
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      std::lock_guard lock(slot_->mu);
      if (slot_->value) co_return std::move(*slot_->value);
    }
  }

 private:
  std::shared_ptr<Slot> slot_ = std::make_shared<Slot>();
};

}  // namespace kfk::server::group

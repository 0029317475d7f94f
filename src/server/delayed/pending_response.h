// A response that another thread completes later (JoinGroup and SyncGroup wait for the rest
// of the group): a value slot and a Waiter (waiter.h). completer() gives the callback for
// the coordinator, which may run on any thread, at any time, even after the waiting
// coroutine is gone (its connection closed); it holds no asio object.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "server/delayed/waiter.h"

namespace kfk::server {

template <class T>
class PendingResponse {
  struct Slot {
    std::mutex mu;
    std::optional<T> value;
  };

 public:
  // Completes the response once; later calls are ignored.
  std::function<void(T)> completer() const {
    return [slot = slot_, waiter = waiter_](T value) {
      {
        std::lock_guard lock(slot->mu);
        if (slot->value) return;
        slot->value = std::move(value);
      }
      waiter.wake();
    };
  }

  asio::awaitable<T> wait() {
    for (;;) {
      {
        std::lock_guard lock(slot_->mu);
        if (slot_->value) co_return std::move(*slot_->value);
      }
      co_await waiter_.wait_until(Waiter::Clock::time_point::max());
    }
  }

 private:
  std::shared_ptr<Slot> slot_ = std::make_shared<Slot>();
  Waiter waiter_;
};

}  // namespace kfk::server

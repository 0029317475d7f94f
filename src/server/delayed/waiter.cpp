#include "server/delayed/waiter.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <mutex>

namespace kfk::server {

struct Waiter::Slot {
  std::mutex mu;
  bool woken = false;
  asio::steady_timer* timer = nullptr;  // set while a wait is in progress
};

Waiter::Waiter() : slot_(std::make_shared<Slot>()) {}

void Waiter::wake() const {
  std::lock_guard lock(slot_->mu);
  if (slot_->woken) return;
  slot_->woken = true;
  asio::steady_timer* timer = slot_->timer;
  if (timer == nullptr) return;
  // On the waiter's own reactor (a producer and its consumer often share one) the timer is
  // cancelled here and now. From another thread the cancel is posted, under the lock: the
  // waiter cannot see the wake and leave (and its executor cannot go away) before the post.
  // A posted cancel that finds a later wait's timer only makes that wait look again.
  auto executor = timer->get_executor();
  if (const auto* io = executor.target<asio::io_context::executor_type>();
      io != nullptr && io->running_in_this_thread()) {
    timer->cancel();
    return;
  }
  asio::post(executor, [slot = slot_] {
    std::lock_guard relock(slot->mu);
    if (slot->timer != nullptr) slot->timer->cancel();
  });
}

asio::awaitable<bool> Waiter::wait_until(Clock::time_point deadline) const {
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
    if (slot_->woken) {
      slot_->woken = false;
      co_return true;
    }
    slot_->timer = &timer;
  }
  for (;;) {
    timer.expires_at(deadline);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::lock_guard lock(slot_->mu);
    if (slot_->woken) {
      slot_->woken = false;
      co_return true;
    }
    if (Clock::now() >= deadline) co_return false;
  }
}

}  // namespace kfk::server

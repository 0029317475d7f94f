// The one way a request waits for something another thread does: a long-poll fetch for
// records, a JoinGroup or SyncGroup for the rest of its group (and, to come, acks=all for the
// ISR, a Raft commit, a transaction marker). A Waiter is a small shared handle: wake() may be
// called from any thread, at any time, even after the waiting coroutine is gone (its
// connection closed); the timer a wait uses lives in the waiting coroutine's own frame, so
// nothing of its executor is touched or destroyed from another thread.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>

namespace kfk::server {

class Waiter {
 public:
  using Clock = std::chrono::steady_clock;

  Waiter();

  // Ends the wait in progress; with none, the next wait returns at once. Wakes do not add
  // up: one wait uses up any number of wakes made before it.
  void wake() const;

  // Returns true when woken, false at the deadline. Only one coroutine waits at a time.
  asio::awaitable<bool> wait_until(Clock::time_point deadline) const;

  bool operator==(const Waiter& other) const { return slot_ == other.slot_; }

 private:
  struct Slot;
  std::shared_ptr<Slot> slot_;
};

}  // namespace kfk::server

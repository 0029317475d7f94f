// The one waiting primitive (Waiter), the partition-and-offset keyed DelayedOperations that
// long-poll fetches wait on, and PendingResponse (JoinGroup and SyncGroup) built on them.
#include "server/delayed/delayed_operations.h"

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "server/delayed/pending_response.h"

using namespace kfk::server;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kLongDeadline = std::chrono::seconds(30);

}  // namespace

TEST_CASE("waiter: a wake on the waiter's own reactor ends the wait at once") {
  asio::io_context io;
  Waiter waiter;
  bool woken = false;
  bool returned = false;
  Clock::duration waited{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto t0 = Clock::now();
        woken = co_await waiter.wait_until(t0 + kLongDeadline);
        waited = Clock::now() - t0;
        returned = true;
      },
      asio::detached);
  // Runs on the reactor once the coroutine is waiting: the cancel happens inline.
  asio::post(io, [&] { waiter.wake(); });
  io.run_for(std::chrono::seconds(10));
  REQUIRE(returned);
  CHECK(woken);
  CHECK(waited < std::chrono::seconds(5));
}

TEST_CASE("waiter: a wake before the wait makes the next wait return at once, once") {
  asio::io_context io;
  Waiter waiter;
  waiter.wake();
  waiter.wake();  // a second wake before the wait changes nothing
  int returned = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        CHECK(co_await waiter.wait_until(Clock::now() + kLongDeadline));
        ++returned;
        // The wake was used up: this wait lasts until its (short) deadline.
        const auto t0 = Clock::now();
        CHECK_FALSE(co_await waiter.wait_until(t0 + std::chrono::milliseconds(50)));
        CHECK(Clock::now() - t0 >= std::chrono::milliseconds(50));
        ++returned;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  CHECK(returned == 2);
}

TEST_CASE("waiter: a wake after the waiting coroutine is gone is harmless") {
  Waiter waiter;
  {
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await waiter.wait_until(Clock::now() + kLongDeadline);
        },
        asio::detached);
    io.poll();  // waiting; the context and the coroutine are destroyed here
  }
  waiter.wake();
  waiter.wake();
}

TEST_CASE("delayed operations: notify wakes a partition's waiters once its end reaches them") {
  DelayedOperations ops;
  asio::io_context io;
  Waiter waiter;
  bool returned = false;
  {
    auto watch = ops.watch(waiter, {{"t", 0, 10}, {"t", 1, 5}});
    CHECK(ops.watchers("t", 0) == 1);
    CHECK(ops.watchers("t", 2) == 0);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await waiter.wait_until(Clock::now() + kLongDeadline);
          returned = true;
        },
        asio::detached);
    io.poll();
    ops.notify("t", 2, 100);  // not watched
    ops.notify("t", 0, 9);    // below the offset waited for
    ops.notify("u", 0, 100);  // another topic
    io.poll();
    CHECK_FALSE(returned);
    ops.notify("t", 1, 5);
    io.run_for(std::chrono::seconds(5));
    CHECK(returned);
  }
  // The watch ended with its handle.
  CHECK(ops.watchers("t", 0) == 0);
  CHECK(ops.watchers("t", 1) == 0);
}

TEST_CASE("delayed operations: notify from another thread wakes a waiter on its reactor") {
  DelayedOperations ops;
  asio::io_context io;
  Waiter waiter;
  auto watch = std::make_unique<DelayedOperations::Watch>(ops.watch(waiter, {{"events", 3, 1}}));
  Waiter other;
  auto other_watch = ops.watch(other, {{"events", 3, 1}});
  CHECK(ops.watchers("events", 3) == 2);
  std::atomic<bool> waiting{false};
  bool returned = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        waiting = true;
        returned = co_await waiter.wait_until(Clock::now() + kLongDeadline);
      },
      asio::detached);
  std::thread producer([&] {
    const auto give_up = Clock::now() + std::chrono::seconds(10);
    while (!waiting && Clock::now() < give_up) std::this_thread::yield();
    ops.notify("events", 3, 1);
  });
  io.run_for(std::chrono::seconds(10));
  producer.join();
  CHECK(returned);
  // Ending one watch leaves the other waiter's.
  watch.reset();
  CHECK(ops.watchers("events", 3) == 1);
}

TEST_CASE("delayed operations: wake_all ends every wait") {
  DelayedOperations ops;
  asio::io_context io;
  Waiter a, b;
  auto wa = ops.watch(a, {{"x", 0, 1}});
  auto wb = ops.watch(b, {{"y", 4, 1000}});
  int woken = 0;
  for (Waiter* w : {&a, &b})
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          woken += co_await w->wait_until(Clock::now() + kLongDeadline) ? 1 : 0;
        },
        asio::detached);
  io.poll();
  ops.wake_all();
  io.run_for(std::chrono::seconds(5));
  CHECK(woken == 2);
}

TEST_CASE("pending response: completed before, during, or after the wait") {
  asio::io_context io;
  SUBCASE("before the wait") {
    PendingResponse<int> pending;
    pending.completer()(7);
    pending.completer()(8);  // a second completion is ignored
    int got = 0;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { got = co_await pending.wait(); }, asio::detached);
    io.run_for(std::chrono::seconds(5));
    CHECK(got == 7);
  }
  SUBCASE("from another thread during the wait") {
    PendingResponse<int> pending;
    auto complete = pending.completer();
    std::atomic<bool> waiting{false};
    int got = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          waiting = true;
          got = co_await pending.wait();
        },
        asio::detached);
    std::thread coordinator([&] {
      const auto give_up = Clock::now() + std::chrono::seconds(10);
      while (!waiting && Clock::now() < give_up) std::this_thread::yield();
      complete(42);
    });
    io.run_for(std::chrono::seconds(10));
    coordinator.join();
    CHECK(got == 42);
  }
  SUBCASE("after the waiter is gone") {
    std::function<void(int)> complete;
    {
      asio::io_context gone;
      auto pending = std::make_shared<PendingResponse<int>>();
      complete = pending->completer();
      asio::co_spawn(
          gone, [pending]() -> asio::awaitable<void> { co_await pending->wait(); }, asio::detached);
      gone.poll();
    }
    complete(1);  // the coroutine and its context are gone: nothing to wake, no crash
  }
}

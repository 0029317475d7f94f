// The bytes of requests being read or served, bounded broker-wide (queued.max.request.bytes):
// a connection reserves a request's size once its size prefix is read, before reading the
// body, and releases it once the request is served. When the pool is full the connection
// waits (its reads pause, and TCP pushes back on the client) until another request releases
// its bytes; nothing fails.
//
// The whole size is reserved up front, as Kafka's memory pool does: a reserved request can
// always be read to its end, so requests read in part can never fill the pool and stall each
// other. A request larger than the pool is let in when the pool is empty. Requests that fit
// the read buffer every connection has (16 KiB) take nothing from it: they cost no memory, and
// heartbeats and metadata keep flowing while large produce requests wait.
#pragma once

#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace kfk::server {

class RequestMemoryPool {
 public:
  // `capacity` <= 0: no bound.
  explicit RequestMemoryPool(int64_t capacity) : capacity_(capacity) {}

  // Reserves `bytes` if they fit (or the pool is empty); thread-safe and lock-free.
  bool try_reserve(size_t bytes);
  void release(size_t bytes);
  // Cancels `timer` (on its own executor) at the next release: a connection waiting for room
  // registers its timer, tries again, then waits on the timer.
  void wake_on_release(std::weak_ptr<asio::steady_timer> timer);

  int64_t capacity() const { return capacity_; }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const int64_t capacity_;
  std::atomic<int64_t> used_{0};
  std::atomic<bool> has_waiters_{false};
  std::mutex mu_;
  std::vector<std::weak_ptr<asio::steady_timer>> waiters_;
};

}  // namespace kfk::server

// A fixed set of reactor threads, each running its own asio::io_context. A connection is
// served by one reactor for its whole life; work for a partition runs on the reactor that
// owns it (see docs/architecture.md).
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace kfk::server {

class ReactorPool {
 public:
  // `threads` == 0 means one per core.
  explicit ReactorPool(size_t threads);
  ~ReactorPool();
  ReactorPool(const ReactorPool&) = delete;
  ReactorPool& operator=(const ReactorPool&) = delete;

  void start();
  // Stops every reactor and joins the threads. Safe to call more than once.
  void stop();

  size_t size() const { return reactors_.size(); }
  asio::io_context& reactor(size_t i) { return reactors_[i]->context; }
  // Reactors in turn, for spreading new connections.
  asio::io_context& next();

 private:
  struct Reactor {
    asio::io_context context{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  };
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace kfk::server

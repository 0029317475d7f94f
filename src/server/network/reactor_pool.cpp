#include "server/network/reactor_pool.h"

#include <spdlog/spdlog.h>

namespace kfk::server {

ReactorPool::ReactorPool(size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) reactors_.push_back(std::make_unique<Reactor>());
}

ReactorPool::~ReactorPool() { stop(); }

void ReactorPool::start() {
  for (size_t i = 0; i < reactors_.size(); ++i) {
    threads_.emplace_back([this, i] {
      try {
        reactors_[i]->context.run();
      } catch (const std::exception& e) {
        // A handler let an exception escape: that is a bug, and the broker cannot go on
        // without this reactor.
        spdlog::critical("reactor {} stopped by an exception: {}", i, e.what());
        std::abort();
      }
    });
  }
}

void ReactorPool::stop() {
  for (auto& r : reactors_) {
    r->work.reset();
    r->context.stop();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

asio::io_context& ReactorPool::next() {
  return reactors_[next_.fetch_add(1, std::memory_order_relaxed) % reactors_.size()]->context;
}

}  // namespace kfk::server

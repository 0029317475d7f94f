// Requests waiting on partitions, keyed by partition and offset: a long-poll fetch waits for
// a partition's end to pass its fetch offset (and, with replication, acks=all will wait for
// the high watermark to reach its records). Whatever moves a partition's end calls notify()
// with the new end; it wakes the waiters of that partition whose offset it reached. Each
// waiter keeps its own deadline (Waiter::wait_until).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/delayed/waiter.h"

namespace kfk::server {

// What one waiter waits for on one partition: its end offset reaching `offset`.
struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

class DelayedOperations {
 public:
  DelayedOperations() = default;
  DelayedOperations(const DelayedOperations&) = delete;
  DelayedOperations& operator=(const DelayedOperations&) = delete;

  // Watches the partitions for `waiter` until the returned handle is destroyed.
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& o) noexcept
        : owner_(o.owner_), waiter_(std::move(o.waiter_)), keys_(std::move(o.keys_)) {
      o.owner_ = nullptr;
    }
    Watch& operator=(Watch&&) = delete;
    Watch(const Watch&) = delete;
    ~Watch();

   private:
    friend class DelayedOperations;
    DelayedOperations* owner_ = nullptr;
    Waiter waiter_;
    std::vector<PartitionOffset> keys_;
  };
  Watch watch(const Waiter& waiter, std::vector<PartitionOffset> partitions);

  // The partition's end moved to `end_offset`: wakes its waiters whose offset it reached.
  void notify(std::string_view topic, int32_t partition, int64_t end_offset);

  // Wakes every waiter (shutdown: long polls answer at once instead of at their deadline).
  void wake_all();

  // Waiters watching a partition (tests).
  size_t watchers(std::string_view topic, int32_t partition) const;

 private:
  struct Key {
    std::string topic;
    int32_t partition = 0;
    bool operator==(const Key&) const = default;
  };
  // Lookups by name do not copy it (notify runs on every append).
  struct KeyView {
    std::string_view topic;
    int32_t partition = 0;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const Key& k) const { return (*this)(KeyView{k.topic, k.partition}); }
    size_t operator()(const KeyView& k) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.partition == b.partition && std::string_view(a.topic) == std::string_view(b.topic);
    }
  };
  struct Entry {
    Waiter waiter;
    int64_t offset = 0;
  };
  void unwatch(const Watch& w);

  mutable std::mutex mu_;
  std::unordered_map<Key, std::vector<Entry>, KeyHash, KeyEqual> watchers_;
};

}  // namespace kfk::server

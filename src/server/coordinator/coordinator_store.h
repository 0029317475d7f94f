// Where a coordinator keeps its state durably: the partitions of its internal topic (the
// group coordinator's __consumer_offsets; the transaction coordinator's __transaction_state
// and the schema registry's _schemas to come). An interface so that a coordinator's rules can
// be tested without a broker.
//
// A write has two steps: append() puts the records in the partition's log at once (cheap and
// ordered, so a coordinator may append under its own lock and the log keeps the order of its
// state changes), await_commit() waits until they are committed (today: on disk when the
// topic's flush policy asks for it; with replication: the high watermark reaching them). A
// coordinator calls the second without its lock, and answers its request after it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/protocol/errors.h"
#include "core/protocol/types.h"

namespace kfk::server {

struct StoreRecord {
  protocol::Bytes key;
  std::optional<protocol::Bytes> value;  // nullopt: tombstone
};

// Records appended to a partition's log, not committed yet.
struct StoreAppend {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  int32_t partition = -1;
  int64_t end_offset = -1;  // the offset after the batch
  bool flush = false;       // the topic's flush policy asks for an fsync
  // The store's own handle on the replica written to (a later table may hold another one).
  std::shared_ptr<void> replica;
};

// Which partitions of the store this broker leads, as it changes.
struct StoreLeadership {
  struct Led {
    int32_t partition = 0;
    bool has_records = false;  // false: nothing to load (a new partition)
  };
  std::vector<Led> led;           // led now and not before: their coordinator loads them
  std::vector<int32_t> resigned;  // led before and not now: their coordinator unloads them
};

class CoordinatorStore {
 public:
  virtual ~CoordinatorStore() = default;

  // The partitions of the topic (its configured count until it exists).
  virtual int32_t partitions() = 0;
  // Appends `records` to `partition`'s log as one batch, all or nothing.
  virtual StoreAppend append(int32_t partition, const std::vector<StoreRecord>& records,
                             int64_t now_ms) = 0;
  // Waits until an append is committed. A commit covers every append before it.
  virtual protocol::ErrorCode await_commit(const StoreAppend& append) = 0;
  // Calls `visit` with every record of `partition`, oldest first.
  using Visit = std::function<void(std::optional<std::span<const uint8_t>> key,
                                   std::optional<std::span<const uint8_t>> value)>;
  virtual protocol::ErrorCode read_all(int32_t partition, const Visit& visit) = 0;

  // Calls `listener` with the partitions led now, then with every change, one call at a time
  // and in order, until watch_leadership is called again (an empty listener stops the calls;
  // when it returns, no call is in progress). Calls come while the broker publishes a
  // metadata image: a listener takes note and leaves the loading (disk reads) to its own
  // thread.
  using LeadershipListener = std::function<void(const StoreLeadership&)>;
  virtual void watch_leadership(LeadershipListener listener) = 0;
};

}  // namespace kfk::server

// Where a coordinator keeps its state durably: the partitions of its internal topic (the
// group coordinator's __consumer_offsets; the transaction coordinator's __transaction_state
// and the schema registry's _schemas to come). An interface so that a coordinator's rules can
// be tested without a broker.
#pragma once

#include <cstdint>
#include <functional>
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

class CoordinatorStore {
 public:
  virtual ~CoordinatorStore() = default;

  // The partitions of the topic (its configured count until it exists).
  virtual int32_t partitions() = 0;
  // Appends `records` to `partition` as one batch, all or nothing.
  virtual protocol::ErrorCode append(int32_t partition, const std::vector<StoreRecord>& records,
                                     int64_t now_ms) = 0;
  // Calls `visit` with every record of `partition`, oldest first.
  using Visit = std::function<void(std::optional<std::span<const uint8_t>> key,
                                   std::optional<std::span<const uint8_t>> value)>;
  virtual protocol::ErrorCode read_all(int32_t partition, const Visit& visit) = 0;
};

}  // namespace kfk::server

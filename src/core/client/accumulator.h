// Collects records into record batches per partition for the producer. A partition's open
// batch closes when the next record would take it past batch_size (a single larger record
// still gets a batch of its own); closed batches wait, oldest first, until drained.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/client/topic_partition.h"
#include "core/record/record_batch.h"

namespace kfk::client {

struct AccumulatorOptions {
  record::Compression compression = record::Compression::none;
  int compression_level = record::kDefaultCompressionLevel;
  size_t batch_size = 16'384;  // uncompressed bytes
};

// One batch ready to send: its bytes and the caller's ids of its records, in order.
struct ReadyBatch {
  TopicPartition tp;
  protocol::Bytes bytes;
  std::vector<size_t> record_ids;
  int attempts = 0;
  // An idempotent producer stamps its id and the partition's sequence into the batch before
  // it first goes out; retries send the same bytes, so the broker can drop duplicates.
  int64_t producer_id = record::kNoProducerId;
  int32_t base_sequence = record::kNoSequence;
};

class RecordAccumulator {
 public:
  explicit RecordAccumulator(AccumulatorOptions options);
  ~RecordAccumulator();

  // Adds a record; returns true when the partition's open batch is full with it (another
  // record of the same size would not fit; the sticky partitioner moves on then).
  bool append(const TopicPartition& tp, size_t record_id, int64_t timestamp,
              record::NullableBytes key, record::NullableBytes value,
              std::span<const record::HeaderView> headers);

  // Batches that are full (or all batches, closing the open ones, with `flush`). At most one
  // batch per partition per call, oldest first, so that batches of a partition stay in order
  // when each call's batches go out in one request.
  std::vector<ReadyBatch> drain(bool flush);

  bool has_full_batches() const { return full_batches_ > 0; }
  bool empty() const;
  // Bytes held: open batches uncompressed, closed ones as built.
  size_t buffered_bytes() const { return buffered_bytes_; }

  // The size a record takes inside a batch (for the max.request.size check).
  static size_t record_size(int64_t timestamp_delta, record::NullableBytes key,
                            record::NullableBytes value,
                            std::span<const record::HeaderView> headers);

 private:
  struct Open {
    std::unique_ptr<record::BatchBuilder> builder;
    std::vector<size_t> ids;
  };
  struct PartitionQueue {
    std::deque<ReadyBatch> closed;
    Open open;
  };
  ReadyBatch close(const TopicPartition& tp, Open& open);

  AccumulatorOptions options_;
  std::map<TopicPartition, PartitionQueue> partitions_;
  size_t full_batches_ = 0;
  size_t buffered_bytes_ = 0;
};

}  // namespace kfk::client

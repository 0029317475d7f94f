#include "core/client/accumulator.h"

#include "core/protocol/writer.h"

namespace kfk::client {

RecordAccumulator::RecordAccumulator(AccumulatorOptions options) : options_(options) {}
RecordAccumulator::~RecordAccumulator() = default;

size_t RecordAccumulator::record_size(int64_t timestamp_delta, record::NullableBytes key,
                                      record::NullableBytes value,
                                      std::span<const record::HeaderView> headers) {
  size_t body = 1 + protocol::varlong_size(timestamp_delta) + 5;  // attributes, ts, offset delta
  body += key ? protocol::varint_size(static_cast<int32_t>(key->size())) + key->size() : 1;
  body += value ? protocol::varint_size(static_cast<int32_t>(value->size())) + value->size() : 1;
  body += protocol::varint_size(static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) {
    body += protocol::varint_size(static_cast<int32_t>(h.key.size())) + h.key.size();
    body += h.value ? protocol::varint_size(static_cast<int32_t>(h.value->size())) + h.value->size()
                    : 1;
  }
  return protocol::varint_size(static_cast<int32_t>(body)) + body;
}

ReadyBatch RecordAccumulator::close(const TopicPartition& tp, Open& open) {
  ReadyBatch batch;
  batch.tp = tp;
  batch.bytes = open.builder->build();
  batch.record_ids = std::move(open.ids);
  buffered_bytes_ -= open.builder->uncompressed_size();
  buffered_bytes_ += batch.bytes.size();
  open.builder.reset();
  open.ids.clear();
  return batch;
}

bool RecordAccumulator::append(const TopicPartition& tp, size_t record_id, int64_t timestamp,
                               record::NullableBytes key, record::NullableBytes value,
                               std::span<const record::HeaderView> headers) {
  auto& queue = partitions_[tp];
  const size_t size = record_size(0, key, value, headers);
  if (queue.open.builder && queue.open.builder->records_count() > 0 &&
      queue.open.builder->uncompressed_size() + size > options_.batch_size) {
    queue.closed.push_back(close(tp, queue.open));
    ++full_batches_;
  }
  if (!queue.open.builder) {
    record::BatchOptions batch_options;
    batch_options.compression = options_.compression;
    batch_options.compression_level = options_.compression_level;
    queue.open.builder = std::make_unique<record::BatchBuilder>(batch_options);
    buffered_bytes_ += queue.open.builder->uncompressed_size();
  }
  const size_t before = queue.open.builder->uncompressed_size();
  queue.open.builder->append(timestamp, key, value, headers);
  buffered_bytes_ += queue.open.builder->uncompressed_size() - before;
  queue.open.ids.push_back(record_id);
  // Full when another record of this size would not fit.
  return queue.open.builder->uncompressed_size() + size > options_.batch_size;
}

std::vector<ReadyBatch> RecordAccumulator::drain(bool flush) {
  std::vector<ReadyBatch> out;
  for (auto& [tp, queue] : partitions_) {
    if (!queue.closed.empty()) {
      out.push_back(std::move(queue.closed.front()));
      queue.closed.pop_front();
      --full_batches_;
    } else if (flush && queue.open.builder && queue.open.builder->records_count() > 0) {
      out.push_back(close(tp, queue.open));
    } else {
      continue;
    }
    buffered_bytes_ -= out.back().bytes.size();
  }
  std::erase_if(partitions_, [](const auto& entry) {
    return entry.second.closed.empty() && !entry.second.open.builder;
  });
  return out;
}

bool RecordAccumulator::empty() const { return partitions_.empty(); }

}  // namespace kfk::client

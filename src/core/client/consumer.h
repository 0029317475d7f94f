// A consumer without a group: the caller assigns partitions and where to start; poll()
// fetches from every partition's leader (one Fetch per broker, in parallel), decodes and
// decompresses the batches and returns the records in offset order per partition. Tracks the
// high watermark, so the caller can stop at the end of the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/topic_partition.h"
#include "core/record/record_batch.h"

namespace kfk::client {

class Client;

struct StartOffset {
  enum class Kind { earliest, latest, exact, from_end };
  Kind kind = Kind::latest;
  int64_t value = 0;  // the offset (exact) or how many before the end (from_end)

  static StartOffset earliest() { return {Kind::earliest, 0}; }
  static StartOffset latest() { return {Kind::latest, 0}; }
  static StartOffset at(int64_t offset) { return {Kind::exact, offset}; }
  static StartOffset before_end(int64_t n) { return {Kind::from_end, n}; }
};

// "earliest"/"beginning", "latest"/"end", "N" (an offset) or "-N" (N before the end).
std::optional<StartOffset> parse_start_offset(std::string_view text);

struct ConsumerOptions {
  int32_t fetch_max_wait_ms = 500;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_bytes = 52'428'800;
  int32_t max_partition_fetch_bytes = 1'048'576;
  int8_t isolation_level = 0;  // 0 read_uncommitted, 1 read_committed
  // Where to go after OFFSET_OUT_OF_RANGE; with `none` the error is thrown.
  enum class Reset { earliest, latest, none } reset = Reset::latest;
  bool check_crcs = true;
};

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = record::kNoTimestamp;
  record::TimestampType timestamp_type = record::TimestampType::create_time;
  std::optional<protocol::Bytes> key;
  std::optional<protocol::Bytes> value;
  std::vector<record::Header> headers;
};

struct PartitionProgress {
  TopicPartition tp;
  int64_t position = 0;         // the next offset to read
  int64_t high_watermark = -1;  // -1 until known
  int64_t log_start_offset = -1;
  bool at_end() const { return high_watermark >= 0 && position >= high_watermark; }
};

class Consumer {
 public:
  Consumer(Client& client, ConsumerOptions options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Replaces the assignment. Resolves every start offset with ListOffsets (which also gives
  // the high watermark). Throws ClientError for unknown topics or partitions.
  void assign(const std::vector<std::pair<TopicPartition, StartOffset>>& partitions);
  // Adds partitions to the assignment (replacing the position of one already there) and
  // removes some, leaving the others where they are: what a group rebalance does.
  void add(const std::vector<std::pair<TopicPartition, StartOffset>>& partitions);
  void remove(const std::vector<TopicPartition>& partitions);
  // One fetch round: waits up to fetch.max.wait.ms for records. Retriable errors refresh
  // metadata and back off; others throw ClientError.
  std::vector<ConsumerRecord> poll();
  // The same, waiting at most `max_wait` (below fetch.max.wait.ms) on the broker, so that a
  // group member can heartbeat on time between fetches.
  std::vector<ConsumerRecord> poll(std::chrono::milliseconds max_wait);

  const std::vector<PartitionProgress>& progress() const;
  // Every assigned partition has been read up to its high watermark.
  bool at_end() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfk::client

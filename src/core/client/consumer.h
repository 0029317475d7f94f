// A consumer without a group: the caller assigns partitions and where to start; poll()
// fetches from every partition's leader (one Fetch per broker, in parallel), decodes and
// decompresses the batches and returns the records in offset order per partition. Tracks the
// high watermark, so the caller can stop at the end of the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/topic_partition.h"
#include "core/record/record_batch.h"

namespace kfk::client {

class Client;

struct StartOffset {
  enum class Kind { earliest, latest, exact, from_end, from_start, time };
  Kind kind = Kind::latest;
  // The offset (exact), how many before the end (from_end) or after the log start
  // (from_start), or the time in ms since the epoch (time: the first offset whose timestamp
  // is at or after it, the end of the log when no record is that recent).
  int64_t value = 0;

  static StartOffset earliest() { return {Kind::earliest, 0}; }
  static StartOffset latest() { return {Kind::latest, 0}; }
  static StartOffset at(int64_t offset) { return {Kind::exact, offset}; }
  static StartOffset before_end(int64_t n) { return {Kind::from_end, n}; }
  static StartOffset after_start(int64_t n) { return {Kind::from_start, n}; }
  static StartOffset at_time(int64_t ms) { return {Kind::time, ms}; }
};

// "earliest"/"beginning"/"start", "latest"/"end", "N" (an offset), "-N" (N before the end)
// or "+N" (N after the log start).
std::optional<StartOffset> parse_start_offset(std::string_view text);

// Where a bounded read stops, per partition: before `value` (exact), at the high watermark
// seen when reading starts (end), or before the first record at or after a time.
struct EndOffset {
  enum class Kind { none, end, exact, time };
  Kind kind = Kind::none;
  int64_t value = 0;
};

// The --offset of `kfk consume`: START[:END].
//   START  start|earliest|beginning, end|latest, N, +N (after the log start), -N (before the
//          end), @TIME; empty when END is given: the start of the log
//   END    end (the current end), N (stop before offset N), @TIME
//   TIME   epoch milliseconds, RFC 3339 ("2024-05-01T12:00:00Z", local time without a zone),
//          or relative to now ("-10m", "-48h", "-1h30m", "-500ms"; units ms s m h d w)
// "@-48h:-24h" reads what was written between two and one days ago (the '@' may be left
// out of the END time after an @START).
struct OffsetRange {
  StartOffset start;
  EndOffset end;
};
std::optional<OffsetRange> parse_offset_range(std::string_view text, int64_t now_ms);
// A TIME as above, in ms since the epoch.
std::optional<int64_t> parse_time_point(std::string_view text, int64_t now_ms);

struct ConsumerOptions {
  int32_t fetch_max_wait_ms = 500;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_bytes = 52'428'800;
  int32_t max_partition_fetch_bytes = 1'048'576;
  int8_t isolation_level = 0;  // 0 read_uncommitted, 1 read_committed
  // Where to go after OFFSET_OUT_OF_RANGE; with `none` the error is thrown.
  enum class Reset { earliest, latest, none } reset = Reset::latest;
  bool check_crcs = true;
  // Told, in a sentence, when a position moves by `reset` (an offset out of range, or a group
  // member's partition without a committed offset), so that a tool can say so.
  std::function<void(const std::string&)> on_offset_reset;
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

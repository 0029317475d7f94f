// The producer: records are batched per partition (record::BatchBuilder, with compression),
// sent to each partition's leader in one Produce request per broker, and retried with
// backoff and a metadata refresh on retriable errors. Every record gets a DeliveryReport.
//
// Blocking: send() returns at once unless batches are full, in which case it sends them and
// waits; flush() sends everything and returns the reports of every record not yet reported.
//
// Idempotence (on by default, as in the Java client; only with acks=all): the producer gets
// an id from the broker (InitProducerId without a transactional id) and numbers the records
// of each partition; a retried batch carries the same numbers, so a batch the broker had
// written before the answer was lost is not written twice. Batches of a partition go out
// one at a time, in order. A batch that fails for good leaves a gap in the numbering, so the
// producer then asks for a new id and numbers from 0 again.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/accumulator.h"
#include "core/client/partitioner.h"
#include "core/record/record_batch.h"

namespace kfk::client {

class Client;

struct ProducerOptions {
  int16_t acks = -1;  // -1 all, 0 none (no offsets reported), 1 leader
  record::Compression compression = record::Compression::none;
  int compression_level = record::kDefaultCompressionLevel;
  size_t batch_size = 16'384;
  size_t max_request_size = 1'048'576;
  int32_t retries = INT32_MAX;
  std::chrono::milliseconds delivery_timeout{120'000};
  bool allow_auto_create_topics = true;
  PartitionerKind partitioner = PartitionerKind::murmur2_random;
  bool idempotence = true;  // only with acks = -1; ignored otherwise
  int32_t transaction_timeout_ms = 60'000;
};

struct ProducerRecord {
  std::string topic;
  std::optional<int32_t> partition;  // none: the partitioner chooses
  std::optional<protocol::Bytes> key;
  std::optional<protocol::Bytes> value;
  std::vector<record::Header> headers;
  int64_t timestamp = record::kNoTimestamp;  // none: now
};

struct DeliveryReport {
  size_t id = 0;  // the order of send() calls, from 0
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;  // -1 with acks=0 or on error
  int16_t error = 0;
  std::string message;  // for errors: what went wrong, beyond the error name
  bool ok() const { return error == 0; }
};

class Producer {
 public:
  Producer(Client& client, ProducerOptions options);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues a record and returns its id. Throws ClientError when the topic does not exist
  // (and cannot be created) or the explicit partition is out of range.
  size_t send(ProducerRecord record);
  // Sends every queued record and waits for the answers (not with acks=0: then only until
  // the requests are written). Returns the reports not returned before, by id.
  std::vector<DeliveryReport> flush();
  bool has_pending() const;
  // The producer id the broker gave (-1 before the first batch, or without idempotence).
  int64_t producer_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfk::client

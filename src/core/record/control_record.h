// Control records (KIP-98): the records of control batches. Their key is
// version int16 (0) + type int16; the value of a transaction marker (ABORT, COMMIT) is an
// EndTxnMarker: version int16 (0) + coordinatorEpoch int32. Markers are written by the
// broker as a control batch holding exactly one record, with the transactional flag and
// the producer id and epoch of the transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/record/record_batch.h"

namespace kfk::record {

// Types 2 and up are KRaft's; they are recognised, not interpreted.
enum class ControlRecordType : int16_t {
  abort = 0,
  commit = 1,
  leader_change = 2,
  snapshot_header = 3,
  snapshot_footer = 4,
  kraft_voters = 5,
  kraft_version = 6,
};

struct ControlKey {
  int16_t version = 0;
  int16_t type = 0;  // a ControlRecordType value, or one this code does not know
};

// nullopt when shorter than 4 bytes or the version is negative. Newer versions may carry
// more bytes after the type; they are ignored, as Kafka does.
std::optional<ControlKey> parse_control_key(std::span<const uint8_t> key);
Bytes encode_control_key(ControlRecordType type);

struct EndTxnMarker {
  int16_t version = 0;
  int32_t coordinator_epoch = 0;
};

// nullopt when shorter than 6 bytes or the version is negative.
std::optional<EndTxnMarker> parse_end_txn_marker(std::span<const uint8_t> value);
Bytes encode_end_txn_marker(int32_t coordinator_epoch);

struct EndTxnMarkerBatch {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = kNoPartitionLeaderEpoch;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  bool commit = false;  // false: ABORT
  int32_t coordinator_epoch = 0;
  int64_t timestamp = kNoTimestamp;
};

// An uncompressed control batch with one marker record, as the broker writes it.
Bytes build_end_txn_marker_batch(const EndTxnMarkerBatch& marker);

// Reads the marker of a transaction marker batch (validating and decoding it).
struct TxnMarker {
  bool commit = false;
  int32_t coordinator_epoch = 0;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int64_t offset = 0;
  int64_t timestamp = kNoTimestamp;
};
BatchError read_end_txn_marker(const BatchView& batch, TxnMarker& out,
                               const DecodeOptions& options = {});

}  // namespace kfk::record

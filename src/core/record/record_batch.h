// Kafka record batches, message format v2 (magic 2): the unit of produce, fetch and the log.
//
// Batch layout (big-endian; byte offsets from the start of the batch):
//    0  baseOffset            int64   offset of the first record; the broker assigns it
//    8  batchLength           int32   bytes after this field: a batch is 12 + batchLength bytes
//   12  partitionLeaderEpoch  int32   set by the broker
//   16  magic                 int8    2
//   17  crc                   uint32  CRC32C of bytes 21 to the end of the batch
//   21  attributes            int16   bits 0-2 codec, bit 3 timestampType (1 = LogAppendTime),
//                                     bit 4 isTransactional, bit 5 isControlBatch,
//                                     bit 6 hasDeleteHorizonMs; the others are unused
//   23  lastOffsetDelta       int32   last offset minus baseOffset (kept when compaction
//                                     removes records, so records may have gaps)
//   27  baseTimestamp         int64   the first record's timestamp (the delete horizon when
//                                     bit 6 is set)
//   35  maxTimestamp          int64   largest record timestamp, or the LogAppendTime
//   43  producerId            int64   -1 when not idempotent
//   51  producerEpoch         int16
//   53  baseSequence          int32
//   57  recordsCount          int32
//   61  records               one stream, compressed as a whole when the codec is not none
//
// Record layout (varint and varlong are zigzag):
//   length varint (bytes after this field), attributes int8 (unused), timestampDelta varlong,
//   offsetDelta varint, keyLength varint (-1 = null), key, valueLength varint (-1 = null),
//   value, headersCount varint, then per header: keyLength varint, key (UTF-8, never null),
//   valueLength varint (-1 = null), value.
//
// Everything here reads untrusted bytes without throwing; failures are BatchError values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/errors.h"
#include "core/record/compression.h"

namespace kfk::record {

inline constexpr int8_t kMagicV0 = 0;
inline constexpr int8_t kMagicV1 = 1;
inline constexpr int8_t kMagicV2 = 2;

inline constexpr size_t kLogOverhead = 12;      // baseOffset + batchLength
inline constexpr size_t kBatchHeaderSize = 61;  // everything before the records
inline constexpr size_t kMinRecordSize = 7;     // seven one-byte fields

// Byte positions of the header fields.
namespace batch_pos {
inline constexpr size_t base_offset = 0;
inline constexpr size_t batch_length = 8;
inline constexpr size_t partition_leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
inline constexpr size_t records = 61;
}  // namespace batch_pos

// Attribute bits.
namespace batch_attr {
inline constexpr uint16_t codec_mask = 0x07;
inline constexpr uint16_t log_append_time = 0x08;
inline constexpr uint16_t transactional = 0x10;
inline constexpr uint16_t control = 0x20;
inline constexpr uint16_t delete_horizon = 0x40;
}  // namespace batch_attr

inline constexpr int64_t kNoTimestamp = -1;
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;
inline constexpr int32_t kNoPartitionLeaderEpoch = -1;

enum class TimestampType : uint8_t { create_time = 0, log_append_time = 1 };

enum class BatchErrorKind : uint8_t {
  none,
  truncated,          // the bytes end before the batch (or its header) does
  invalid_length,     // batchLength impossible, or bytes left after the batch
  unsupported_magic,  // magic other than 0, 1 and 2
  legacy_format,      // magic 0 or 1 where format v2 is required
  crc_mismatch,       // stored CRC differs from the computed one
  unsupported_codec,  // codec bits 5-7
  invalid_header,     // a header field out of range (count, offsets, sequence)
  invalid_control,    // control batch or control record rules broken
  invalid_timestamp,  // a timestamp type a producer may not send
  invalid_record,     // a record (or the records section) does not parse
  decompression_failed,
  too_large,  // the records decompress to more than the allowed size
};

std::string_view to_string(BatchErrorKind kind);

struct BatchError {
  BatchErrorKind kind = BatchErrorKind::none;
  const char* field = "";     // the field found wrong
  std::string detail;         // specifics for logs
  int32_t record_index = -1;  // the record at fault, for record-level errors

  // An error of `kind` at `field` of record `index` (-1: the batch as a whole).
  static BatchError at(BatchErrorKind kind, const char* field, int32_t index, std::string detail) {
    return BatchError{kind, field, std::move(detail), index};
  }

  bool ok() const { return kind == BatchErrorKind::none; }
  std::string message() const;
  // The error a broker answers with: CORRUPT_MESSAGE for damaged bytes, INVALID_RECORD for
  // well-formed but invalid content (and legacy formats), UNSUPPORTED_COMPRESSION_TYPE,
  // INVALID_TIMESTAMP, MESSAGE_TOO_LARGE for a decompression bomb; none when ok.
  protocol::ErrorCode kafka_error_code() const;
};

struct ValidateOptions {
  bool verify_crc = true;
  // The extra rules Kafka applies to batches from producers: records count > 0 and equal to
  // lastOffsetDelta + 1, no control batches, a sequence when there is a producer id, and no
  // LogAppendTime.
  bool client_rules = false;
};

// A zero-copy view of one batch. Accessors never read out of bounds: on bytes shorter than
// the header they return 0. Call validate() before trusting any field.
class BatchView {
 public:
  BatchView() = default;
  explicit BatchView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }

  int64_t base_offset() const;
  int32_t batch_length() const;
  int32_t partition_leader_epoch() const;
  int8_t magic() const;
  uint32_t crc() const;
  uint16_t attributes() const;
  int32_t last_offset_delta() const;
  int64_t base_timestamp() const;
  int64_t max_timestamp() const;
  int64_t producer_id() const;
  int16_t producer_epoch() const;
  int32_t base_sequence() const;
  int32_t records_count() const;

  int codec_id() const { return attributes() & batch_attr::codec_mask; }
  // Compression::none for an unknown codec id; validate() reports that case.
  Compression compression() const;
  TimestampType timestamp_type() const;
  bool is_transactional() const { return (attributes() & batch_attr::transactional) != 0; }
  bool is_control() const { return (attributes() & batch_attr::control) != 0; }
  bool has_delete_horizon() const { return (attributes() & batch_attr::delete_horizon) != 0; }
  std::optional<int64_t> delete_horizon_ms() const;
  // Wrapping (two's complement) sums: a batch read from the network or a damaged file may hold
  // any base offset and delta, and asking for its offsets must not overflow.
  int64_t last_offset() const {
    return static_cast<int64_t>(static_cast<uint64_t>(base_offset()) +
                                static_cast<uint64_t>(int64_t{last_offset_delta()}));
  }
  int64_t next_offset() const {
    return static_cast<int64_t>(static_cast<uint64_t>(last_offset()) + 1);
  }
  bool has_producer_id() const { return producer_id() >= 0; }

  // The records section (compressed when the codec is not none).
  std::span<const uint8_t> records_bytes() const;
  // CRC32C over attributes..end, as stored in the crc field of a valid batch.
  uint32_t compute_crc() const;

  // Checks the bytes are exactly one well-formed v2 batch.
  BatchError validate(const ValidateOptions& options = {}) const;

 private:
  std::span<const uint8_t> bytes_;
};

// In-place rewrites a broker makes on an accepted batch. Each returns false and writes
// nothing when the bytes are shorter than a batch header.
class MutableBatchView {
 public:
  explicit MutableBatchView(std::span<uint8_t> bytes) : bytes_(bytes) {}

  BatchView view() const { return BatchView(bytes_); }

  // baseOffset is outside the CRC, so the CRC stays valid.
  bool set_base_offset(int64_t base_offset);
  // Sets baseOffset so that the batch ends at last_offset.
  bool set_last_offset(int64_t last_offset);
  // Also outside the CRC.
  bool set_partition_leader_epoch(int32_t epoch);
  // Sets the timestamp type bit and maxTimestamp, then recomputes the CRC (only when
  // something changed).
  bool set_max_timestamp(TimestampType type, int64_t max_timestamp);
  bool set_log_append_time(int64_t timestamp) {
    return set_max_timestamp(TimestampType::log_append_time, timestamp);
  }
  bool update_crc();

 private:
  std::span<uint8_t> bytes_;
};

// Walks the batches of a buffer (a fetch response's records, a segment chunk). The framing
// (baseOffset, length, magic at byte 16) is shared by all message formats, so legacy
// entries are returned too: check magic(). A trailing batch cut short, which fetch
// responses may carry, ends the walk without an error; has_partial_batch() reports it.
class BatchIterator {
 public:
  explicit BatchIterator(std::span<const uint8_t> buffer,
                         size_t max_batch_size = size_t{INT32_MAX} + kLogOverhead);

  // The next whole batch, or nullopt at the end, at a partial batch or on a framing error.
  std::optional<BatchView> next();

  size_t position() const { return pos_; }  // bytes of whole batches returned so far
  bool has_partial_batch() const { return partial_; }
  size_t partial_bytes() const { return partial_ ? buffer_.size() - pos_ : 0; }
  // A framing error: a length below the smallest entry or above the limit, a bad magic.
  const BatchError& error() const { return error_; }

 private:
  std::span<const uint8_t> buffer_;
  size_t max_batch_size_;
  size_t pos_ = 0;
  bool partial_ = false;
  BatchError error_;
};

// --- records -------------------------------------------------------------------------

using NullableBytes = std::optional<std::span<const uint8_t>>;

struct HeaderView {
  std::string_view key;
  NullableBytes value;
};

// One decoded record; key, value and headers point into the batch bytes (uncompressed
// batches) or into DecodedRecords::storage (compressed ones).
struct RecordView {
  int64_t offset = 0;
  int64_t timestamp = kNoTimestamp;  // the batch's maxTimestamp for LogAppendTime batches
  int8_t attributes = 0;
  NullableBytes key;
  NullableBytes value;
  std::vector<HeaderView> headers;
};

// Move-only: the views must keep pointing at live bytes. Copy with to_record().
struct DecodedRecords {
  DecodedRecords() = default;
  DecodedRecords(DecodedRecords&&) = default;
  DecodedRecords& operator=(DecodedRecords&&) = default;
  DecodedRecords(const DecodedRecords&) = delete;
  DecodedRecords& operator=(const DecodedRecords&) = delete;

  std::vector<RecordView> records;
  Bytes storage;  // the decompressed records section; empty for uncompressed batches
};

struct DecodeOptions {
  // Cap on the decompressed records section; uncompressed batches are not limited.
  size_t max_uncompressed_bytes = size_t{64} << 20;
  bool verify_crc = true;
};

// Validates the batch, decompresses it (within the cap) and parses every record. Checks
// that the records count matches, offset deltas strictly increase up to lastOffsetDelta,
// nothing trails the last record, and control records are well-formed. The batch bytes
// must outlive `out` when the batch is uncompressed.
BatchError decode_records(const BatchView& batch, DecodedRecords& out,
                          const DecodeOptions& options = {});

// Owning forms, for building batches and keeping records past their buffer.
struct Header {
  std::string key;
  std::optional<Bytes> value;
  bool operator==(const Header&) const = default;
};

struct Record {
  int64_t offset = -1;  // for building: -1 takes the offset after the previous record
  int64_t timestamp = kNoTimestamp;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<Header> headers;
  bool operator==(const Record&) const = default;
};

Record to_record(const RecordView& view);

// --- building ------------------------------------------------------------------------

struct BatchOptions {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = kNoPartitionLeaderEpoch;
  Compression compression = Compression::none;
  int compression_level = kDefaultCompressionLevel;
  TimestampType timestamp_type = TimestampType::create_time;
  int64_t log_append_time = kNoTimestamp;  // maxTimestamp of a LogAppendTime batch
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  bool transactional = false;
  bool control = false;
  std::optional<int64_t> delete_horizon_ms;  // becomes baseTimestamp, sets bit 6
};

// Encodes records into one batch. Appends fail (returning false, changing nothing) when
// the offset does not increase or its delta does not fit an int32, or a header key is
// missing; the batch stays valid.
class BatchBuilder {
 public:
  explicit BatchBuilder(const BatchOptions& options);

  bool append(int64_t timestamp, NullableBytes key, NullableBytes value,
              std::span<const HeaderView> headers = {});
  bool append_with_offset(int64_t offset, int64_t timestamp, NullableBytes key, NullableBytes value,
                          std::span<const HeaderView> headers = {});
  bool append(const Record& record);

  int32_t records_count() const { return count_; }
  int64_t next_offset() const;
  // Uncompressed size of the batch built so far.
  size_t uncompressed_size() const { return kBatchHeaderSize + records_.size(); }

  // The complete batch, CRC included. If compression fails (out of memory inside the codec
  // library) the batch is written uncompressed, which is equally valid.
  Bytes build() const;

 private:
  BatchOptions options_;
  Bytes records_;
  int32_t count_ = 0;
  int32_t last_offset_delta_ = -1;
  std::optional<int64_t> base_timestamp_;
  int64_t max_timestamp_ = kNoTimestamp;
};

Bytes build_batch(const BatchOptions& options, std::span<const Record> records);

}  // namespace kfk::record

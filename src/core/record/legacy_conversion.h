// Conversion between the legacy message formats (v0, v1; legacy_records.h has the layout)
// and RecordBatch v2, for the old request versions Kafka 3.x still served:
//
// - Produce v0-2 may carry message sets of magic 0 or 1. Kafka's log holds format v2 only,
//   so a partition's message set becomes one v2 batch (up_convert_message_set).
// - Fetch v0-1 clients read magic 0 only, v2-3 magic 1 only: the v2 batches a fetch reads
//   are rewritten in memory (down_convert_batches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/record/record_batch.h"

namespace kfk::record {

// True when the first entry of the bytes is of magic 0 or 1.
bool is_legacy_message_set(std::span<const uint8_t> bytes);

struct UpConversion {
  Bytes batch;  // one v2 batch: base offset 0, no producer id, CreateTime
  BatchError error;
};

// Every entry of a produce request's message set (each CRC32-checked; compressed wrappers
// decompressed within options.max_uncompressed_bytes) as one v2 batch, as Kafka's log
// validator converts: keys, values and timestamps kept (magic 0 has none: -1), offsets
// renumbered from 0, and the codec of the last compressed entry (Kafka's "source codec";
// the topic's compression.type is applied afterwards like for any batch). Errors: a
// truncated or damaged entry or a bad CRC (CORRUPT_MESSAGE), an entry of magic 2 among
// legacy ones or nested compression (INVALID_RECORD), LogAppendTime set by the producer
// (INVALID_TIMESTAMP).
UpConversion up_convert_message_set(std::span<const uint8_t> message_set,
                                    const DecodeOptions& options = {});

struct DownConversionOptions {
  int8_t magic = kMagicV1;   // 0 or 1
  int64_t first_offset = 0;  // records below it (in the first batch read) are left out
  size_t max_bytes = 0;      // the converted message set stops before going past it
  // When even the first entry does not fit: true keeps it whole (Fetch v3's "at least one
  // message"), false cuts the set at max_bytes, leaving a partial message as Fetch v0-2
  // did (the client reports the message as too large).
  bool allow_oversized_first = false;
  size_t max_uncompressed_bytes = size_t{64} << 20;
};

struct DownConversion {
  Bytes message_set;
  BatchError error;  // zstd batches (unsupported_codec) or undecodable ones
};

// The records of the v2 batches in `batches` (a log read: whole batches, perhaps a partial
// one at the end, which is ignored) as legacy entries. Control batches are skipped and
// headers dropped, as Kafka does. Uncompressed batches become one entry per record; a
// compressed batch becomes one wrapper of the same codec (lz4 in magic 0 with Kafka 0.8's
// header checksum). Conversion stops once max_bytes is reached, so the memory used is
// bounded by it plus one batch.
DownConversion down_convert_batches(std::span<const uint8_t> batches,
                                    const DownConversionOptions& options);

// One legacy log entry (offset, size, CRC32, magic, attributes, [timestamp], key, value),
// appended to `out`. Exposed for tests.
void append_legacy_entry(Bytes& out, int8_t magic, int64_t offset, uint8_t attributes,
                         int64_t timestamp, NullableBytes key, NullableBytes value);

}  // namespace kfk::record

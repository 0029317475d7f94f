// Reading the legacy message formats v0 and v1 (magic 0 and 1), for old segments and old
// clients. legacy_conversion.h converts them to and from format v2.
//
// A log entry is offset int64, messageSize int32, then the message:
//   crc uint32      CRC32 (IEEE, as zlib computes it) of magic to the end of the message
//   magic int8      0 or 1
//   attributes int8 bits 0-2 codec (none, gzip, snappy, lz4), bit 3 LogAppendTime (v1)
//   timestamp int64 v1 only
//   key bytes       int32 length (-1 = null), then the bytes
//   value bytes     likewise
// A compressed message is a wrapper: its value is the compressed concatenation of inner
// uncompressed log entries of the same magic. In v1 the inner offsets are relative: the
// wrapper carries the absolute offset of the last inner message.
#pragma once

#include "core/record/record_batch.h"

namespace kfk::record {

// Decodes one legacy log entry, as BatchIterator returns it, into its records (one, or
// the inner messages of a wrapper). Records have no headers; v0 records have no timestamp.
// LZ4 wrappers of magic 0 may carry Kafka 0.8's frame header checksum (legacy_lz4.h),
// which is not checked, as in Kafka.
BatchError decode_legacy_records(const BatchView& entry, DecodedRecords& out,
                                 const DecodeOptions& options = {});

// decode_records for magic 2, decode_legacy_records for magic 0 and 1.
BatchError decode_any_records(const BatchView& entry, DecodedRecords& out,
                              const DecodeOptions& options = {});

}  // namespace kfk::record

// The compression codecs of Kafka record batches, in the exact stream formats Kafka uses.
//
//   gzip    a gzip stream (RFC 1952); concatenated members are accepted on read.
//   snappy  written in the xerial framing the Java client uses; read as xerial framing or as
//           one raw snappy block (what librdkafka sends), told apart by the xerial magic.
//   lz4     the LZ4 frame format, written with independent 64 KiB blocks (the Java client
//           rejects linked blocks); any valid frame is read.
//   zstd    standard zstd frames, decoded as a stream so frames without a content size work.
//
// Decompression never trusts sizes declared by the input: the output buffer never grows
// past max_output + 1 bytes; the call fails instead. The libraries' own working memory is
// bounded apart from that: zstd windows up to max(8 MiB, 2 * max_output) and at most
// 128 MiB, lz4 up to its 4 MiB block size plus history, zlib 32 KiB. Nothing here throws
// except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/protocol/types.h"

namespace kfk::record {

using Bytes = protocol::Bytes;

// Values are the codec bits (0-2) of the batch attributes.
enum class Compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

std::string_view to_string(Compression codec);
// Accepts the names printed by to_string, plus "uncompressed" (a Kafka topic config value)
// for none. Case-sensitive, as Kafka's configs are.
std::optional<Compression> parse_compression(std::string_view name);
// The codec for attribute bits 0-2; nullopt for the unassigned ids 5-7.
std::optional<Compression> compression_from_id(int id);

enum class CodecError : uint8_t {
  none,
  unsupported_codec,  // not one of the five codecs
  corrupt,            // the input is not a valid stream of that codec (or is truncated)
  too_large,          // the output would exceed max_output
  internal,           // the codec library failed on valid input (out of memory)
};

std::string_view to_string(CodecError error);

struct CodecResult {
  Bytes data;
  CodecError error = CodecError::none;
  std::string message;  // details for logs, empty on success

  bool ok() const { return error == CodecError::none; }
};

// Use the codec's default level (Kafka's defaults: gzip 6, lz4 fast mode, zstd 3).
inline constexpr int kDefaultCompressionLevel = -1000;

CodecResult compress(Compression codec, std::span<const uint8_t> input,
                     int level = kDefaultCompressionLevel);

CodecResult decompress(Compression codec, std::span<const uint8_t> input, size_t max_output);

// Snappy variants, exposed for interoperability tests.
Bytes snappy_compress_raw(std::span<const uint8_t> input);
// The Java client's block size.
inline constexpr size_t kXerialBlockSize = size_t{32} * 1024;
Bytes snappy_compress_xerial(std::span<const uint8_t> input, size_t block_size = kXerialBlockSize);
bool is_xerial_snappy(std::span<const uint8_t> input);

}  // namespace kfk::record

// Decompression of a batch's records section a piece at a time, into buffers the caller owns,
// so that what a batch expands to never has to fit in memory at once.
//
//   gzip, lz4, zstd  true streams: each read() fills at most the buffer it is given. Working
//                    memory is the codec's own: zlib 32 KiB, lz4 its block size (at most
//                    4 MiB) plus 64 KiB of history, zstd its window, limited to
//                    2^kStreamZstdWindowLogMax bytes (frames asking for more are refused).
//   snappy           a raw snappy block (librdkafka) or each block of the xerial framing (the
//                    Java client) is decoded whole into an internal buffer, since snappy has
//                    no streaming decoder: a block declaring more than max_block_bytes is
//                    refused before anything is allocated (and a block cannot expand more
//                    than 64 times, so a claim above that is refused as corrupt).
//
// Nothing here throws except std::bad_alloc. The decompressor can be reused for many
// streams; its contexts are kept between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/record/compression.h"

namespace kfk::record {

// zstd windows up to 32 MiB: every level a producer uses without long-distance matching.
inline constexpr int kStreamZstdWindowLogMax = 25;

class StreamDecompressor {
 public:
  StreamDecompressor();
  ~StreamDecompressor();
  StreamDecompressor(const StreamDecompressor&) = delete;
  StreamDecompressor& operator=(const StreamDecompressor&) = delete;

  // Starts decoding `input` (which must outlive the reads) with `codec`, which is not none.
  // max_block_bytes bounds a snappy block's decoded size.
  void start(Compression codec, std::span<const uint8_t> input, size_t max_block_bytes);

  // Writes up to dst.size() decompressed bytes into dst and returns how many; fewer than
  // dst.size() only at the end of the stream or on an error. Once failed, returns 0.
  size_t read(std::span<uint8_t> dst);

  // The whole input was decoded and the stream ended properly.
  bool at_end() const { return at_end_; }
  bool ok() const { return error_ == CodecError::none; }
  CodecError error() const { return error_; }
  const std::string& message() const { return message_; }

  // Memory held by the codec contexts and the snappy block buffer, for tests and limits.
  size_t working_memory_bytes() const;

 private:
  struct Contexts;
  size_t fail(CodecError error, std::string message);
  size_t read_gzip(std::span<uint8_t> dst);
  size_t read_lz4(std::span<uint8_t> dst);
  size_t read_zstd(std::span<uint8_t> dst);
  size_t read_snappy(std::span<uint8_t> dst);
  bool next_snappy_block();

  std::unique_ptr<Contexts> ctx_;
  Compression codec_ = Compression::none;
  std::span<const uint8_t> input_;
  size_t pos_ = 0;  // input consumed
  size_t max_block_bytes_ = 0;
  bool at_end_ = false;
  CodecError error_ = CodecError::none;
  std::string message_;
};

}  // namespace kfk::record

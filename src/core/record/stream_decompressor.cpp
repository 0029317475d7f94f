#include "core/record/stream_decompressor.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/util/big_endian.h"

namespace kfk::record {

namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;
// A larger snappy block buffer is released when the next stream starts.
constexpr size_t kKeptBlockBytes = size_t{1} << 20;
constexpr size_t kKeptZstdContextBytes = size_t{8} << 20;

}  // namespace

struct StreamDecompressor::Contexts {
  z_stream zs{};
  bool zs_ready = false;
  LZ4F_dctx* lz4 = nullptr;
  ZSTD_DCtx* zstd = nullptr;
  Bytes snappy_block;  // the decoded block being read
  size_t snappy_pos = 0;
  bool xerial = false;

  ~Contexts() {
    if (zs_ready) inflateEnd(&zs);
    if (lz4 != nullptr) LZ4F_freeDecompressionContext(lz4);
    if (zstd != nullptr) ZSTD_freeDCtx(zstd);
  }
};

StreamDecompressor::StreamDecompressor() : ctx_(std::make_unique<Contexts>()) {}
StreamDecompressor::~StreamDecompressor() = default;

size_t StreamDecompressor::fail(CodecError error, std::string message) {
  if (error_ == CodecError::none) {
    error_ = error;
    message_ = std::move(message);
  }
  return 0;
}

void StreamDecompressor::start(Compression codec, std::span<const uint8_t> input,
                               size_t max_block_bytes) {
  codec_ = codec;
  input_ = input;
  pos_ = 0;
  max_block_bytes_ = max_block_bytes;
  at_end_ = false;
  error_ = CodecError::none;
  message_.clear();
  Contexts& c = *ctx_;
  c.snappy_block.clear();
  c.snappy_pos = 0;
  if (c.snappy_block.capacity() > kKeptBlockBytes) Bytes().swap(c.snappy_block);
  switch (codec) {
    case Compression::gzip:
      if (!c.zs_ready) {
        if (inflateInit2(&c.zs, kGzipWindowBits) != Z_OK) {
          fail(CodecError::internal, "inflateInit2 failed");
          return;
        }
        c.zs_ready = true;
      } else if (inflateReset(&c.zs) != Z_OK) {
        fail(CodecError::internal, "inflateReset failed");
        return;
      }
      break;
    case Compression::lz4:
      if (c.lz4 == nullptr) {
        if (LZ4F_isError(LZ4F_createDecompressionContext(&c.lz4, LZ4F_VERSION))) {
          c.lz4 = nullptr;
          fail(CodecError::internal, "cannot create an lz4 context");
          return;
        }
      } else {
        LZ4F_resetDecompressionContext(c.lz4);
      }
      if (input.empty()) fail(CodecError::corrupt, "empty lz4 input");
      break;
    case Compression::zstd:
      // A context that grew a large window for one frame is not kept for the next.
      if (c.zstd != nullptr && ZSTD_sizeof_DCtx(c.zstd) > kKeptZstdContextBytes) {
        ZSTD_freeDCtx(c.zstd);
        c.zstd = nullptr;
      }
      if (c.zstd == nullptr) {
        c.zstd = ZSTD_createDCtx();
        if (c.zstd == nullptr) {
          fail(CodecError::internal, "cannot create a zstd context");
          return;
        }
        ZSTD_DCtx_setParameter(c.zstd, ZSTD_d_windowLogMax, kStreamZstdWindowLogMax);
      } else {
        ZSTD_DCtx_reset(c.zstd, ZSTD_reset_session_only);
      }
      if (input.empty()) fail(CodecError::corrupt, "empty zstd input");
      break;
    case Compression::snappy:
      c.xerial = is_xerial_snappy(input);
      if (!c.xerial) next_snappy_block();  // the one raw block, checked at once
      break;
    case Compression::none:
      fail(CodecError::unsupported_codec, "no codec to stream");
      break;
  }
}

size_t StreamDecompressor::read(std::span<uint8_t> dst) {
  if (error_ != CodecError::none || at_end_ || dst.empty()) return 0;
  switch (codec_) {
    case Compression::gzip:
      return read_gzip(dst);
    case Compression::lz4:
      return read_lz4(dst);
    case Compression::zstd:
      return read_zstd(dst);
    case Compression::snappy:
      return read_snappy(dst);
    case Compression::none:
      break;
  }
  return fail(CodecError::unsupported_codec, "no codec to stream");
}

size_t StreamDecompressor::read_gzip(std::span<uint8_t> dst) {
  z_stream& zs = ctx_->zs;
  size_t produced = 0;
  while (produced < dst.size()) {
    const size_t left = input_.size() - pos_;
    const auto chunk = static_cast<uInt>(std::min<size_t>(left, UINT_MAX));
    const auto room = static_cast<uInt>(std::min<size_t>(dst.size() - produced, UINT_MAX));
    zs.next_in = const_cast<Bytef*>(input_.data() + pos_);
    zs.avail_in = chunk;
    zs.next_out = dst.data() + produced;
    zs.avail_out = room;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    pos_ += chunk - zs.avail_in;
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      const size_t rest = input_.size() - pos_;
      if (rest == 0) {
        at_end_ = true;
        break;
      }
      // Another gzip member may follow; anything else is garbage.
      if (rest < 2 || input_[pos_] != 0x1f || input_[pos_ + 1] != 0x8b)
        return fail(CodecError::corrupt, "trailing bytes after the gzip stream");
      if (inflateReset(&zs) != Z_OK) return fail(CodecError::internal, "inflateReset failed");
      continue;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
      if (pos_ == input_.size() && zs.avail_out != 0)
        return fail(CodecError::corrupt, "truncated gzip stream");
      continue;
    }
    return fail(CodecError::corrupt,
                std::string("invalid gzip stream: ") + (zs.msg ? zs.msg : "inflate error"));
  }
  return produced;
}

size_t StreamDecompressor::read_lz4(std::span<uint8_t> dst) {
  size_t produced = 0;
  while (produced < dst.size()) {
    size_t src_size = input_.size() - pos_;
    size_t dst_size = dst.size() - produced;
    const size_t hint = LZ4F_decompress(ctx_->lz4, dst.data() + produced, &dst_size,
                                        input_.data() + pos_, &src_size, nullptr);
    if (LZ4F_isError(hint))
      return fail(CodecError::corrupt,
                  std::string("invalid lz4 frame: ") + LZ4F_getErrorName(hint));
    pos_ += src_size;
    produced += dst_size;
    if (hint == 0 && pos_ == input_.size()) {
      at_end_ = true;
      break;
    }
    // Frames may follow one another; within one, no progress with input left is corrupt,
    // and input used up mid-frame with room left in the output is a cut frame.
    if (src_size == 0 && dst_size == 0 && pos_ < input_.size())
      return fail(CodecError::corrupt, "lz4 decoder made no progress");
    if (hint != 0 && pos_ == input_.size() && produced < dst.size() && dst_size == 0)
      return fail(CodecError::corrupt, "truncated lz4 frame");
  }
  return produced;
}

size_t StreamDecompressor::read_zstd(std::span<uint8_t> dst) {
  ZSTD_inBuffer src{input_.data(), input_.size(), pos_};
  ZSTD_outBuffer out{dst.data(), dst.size(), 0};
  while (out.pos < out.size) {
    const size_t before_in = src.pos;
    const size_t before_out = out.pos;
    const size_t rc = ZSTD_decompressStream(ctx_->zstd, &out, &src);
    pos_ = src.pos;
    if (ZSTD_isError(rc))
      return fail(CodecError::corrupt, std::string("invalid zstd frame: ") + ZSTD_getErrorName(rc));
    if (rc == 0 && src.pos == src.size) {
      at_end_ = true;
      break;
    }
    if (src.pos == src.size && out.pos < out.size && out.pos == before_out)
      return fail(CodecError::corrupt, "truncated zstd frame");
    if (src.pos == before_in && out.pos == before_out)
      return fail(CodecError::corrupt, "zstd decoder made no progress");
  }
  return out.pos;
}

// Decodes the next snappy block into the block buffer; false at the end or on an error.
bool StreamDecompressor::next_snappy_block() {
  Contexts& c = *ctx_;
  c.snappy_block.clear();
  c.snappy_pos = 0;
  std::span<const uint8_t> block;
  if (!c.xerial) {
    if (pos_ != 0) return false;
    block = input_;
    pos_ = input_.size();
  } else {
    // A stream may be several xerial streams back to back, each with its header.
    while (input_.size() - pos_ >= kXerialHeaderSize &&
           std::memcmp(input_.data() + pos_, kXerialMagic, sizeof kXerialMagic) == 0)
      pos_ += kXerialHeaderSize;  // versions are not checked, as librdkafka does not
    if (pos_ == input_.size()) return false;
    if (input_.size() - pos_ < 4)
      return fail(CodecError::corrupt, "truncated xerial snappy block length"), false;
    const uint32_t n = load_be<uint32_t>(input_.data() + pos_);
    pos_ += 4;
    if (n > input_.size() - pos_)
      return fail(CodecError::corrupt, "truncated xerial snappy block"), false;
    block = input_.subspan(pos_, n);
    pos_ += n;
  }
  const char* src = reinterpret_cast<const char*>(block.data());
  size_t declared = 0;
  if (!snappy::GetUncompressedLength(src, block.size(), &declared))
    return fail(CodecError::corrupt, "invalid snappy block length"), false;
  // A snappy element emits at most 64 bytes per input byte; a larger claim is a lie.
  if (declared / 64 > block.size())
    return fail(CodecError::corrupt, "snappy block declares more than it can hold"), false;
  if (declared > max_block_bytes_)
    return fail(CodecError::too_large, "snappy block of " + std::to_string(declared) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(max_block_bytes_)),
           false;
  c.snappy_block.resize(declared);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(c.snappy_block.data())))
    return fail(CodecError::corrupt, "invalid snappy block"), false;
  return true;
}

size_t StreamDecompressor::read_snappy(std::span<uint8_t> dst) {
  Contexts& c = *ctx_;
  size_t produced = 0;
  while (produced < dst.size()) {
    if (c.snappy_pos == c.snappy_block.size()) {
      if (!next_snappy_block()) {
        if (ok()) at_end_ = true;
        break;
      }
      continue;
    }
    const size_t n = std::min(dst.size() - produced, c.snappy_block.size() - c.snappy_pos);
    std::memcpy(dst.data() + produced, c.snappy_block.data() + c.snappy_pos, n);
    c.snappy_pos += n;
    produced += n;
  }
  return produced;
}

size_t StreamDecompressor::working_memory_bytes() const {
  size_t n = ctx_->snappy_block.capacity();
  if (ctx_->zstd != nullptr) n += ZSTD_sizeof_DCtx(ctx_->zstd);
  if (ctx_->zs_ready) n += size_t{1} << 15;
  return n;
}

}  // namespace kfk::record

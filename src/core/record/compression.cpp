#include "core/record/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "core/util/big_endian.h"

namespace kfk::record {

std::string_view to_string(Compression codec) {
  switch (codec) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::snappy:
      return "snappy";
    case Compression::lz4:
      return "lz4";
    case Compression::zstd:
      return "zstd";
  }
  return "unknown";
}

std::optional<Compression> parse_compression(std::string_view name) {
  if (name == "none" || name == "uncompressed") return Compression::none;
  if (name == "gzip") return Compression::gzip;
  if (name == "snappy") return Compression::snappy;
  if (name == "lz4") return Compression::lz4;
  if (name == "zstd") return Compression::zstd;
  return std::nullopt;
}

std::optional<Compression> compression_from_id(int id) {
  if (id < 0 || id > 4) return std::nullopt;
  return static_cast<Compression>(id);
}

std::string_view to_string(CodecError error) {
  switch (error) {
    case CodecError::none:
      return "no error";
    case CodecError::unsupported_codec:
      return "unsupported compression codec";
    case CodecError::corrupt:
      return "corrupt compressed data";
    case CodecError::too_large:
      return "decompressed data exceeds the size limit";
    case CodecError::internal:
      return "compression library failure";
  }
  return "unknown codec error";
}

namespace {

CodecResult failure(CodecError error, std::string message) {
  CodecResult r;
  r.error = error;
  r.message = std::move(message);
  return r;
}

CodecResult success(Bytes data) {
  CodecResult r;
  r.data = std::move(data);
  return r;
}

CodecResult too_large(size_t max_output) {
  return failure(CodecError::too_large,
                 "decompressed size exceeds the limit of " + std::to_string(max_output) + " bytes");
}

// A growing output buffer that never holds more than max_output + 1 bytes; the extra byte
// lets a decoder prove the output is too large without decoding it all.
class CappedOutput {
 public:
  CappedOutput(size_t max_output, size_t hint)
      : cap_(max_output == SIZE_MAX ? SIZE_MAX : max_output + 1) {
    resize_exact(std::min(cap_, std::max<size_t>(hint, 256)));
  }
  // Makes room past `used`; false when the buffer is already at its limit.
  bool grow(size_t used) {
    if (used < buf_.size()) return true;
    if (buf_.size() >= cap_) return false;
    resize_exact(buf_.size() > cap_ / 2 ? cap_ : buf_.size() * 2);
    return true;
  }
  uint8_t* data() { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  // True when `used` bytes are over the caller's max_output.
  bool over(size_t used) const { return cap_ != SIZE_MAX && used >= cap_; }
  Bytes take(size_t used) {
    buf_.resize(used);
    if (buf_.capacity() - used > used / 4) buf_.shrink_to_fit();
    return std::move(buf_);
  }

 private:
  // vector::resize may double the capacity; reserve first so it never passes the cap.
  void resize_exact(size_t n) {
    buf_.reserve(n);
    buf_.resize(n);
  }

  size_t cap_;
  Bytes buf_;
};

size_t initial_hint(size_t input_size) {
  return input_size > SIZE_MAX / 4 ? SIZE_MAX : input_size * 4;
}

// --- gzip -------------------------------------------------------------------

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper

CodecResult gzip_compress(std::span<const uint8_t> in, int level) {
  if (level == kDefaultCompressionLevel) level = Z_DEFAULT_COMPRESSION;
  level = std::clamp(level, -1, 9);
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return failure(CodecError::internal, "deflateInit2 failed");
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  const uint8_t* src = in.data();
  size_t left = in.size();
  size_t produced = 0;
  int rc = Z_OK;
  do {
    if (produced == out.size()) out.resize(out.size() * 2);
    uInt chunk = static_cast<uInt>(std::min<size_t>(left, UINT_MAX));
    uInt room = static_cast<uInt>(std::min<size_t>(out.size() - produced, UINT_MAX));
    zs.next_in = const_cast<Bytef*>(src);
    zs.avail_in = chunk;
    zs.next_out = out.data() + produced;
    zs.avail_out = room;
    rc = deflate(&zs, chunk == left ? Z_FINISH : Z_NO_FLUSH);
    src += chunk - zs.avail_in;
    left -= chunk - zs.avail_in;
    produced += room - zs.avail_out;
  } while (rc == Z_OK || rc == Z_BUF_ERROR);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return failure(CodecError::internal, "deflate failed");
  out.resize(produced);
  return success(std::move(out));
}

CodecResult gzip_decompress(std::span<const uint8_t> in, size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK)
    return failure(CodecError::internal, "inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  CappedOutput out(max_output, initial_hint(in.size()));
  const uint8_t* src = in.data();
  size_t left = in.size();
  size_t used = 0;
  while (true) {
    if (!out.grow(used)) return too_large(max_output);
    uInt chunk = static_cast<uInt>(std::min<size_t>(left, UINT_MAX));
    uInt room = static_cast<uInt>(std::min<size_t>(out.size() - used, UINT_MAX));
    zs.next_in = const_cast<Bytef*>(src);
    zs.avail_in = chunk;
    zs.next_out = out.data() + used;
    zs.avail_out = room;
    int rc = inflate(&zs, Z_NO_FLUSH);
    src += chunk - zs.avail_in;
    left -= chunk - zs.avail_in;
    used += room - zs.avail_out;
    if (out.over(used)) return too_large(max_output);
    if (rc == Z_STREAM_END) {
      if (left == 0) break;
      // Another gzip member may follow; anything else is garbage.
      if (left < 2 || src[0] != 0x1f || src[1] != 0x8b)
        return failure(CodecError::corrupt, "trailing bytes after the gzip stream");
      if (inflateReset(&zs) != Z_OK) return failure(CodecError::internal, "inflateReset failed");
      continue;
    }
    if (rc == Z_BUF_ERROR || rc == Z_OK) {
      // No progress possible without more input: the stream is cut short.
      if (left == 0 && zs.avail_out != 0)
        return failure(CodecError::corrupt, "truncated gzip stream");
      continue;
    }
    return failure(CodecError::corrupt,
                   std::string("invalid gzip stream: ") + (zs.msg ? zs.msg : "inflate error"));
  }
  return success(out.take(used));
}

// --- snappy -----------------------------------------------------------------

// The xerial header: magic, then big-endian version 1 and minimum compatible version 1.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;

void append_raw_snappy(Bytes& out, std::span<const uint8_t> in) {
  size_t start = out.size();
  out.resize(start + snappy::MaxCompressedLength(in.size()));
  size_t n = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data() + start), &n);
  out.resize(start + n);
}

// Decodes one raw snappy block, appending to out; total output stays within max_output.
CodecError raw_snappy_append(std::span<const uint8_t> block, Bytes& out, size_t max_output) {
  const char* src = reinterpret_cast<const char*>(block.data());
  size_t declared = 0;
  if (!snappy::GetUncompressedLength(src, block.size(), &declared)) return CodecError::corrupt;
  if (declared > max_output || out.size() > max_output - declared) return CodecError::too_large;
  // A snappy element emits at most 64 bytes per input byte; a larger claim is a lie.
  if (declared / 64 > block.size()) return CodecError::corrupt;
  size_t start = out.size();
  if (start + declared > out.capacity())
    out.reserve(std::min(max_output, std::max(start + declared, 2 * out.capacity())));
  out.resize(start + declared);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + start))) {
    out.resize(start);
    return CodecError::corrupt;
  }
  return CodecError::none;
}

CodecResult snappy_decompress(std::span<const uint8_t> in, size_t max_output) {
  Bytes out;
  if (!is_xerial_snappy(in)) {
    CodecError e = raw_snappy_append(in, out, max_output);
    if (e == CodecError::too_large) return too_large(max_output);
    if (e != CodecError::none) return failure(e, "invalid snappy block");
    return success(std::move(out));
  }
  size_t pos = 0;
  while (pos < in.size()) {
    // A stream may be several xerial streams back to back, each with its header.
    if (in.size() - pos >= kXerialHeaderSize &&
        std::memcmp(in.data() + pos, kXerialMagic, sizeof kXerialMagic) == 0) {
      pos += kXerialHeaderSize;  // versions are not checked, as librdkafka does not
      continue;
    }
    if (in.size() - pos < 4)
      return failure(CodecError::corrupt, "truncated xerial snappy block length");
    uint32_t n = load_be<uint32_t>(in.data() + pos);
    pos += 4;
    if (n > in.size() - pos) return failure(CodecError::corrupt, "truncated xerial snappy block");
    CodecError e = raw_snappy_append(in.subspan(pos, n), out, max_output);
    if (e == CodecError::too_large) return too_large(max_output);
    if (e != CodecError::none) return failure(e, "invalid snappy block in xerial stream");
    pos += n;
  }
  return success(std::move(out));
}

// --- lz4 --------------------------------------------------------------------

CodecResult lz4_compress(std::span<const uint8_t> in, int level) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.compressionLevel = level == kDefaultCompressionLevel ? 0 : std::clamp(level, 0, 17);
  Bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n))
    return failure(CodecError::internal,
                   std::string("lz4 compression failed: ") + LZ4F_getErrorName(n));
  out.resize(n);
  return success(std::move(out));
}

CodecResult lz4_decompress(std::span<const uint8_t> in, size_t max_output) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION)))
    return failure(CodecError::internal, "cannot create an lz4 context");
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw,
                                                                   LZ4F_freeDecompressionContext);
  if (in.empty()) return failure(CodecError::corrupt, "empty lz4 input");
  CappedOutput out(max_output, initial_hint(in.size()));
  size_t pos = 0;
  size_t used = 0;
  size_t hint = 1;
  while (pos < in.size() || hint != 0) {
    if (!out.grow(used)) return too_large(max_output);
    size_t src_size = in.size() - pos;
    size_t dst_size = out.size() - used;
    hint = LZ4F_decompress(ctx.get(), out.data() + used, &dst_size, in.data() + pos, &src_size,
                           nullptr);
    if (LZ4F_isError(hint))
      return failure(CodecError::corrupt,
                     std::string("invalid lz4 frame: ") + LZ4F_getErrorName(hint));
    if (src_size == 0 && dst_size == 0 && hint != 0 && pos < in.size())
      return failure(CodecError::corrupt, "lz4 decoder made no progress");
    pos += src_size;
    used += dst_size;
    if (out.over(used)) return too_large(max_output);
    // Input used up mid-frame with room left in the output: the frame is cut short.
    if (hint != 0 && pos == in.size() && used < out.size())
      return failure(CodecError::corrupt, "truncated lz4 frame");
  }
  return success(out.take(used));
}

// --- zstd -------------------------------------------------------------------

constexpr int kZstdDefaultLevel = 3;
constexpr int kZstdMinWindowLog = 23;  // enough for every level up to 19 without a size hint
constexpr int kZstdMaxWindowLog = 27;  // zstd's own default limit

CodecResult zstd_compress(std::span<const uint8_t> in, int level) {
  if (level == kDefaultCompressionLevel) level = kZstdDefaultLevel;
  level = std::clamp(level, ZSTD_minCLevel(), ZSTD_maxCLevel());
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n))
    return failure(CodecError::internal,
                   std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return success(std::move(out));
}

int ceil_log2(size_t v) {
  int log = 0;
  while (log < 63 && (size_t{1} << log) < v) ++log;
  return log;
}

CodecResult zstd_decompress(std::span<const uint8_t> in, size_t max_output) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return failure(CodecError::internal, "cannot create a zstd context");
  // The decoder allocates its window from the frame header; bound it by the output cap
  // but keep room for the windows that ordinary producer settings use.
  int window_log = std::clamp(ceil_log2(max_output), kZstdMinWindowLog, kZstdMaxWindowLog);
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, window_log);

  size_t hint = initial_hint(in.size());
  unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
    if (declared > max_output) return too_large(max_output);
    hint = static_cast<size_t>(declared);
  }
  if (in.empty()) return failure(CodecError::corrupt, "empty zstd input");
  CappedOutput out(max_output, hint);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  size_t used = 0;
  while (true) {
    if (!out.grow(used)) return too_large(max_output);
    ZSTD_outBuffer dst{out.data(), out.size(), used};
    size_t rc = ZSTD_decompressStream(ctx.get(), &dst, &src);
    used = dst.pos;
    if (ZSTD_isError(rc))
      return failure(CodecError::corrupt,
                     std::string("invalid zstd frame: ") + ZSTD_getErrorName(rc));
    if (out.over(used)) return too_large(max_output);
    if (rc == 0 && src.pos == src.size) break;
    if (src.pos == src.size && dst.pos < dst.size)
      return failure(CodecError::corrupt, "truncated zstd frame");
  }
  return success(out.take(used));
}

}  // namespace

bool is_xerial_snappy(std::span<const uint8_t> input) {
  return input.size() >= kXerialHeaderSize &&
         std::memcmp(input.data(), kXerialMagic, sizeof kXerialMagic) == 0;
}

Bytes snappy_compress_raw(std::span<const uint8_t> input) {
  Bytes out;
  append_raw_snappy(out, input);
  return out;
}

Bytes snappy_compress_xerial(std::span<const uint8_t> input, size_t block_size) {
  if (block_size == 0) block_size = kXerialBlockSize;
  Bytes out(kXerialMagic, kXerialMagic + sizeof kXerialMagic);
  append_be<uint32_t>(out, 1);  // version
  append_be<uint32_t>(out, 1);  // minimum compatible version
  for (size_t pos = 0; pos < input.size(); pos += block_size) {
    size_t len_pos = out.size();
    append_be<uint32_t>(out, 0);
    append_raw_snappy(out, input.subspan(pos, std::min(block_size, input.size() - pos)));
    store_be<uint32_t>(out.data() + len_pos, static_cast<uint32_t>(out.size() - len_pos - 4));
  }
  return out;
}

CodecResult compress(Compression codec, std::span<const uint8_t> input, int level) {
  switch (codec) {
    case Compression::none:
      return success(Bytes(input.begin(), input.end()));
    case Compression::gzip:
      return gzip_compress(input, level);
    case Compression::snappy:
      return success(snappy_compress_xerial(input));
    case Compression::lz4:
      return lz4_compress(input, level);
    case Compression::zstd:
      return zstd_compress(input, level);
  }
  return failure(CodecError::unsupported_codec,
                 "unsupported compression codec " + std::to_string(static_cast<int>(codec)));
}

CodecResult decompress(Compression codec, std::span<const uint8_t> input, size_t max_output) {
  switch (codec) {
    case Compression::none:
      if (input.size() > max_output) return too_large(max_output);
      return success(Bytes(input.begin(), input.end()));
    case Compression::gzip:
      return gzip_decompress(input, max_output);
    case Compression::snappy:
      return snappy_decompress(input, max_output);
    case Compression::lz4:
      return lz4_decompress(input, max_output);
    case Compression::zstd:
      return zstd_decompress(input, max_output);
  }
  return failure(CodecError::unsupported_codec,
                 "unsupported compression codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace kfk::record

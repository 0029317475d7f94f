#include "core/record/compression.h"

#include <doctest/doctest.h>
#include <lz4frame.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/util/big_endian.h"

using namespace kfk::record;

namespace {

constexpr Compression kCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                   Compression::lz4, Compression::zstd};
constexpr Compression kRealCodecs[] = {Compression::gzip, Compression::snappy, Compression::lz4,
                                       Compression::zstd};

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Text-like data that compresses well but not trivially.
Bytes compressible(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  static const char* words[] = {"kafka ", "record ", "batch ",    "offset ",
                                "topic ", "lz4 ",    "{\"k\":1} "};
  Bytes b;
  while (b.size() < n) {
    const char* w = words[rng() % 7];
    b.insert(b.end(), w, w + std::strlen(w));
  }
  b.resize(n);
  return b;
}

Bytes compressed(Compression c, const Bytes& in) {
  CodecResult r = compress(c, in);
  REQUIRE(r.ok());
  return r.data;
}

}  // namespace

TEST_CASE("compression: names and ids") {
  for (Compression c : kCodecs) {
    auto parsed = parse_compression(to_string(c));
    REQUIRE(parsed);
    CHECK(*parsed == c);
    CHECK(compression_from_id(static_cast<int>(c)) == c);
  }
  CHECK(parse_compression("uncompressed") == Compression::none);
  CHECK_FALSE(parse_compression("GZIP"));
  CHECK_FALSE(parse_compression("brotli"));
  CHECK_FALSE(parse_compression(""));
  CHECK_FALSE(compression_from_id(5));
  CHECK_FALSE(compression_from_id(7));
  CHECK_FALSE(compression_from_id(-1));
  CHECK(to_string(Compression::lz4) == "lz4");
}

TEST_CASE("compression: round trip for every codec and size") {
  for (Compression c : kCodecs) {
    for (size_t n :
         {size_t{0}, size_t{1}, size_t{100}, size_t{32768}, size_t{32769}, size_t{200000}}) {
      for (int kind = 0; kind < 2; ++kind) {
        CAPTURE(to_string(c));
        CAPTURE(n);
        CAPTURE(kind);
        Bytes in = kind == 0 ? compressible(n, 7) : random_bytes(n, 7);
        Bytes packed = compressed(c, in);
        if (c != Compression::none && kind == 0 && n >= 32768) CHECK(packed.size() < in.size() / 2);
        CodecResult out = decompress(c, packed, in.size());
        REQUIRE(out.ok());
        CHECK(out.data == in);
      }
    }
  }
}

TEST_CASE("compression: levels are honoured and still decode") {
  Bytes in = compressible(100000, 3);
  for (Compression c : kRealCodecs) {
    for (int level : {1, 9}) {
      CodecResult r = compress(c, in, level);
      REQUIRE(r.ok());
      CodecResult out = decompress(c, r.data, in.size());
      REQUIRE(out.ok());
      CHECK(out.data == in);
    }
  }
}

TEST_CASE("compression: decompression bombs are refused for every codec") {
  Bytes zeros(1 << 20, 0);
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    Bytes packed = compressed(c, zeros);
    CodecResult r = decompress(c, packed, 64 * 1024);
    CHECK(r.error == CodecError::too_large);
    CHECK(r.data.empty());
    // Exactly the cap is fine; one byte less is not.
    CHECK(decompress(c, packed, zeros.size()).ok());
    CHECK(decompress(c, packed, zeros.size() - 1).error == CodecError::too_large);
  }
}

TEST_CASE("compression: declared sizes are not trusted") {
  SUBCASE("raw snappy claiming a huge length") {
    // varint 0x40000000 (1 GiB) then a 1-byte literal.
    Bytes lie = {0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 'x'};
    CodecResult r = decompress(Compression::snappy, lie, 64 * 1024);
    CHECK(r.error == CodecError::too_large);
    r = decompress(Compression::snappy, lie, SIZE_MAX);
    CHECK(r.error == CodecError::corrupt);
  }
  SUBCASE("raw snappy claiming more than it holds") {
    Bytes real = snappy_compress_raw(compressible(1000, 1));
    real[0] = 0xE9;  // 1001 instead of 1000 (varint 0xE8 0x07)
    CHECK(decompress(Compression::snappy, real, 1 << 20).error == CodecError::corrupt);
  }
  SUBCASE("zstd frame declaring a content size over the cap") {
    Bytes packed = compressed(Compression::zstd, Bytes(100000, 1));
    CHECK(decompress(Compression::zstd, packed, 1000).error == CodecError::too_large);
  }
  SUBCASE("lz4 frame with content size over the cap") {
    Bytes in(100000, 2);
    LZ4F_preferences_t prefs;
    std::memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.contentSize = in.size();
    Bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
    size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
    REQUIRE_FALSE(LZ4F_isError(n));
    out.resize(n);
    CHECK(decompress(Compression::lz4, out, 1000).error == CodecError::too_large);
    CHECK(decompress(Compression::lz4, out, in.size()).data == in);
  }
}

TEST_CASE("compression: corrupt and truncated input gives errors, never crashes") {
  Bytes in = compressible(5000, 11);
  for (Compression c : kRealCodecs) {
    CAPTURE(to_string(c));
    Bytes packed = compressed(c, in);
    // Every proper prefix: an error, or (xerial framing cut at a block boundary) a prefix.
    for (size_t cut = 0; cut < packed.size(); ++cut) {
      std::span<const uint8_t> part(packed.data(), cut);
      CodecResult r = decompress(c, part, 1 << 20);
      if (r.ok()) {
        REQUIRE(c == Compression::snappy);
        REQUIRE(r.data.size() <= in.size());
        CHECK(std::equal(r.data.begin(), r.data.end(), in.begin()));
      }
    }
    // Garbage never decodes into something large, and never crashes.
    for (uint32_t seed = 0; seed < 200; ++seed) {
      Bytes junk = random_bytes(1 + seed % 300, seed);
      CodecResult r = decompress(c, junk, 1 << 16);
      CHECK(r.data.size() <= (1 << 16));
    }
    // Flipped bits.
    std::mt19937 rng(static_cast<uint32_t>(c));
    for (int i = 0; i < 500; ++i) {
      Bytes copy = packed;
      copy[rng() % copy.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      CodecResult r = decompress(c, copy, 1 << 16);
      if (!r.ok()) CHECK(r.data.empty());
    }
  }
  CHECK(decompress(Compression::gzip, Bytes{}, 100).error == CodecError::corrupt);
  CHECK(decompress(Compression::lz4, Bytes{}, 100).error == CodecError::corrupt);
  CHECK(decompress(Compression::zstd, Bytes{}, 100).error == CodecError::corrupt);
  CHECK(decompress(Compression::snappy, Bytes{}, 100).error == CodecError::corrupt);
  CHECK(decompress(static_cast<Compression>(6), Bytes{1}, 100).error ==
        CodecError::unsupported_codec);
  CHECK(compress(static_cast<Compression>(6), Bytes{1}).error == CodecError::unsupported_codec);
}

TEST_CASE("compression: snappy writes the xerial framing") {
  Bytes in = compressible(100 * 1024, 5);
  Bytes packed = compressed(Compression::snappy, in);
  REQUIRE(packed.size() > 16);
  const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  CHECK(std::memcmp(packed.data(), magic, 8) == 0);
  CHECK(kfk::load_be<uint32_t>(packed.data() + 8) == 1);   // version
  CHECK(kfk::load_be<uint32_t>(packed.data() + 12) == 1);  // minimum compatible version
  CHECK(is_xerial_snappy(packed));
  // Blocks of 32 KiB input each, each a raw snappy block with a big-endian length.
  size_t pos = 16;
  std::vector<size_t> block_sizes;
  Bytes joined;
  while (pos < packed.size()) {
    REQUIRE(packed.size() - pos >= 4);
    uint32_t n = kfk::load_be<uint32_t>(packed.data() + pos);
    pos += 4;
    REQUIRE(n <= packed.size() - pos);
    std::span<const uint8_t> block(packed.data() + pos, n);
    CHECK_FALSE(is_xerial_snappy(block));
    CodecResult raw = decompress(Compression::snappy, block, 1 << 20);
    REQUIRE(raw.ok());
    block_sizes.push_back(raw.data.size());
    joined.insert(joined.end(), raw.data.begin(), raw.data.end());
    pos += n;
  }
  CHECK(block_sizes == std::vector<size_t>{32768, 32768, 32768, 4096});
  CHECK(joined == in);
}

TEST_CASE("compression: snappy reads xerial framing built by hand, and raw snappy") {
  Bytes in = compressible(10000, 9);
  SUBCASE("odd block sizes") {
    Bytes framed = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    kfk::append_be<uint32_t>(framed, 1);
    kfk::append_be<uint32_t>(framed, 1);
    for (size_t pos = 0; pos < in.size(); pos += 3000) {
      Bytes block = snappy_compress_raw(
          std::span<const uint8_t>(in).subspan(pos, std::min<size_t>(3000, in.size() - pos)));
      kfk::append_be<uint32_t>(framed, static_cast<uint32_t>(block.size()));
      framed.insert(framed.end(), block.begin(), block.end());
    }
    CodecResult r = decompress(Compression::snappy, framed, in.size());
    REQUIRE(r.ok());
    CHECK(r.data == in);
    CHECK(decompress(Compression::snappy, framed, in.size() - 1).error == CodecError::too_large);
  }
  SUBCASE("two xerial streams back to back") {
    Bytes a = snappy_compress_xerial(std::span<const uint8_t>(in).first(4000));
    Bytes b = snappy_compress_xerial(std::span<const uint8_t>(in).subspan(4000));
    a.insert(a.end(), b.begin(), b.end());
    CodecResult r = decompress(Compression::snappy, a, in.size());
    REQUIRE(r.ok());
    CHECK(r.data == in);
  }
  SUBCASE("raw snappy as librdkafka sends it") {
    Bytes raw = snappy_compress_raw(in);
    CHECK_FALSE(is_xerial_snappy(raw));
    CodecResult r = decompress(Compression::snappy, raw, in.size());
    REQUIRE(r.ok());
    CHECK(r.data == in);
  }
  SUBCASE("header only is an empty stream") {
    Bytes header = snappy_compress_xerial({});
    CHECK(header.size() == 16);
    CodecResult r = decompress(Compression::snappy, header, 10);
    REQUIRE(r.ok());
    CHECK(r.data.empty());
  }
  SUBCASE("a block length past the end") {
    Bytes framed = snappy_compress_xerial(in);
    framed[16] = 0x7f;
    CHECK(decompress(Compression::snappy, framed, 1 << 20).error == CodecError::corrupt);
  }
}

TEST_CASE("compression: lz4 frames as Kafka writes them and other valid frames") {
  Bytes in = compressible(150000, 4);
  Bytes packed = compressed(Compression::lz4, in);
  // Magic, then FLG: version 01, independent blocks, no checksums, no content size; BD: 64 KiB.
  REQUIRE(packed.size() > 7);
  CHECK(packed[0] == 0x04);
  CHECK(packed[1] == 0x22);
  CHECK(packed[2] == 0x4D);
  CHECK(packed[3] == 0x18);
  CHECK(packed[4] == 0x60);
  CHECK(packed[5] == 0x40);

  // Linked blocks, content size, both checksums, 4 MiB blocks: all valid frames.
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockMode = LZ4F_blockLinked;
  prefs.frameInfo.blockSizeID = LZ4F_max4MB;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs.frameInfo.contentSize = in.size();
  Bytes other(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(other.data(), other.size(), in.data(), in.size(), &prefs);
  REQUIRE_FALSE(LZ4F_isError(n));
  other.resize(n);
  CodecResult r = decompress(Compression::lz4, other, in.size());
  REQUIRE(r.ok());
  CHECK(r.data == in);
  // Two frames back to back.
  Bytes two = packed;
  two.insert(two.end(), packed.begin(), packed.end());
  r = decompress(Compression::lz4, two, 2 * in.size());
  REQUIRE(r.ok());
  CHECK(r.data.size() == 2 * in.size());
  // A damaged content checksum is caught.
  other[other.size() - 1] ^= 1;
  CHECK(decompress(Compression::lz4, other, in.size()).error == CodecError::corrupt);
}

TEST_CASE("compression: zstd frames without a content size") {
  Bytes in = compressible(300000, 8);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  REQUIRE(cctx != nullptr);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  Bytes out(ZSTD_compressBound(in.size()) + 64);
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t rc = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
  REQUIRE(rc == 0);
  out.resize(ob.pos);
  CHECK(ZSTD_getFrameContentSize(out.data(), out.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
  CodecResult r = decompress(Compression::zstd, out, in.size());
  REQUIRE(r.ok());
  CHECK(r.data == in);
  CHECK(decompress(Compression::zstd, out, in.size() - 1).error == CodecError::too_large);
  // Trailing garbage after the frame is corrupt input.
  out.push_back(0x42);
  CHECK(decompress(Compression::zstd, out, in.size()).error == CodecError::corrupt);
}

TEST_CASE("compression: gzip streams") {
  Bytes in = compressible(70000, 2);
  Bytes packed = compressed(Compression::gzip, in);
  CHECK(packed[0] == 0x1f);
  CHECK(packed[1] == 0x8b);
  // Concatenated members decode to the concatenation.
  Bytes two = packed;
  two.insert(two.end(), packed.begin(), packed.end());
  CodecResult r = decompress(Compression::gzip, two, 2 * in.size());
  REQUIRE(r.ok());
  CHECK(r.data.size() == 2 * in.size());
  // Trailing bytes that are not a gzip member are refused.
  Bytes trailing = packed;
  trailing.push_back(0);
  CHECK(decompress(Compression::gzip, trailing, in.size()).error == CodecError::corrupt);
  // A damaged CRC32 trailer is caught.
  Bytes bad = packed;
  bad[bad.size() - 5] ^= 0x10;
  CHECK(decompress(Compression::gzip, bad, in.size()).error == CodecError::corrupt);
}

// RecordScanner: the one validating pass over a producer's batch (record_scanner.h).
#include <doctest/doctest.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/record/record_batch.h"
#include "core/record/record_scanner.h"
#include "core/record/stream_decompressor.h"
#include "core/util/big_endian.h"

using namespace kfk::record;
using kfk::protocol::ErrorCode;

namespace {

constexpr Compression kCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                   Compression::lz4, Compression::zstd};

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Writes records field by field, so that tests can make any of them lie.
struct RecordsWriter {
  Bytes out;

  static void zigzag(Bytes& b, int64_t v) {
    auto u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (u >= 0x80) {
      b.push_back(static_cast<uint8_t>(u | 0x80));
      u >>= 7;
    }
    b.push_back(static_cast<uint8_t>(u));
  }
  // A record's body: attributes, timestampDelta, offsetDelta, key, value, headers.
  static Bytes body(int32_t offset_delta, std::string_view key, std::string_view value,
                    int32_t header_count = 0, const Bytes& headers = {}) {
    Bytes b;
    b.push_back(0);
    zigzag(b, 0);
    zigzag(b, offset_delta);
    zigzag(b, static_cast<int64_t>(key.size()));
    b.insert(b.end(), key.begin(), key.end());
    zigzag(b, static_cast<int64_t>(value.size()));
    b.insert(b.end(), value.begin(), value.end());
    zigzag(b, header_count);
    b.insert(b.end(), headers.begin(), headers.end());
    return b;
  }
  // Appends a record whose length field says `length` (its true length by default).
  RecordsWriter& add(const Bytes& record_body, int64_t length = -2) {
    zigzag(out, length == -2 ? static_cast<int64_t>(record_body.size()) : length);
    out.insert(out.end(), record_body.begin(), record_body.end());
    return *this;
  }
  RecordsWriter& add(int32_t offset_delta, std::string_view key = "k",
                     std::string_view value = "v") {
    return add(body(offset_delta, key, value));
  }
};

// A batch around a records section (compressed here with `codec`), with a correct CRC.
Bytes batch_of(const Bytes& records, int32_t count, int32_t last_delta,
               Compression codec = Compression::none) {
  Bytes section = records;
  if (codec != Compression::none) {
    CodecResult r = compress(codec, records);
    REQUIRE(r.ok());
    section = std::move(r.data);
  }
  BatchOptions o;
  Bytes b = build_batch(o, {});  // a valid empty header to patch
  b.resize(kBatchHeaderSize);
  b.insert(b.end(), section.begin(), section.end());
  uint8_t* h = b.data();
  kfk::store_be<uint32_t>(h + batch_pos::batch_length,
                          static_cast<uint32_t>(b.size() - kLogOverhead));
  kfk::store_be<uint16_t>(h + batch_pos::attributes, static_cast<uint16_t>(codec));
  kfk::store_be<uint32_t>(h + batch_pos::last_offset_delta, static_cast<uint32_t>(last_delta));
  kfk::store_be<int64_t>(h + batch_pos::base_timestamp, 1000);
  kfk::store_be<int64_t>(h + batch_pos::max_timestamp, 1000);
  kfk::store_be<uint32_t>(h + batch_pos::records_count, static_cast<uint32_t>(count));
  MutableBatchView(b).update_crc();
  return b;
}

ScanOptions client_options() {
  ScanOptions o;
  o.header.client_rules = true;
  return o;
}

BatchError scan(const Bytes& batch, const ScanOptions& options = client_options()) {
  RecordScanner scanner;
  return scanner.scan(BatchView(batch), options);
}

struct Collect final : RecordVisitor {
  std::vector<Record> records;
  bool on_record(int32_t index, const RecordView& r) override {
    CHECK(index == static_cast<int32_t>(records.size()));
    records.push_back(to_record(r));
    return true;
  }
};

}  // namespace

TEST_CASE("record validation: well-formed batches in every codec pass, every record visited") {
  std::vector<Record> rs;
  for (int i = 0; i < 300; ++i) {
    Record r;
    r.timestamp = 1'700'000'000'000 + i;
    if (i % 3) r.key = bytes("key-" + std::to_string(i));
    r.value = Bytes(static_cast<size_t>(i * 37 % 5000), static_cast<uint8_t>(i));
    if (i % 5 == 0) r.headers = {{"h", bytes("x")}, {"null", std::nullopt}};
    rs.push_back(r);
  }
  ScanLimits small;
  small.chunk_bytes = 1024;  // records straddle chunks, some are larger than one
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    BatchOptions o;
    o.compression = c;
    const Bytes batch = build_batch(o, rs);
    RecordScanner scanner(small);
    Collect seen;
    ScanOptions options = client_options();
    options.collect_headers = true;
    BatchError e = scanner.scan(BatchView(batch), options, &seen);
    REQUIRE_MESSAGE(e.ok(), e.message());
    REQUIRE(seen.records.size() == rs.size());
    for (size_t i = 0; i < rs.size(); ++i) {
      CHECK(seen.records[i].key == rs[i].key);
      CHECK(seen.records[i].value == rs[i].value);
      CHECK(seen.records[i].headers == rs[i].headers);
      CHECK(seen.records[i].timestamp == rs[i].timestamp);
      CHECK(seen.records[i].offset == static_cast<int64_t>(i));
    }
    // Reused for a second batch.
    Collect again;
    CHECK(scanner.scan(BatchView(batch), options, &again).ok());
    CHECK(again.records.size() == rs.size());
  }
}

TEST_CASE("record validation: a record length that lies is INVALID_RECORD in every codec") {
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    SUBCASE("longer than what follows") {
      RecordsWriter w;
      w.add(0).add(RecordsWriter::body(1, "k", "v"), 200);
      BatchError e = scan(batch_of(w.out, 2, 1, c));
      CHECK(e.kind == BatchErrorKind::invalid_record);
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(e.record_index == 1);
      CHECK(std::string(e.field) == "record length");
    }
    SUBCASE("shorter than the record: the next record starts inside it") {
      RecordsWriter w;
      w.add(RecordsWriter::body(0, "key", "value"), 4).add(1);
      BatchError e = scan(batch_of(w.out, 2, 1, c));
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(e.record_index == 0);
    }
    SUBCASE("negative") {
      RecordsWriter w;
      w.add(RecordsWriter::body(0, "k", "v"), -5);
      CHECK(scan(batch_of(w.out, 1, 0, c)).kafka_error_code() == ErrorCode::invalid_record);
    }
    SUBCASE("a varint longer than five bytes") {
      Bytes records(6, 0xff);
      records.push_back(0x01);
      records.resize(40, 0);
      BatchError e = scan(batch_of(records, 1, 0, c));
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(e.detail.find("varint") != std::string::npos);
    }
  }
}

TEST_CASE("record validation: the count, offset deltas and trailing bytes") {
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    RecordsWriter two;
    two.add(0).add(1);
    SUBCASE("fewer records than the header counts") {
      BatchError e = scan(batch_of(two.out, 3, 2, c));
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(std::string(e.field) == "recordsCount");
      // Uncompressed, the header check sees that three records cannot fit.
      if (c != Compression::none) CHECK(e.record_index == 2);
    }
    SUBCASE("more records than the header counts") {
      BatchError e = scan(batch_of(two.out, 1, 0, c));
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(e.detail.find("after the last") != std::string::npos);
    }
    SUBCASE("offset deltas not 0..n-1") {
      RecordsWriter gap;
      gap.add(0).add(2);
      BatchError e = scan(batch_of(gap.out, 2, 1, c));
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(std::string(e.field) == "offsetDelta");
      CHECK(e.record_index == 1);
      RecordsWriter backwards;
      backwards.add(1).add(0);
      CHECK(scan(batch_of(backwards.out, 2, 1, c)).record_index == 0);
    }
    SUBCASE("lastOffsetDelta inconsistent with the count") {
      CHECK(scan(batch_of(two.out, 2, 5, c)).kafka_error_code() == ErrorCode::invalid_record);
    }
    SUBCASE("offset gaps are allowed where the broker wrote them (compaction)") {
      RecordsWriter gap;
      gap.add(0).add(4);
      ScanOptions broker;
      CHECK(scan(batch_of(gap.out, 2, 4, c), broker).ok());
      CHECK(!scan(batch_of(gap.out, 2, 3, c), broker).ok());
    }
    SUBCASE("bytes left inside a record") {
      Bytes body = RecordsWriter::body(0, "k", "v");
      body.push_back(0);
      RecordsWriter w;
      w.add(body);
      BatchError e = scan(batch_of(w.out, 1, 0, c));
      CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
      CHECK(std::string(e.field) == "record length");
    }
  }
}

TEST_CASE("record validation: key, value and header lengths") {
  const auto one = [](const Bytes& body) {
    RecordsWriter w;
    w.add(body);
    return scan(batch_of(w.out, 1, 0));
  };
  Bytes header;  // key "h", value "x"
  RecordsWriter::zigzag(header, 1);
  header.push_back('h');
  RecordsWriter::zigzag(header, 1);
  header.push_back('x');
  CHECK(one(RecordsWriter::body(0, "k", "v", 1, header)).ok());
  SUBCASE("two headers announced, one present") {
    BatchError e = one(RecordsWriter::body(0, "k", "v", 2, header));
    CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
  }
  SUBCASE("a negative header count") {
    CHECK(one(RecordsWriter::body(0, "k", "v", -1)).kafka_error_code() ==
          ErrorCode::invalid_record);
  }
  SUBCASE("a header cut inside its value") {
    Bytes cut = header;
    cut.pop_back();
    BatchError e = one(RecordsWriter::body(0, "k", "v", 1, cut));
    CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
  }
  SUBCASE("a negative header key length") {
    Bytes bad;
    RecordsWriter::zigzag(bad, -1);
    RecordsWriter::zigzag(bad, -1);
    BatchError e = one(RecordsWriter::body(0, "k", "v", 1, bad));
    CHECK(std::string(e.field) == "header key length");
  }
  SUBCASE("a key length below -1") {
    Bytes b = {0, 0, 0};
    RecordsWriter::zigzag(b, -7);
    RecordsWriter::zigzag(b, -1);
    RecordsWriter::zigzag(b, 0);
    BatchError e = one(b);
    CHECK(std::string(e.field) == "key");
  }
  SUBCASE("a value length past the record") {
    Bytes b = {0, 0, 0};
    RecordsWriter::zigzag(b, -1);
    RecordsWriter::zigzag(b, 100);
    RecordsWriter::zigzag(b, 0);
    BatchError e = one(b);
    CHECK(std::string(e.field) == "value");
  }
}

TEST_CASE("record validation: garbage under each codec is CORRUPT_MESSAGE") {
  std::mt19937 rng(7);
  for (Compression c : kCodecs) {
    if (c == Compression::none) continue;
    CAPTURE(to_string(c));
    for (size_t size : {1, 40, 5000}) {
      Bytes junk(size);
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      BatchError e = scan(batch_of(junk, 1, 0, Compression::none), client_options());
      // The same bytes flagged with the codec.
      Bytes flagged = batch_of(junk, 1, 0);
      flagged[batch_pos::attributes + 1] = static_cast<uint8_t>(c);
      MutableBatchView(flagged).update_crc();
      e = scan(flagged);
      CHECK(e.kafka_error_code() == ErrorCode::corrupt_message);
      CHECK(e.kind == BatchErrorKind::decompression_failed);
    }
    // A valid stream cut short.
    RecordsWriter w;
    for (int i = 0; i < 50; ++i) w.add(i, "key", std::string(100, 'v'));
    Bytes whole = batch_of(w.out, 50, 49, c);
    REQUIRE(scan(whole).ok());
    Bytes cut(whole.begin(), whole.end() - 6);
    Bytes cut_batch = batch_of({}, 50, 49);
    cut_batch.resize(kBatchHeaderSize);
    cut_batch.insert(cut_batch.end(), cut.begin() + kBatchHeaderSize, cut.end());
    cut_batch[batch_pos::attributes + 1] = static_cast<uint8_t>(c);
    kfk::store_be<uint32_t>(cut_batch.data() + batch_pos::batch_length,
                            static_cast<uint32_t>(cut_batch.size() - 12));
    MutableBatchView(cut_batch).update_crc();
    CHECK(scan(cut_batch).kafka_error_code() == ErrorCode::corrupt_message);
  }
}

TEST_CASE("record validation: a valid compressed stream of garbage records is INVALID_RECORD") {
  std::mt19937 rng(11);
  for (Compression c : kCodecs) {
    if (c == Compression::none) continue;
    CAPTURE(to_string(c));
    Bytes junk(3000);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    BatchError e = scan(batch_of(junk, 10, 9, c));
    CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
  }
}

TEST_CASE("record validation: a 1 GiB zstd bomb is refused within a fixed amount of memory") {
  // 1 GiB of zeros, compressed as a stream (about 32 KiB), behind a header counting one
  // record: the scanner must refuse it without holding more than its window.
  constexpr size_t kBombBytes = size_t{1} << 30;
  Bytes bomb;
  {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    REQUIRE(cctx != nullptr);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
    const Bytes zeros(size_t{1} << 20, 0);
    Bytes out(ZSTD_CStreamOutSize());
    for (size_t done = 0; done < kBombBytes; done += zeros.size()) {
      const bool last = done + zeros.size() == kBombBytes;
      ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
      size_t rc = 0;
      do {
        ZSTD_outBuffer o{out.data(), out.size(), 0};
        rc = ZSTD_compressStream2(cctx, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        REQUIRE(!ZSTD_isError(rc));
        bomb.insert(bomb.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(o.pos));
      } while (last ? rc != 0 : in.pos < in.size);
    }
    ZSTD_freeCCtx(cctx);
  }
  CHECK(bomb.size() < 64 * 1024);

  const auto bomb_batch = [&](const Bytes& prefix) {
    Bytes section = bomb;
    Bytes b = batch_of({}, 1, 0);
    b.resize(kBatchHeaderSize);
    (void)prefix;
    b.insert(b.end(), section.begin(), section.end());
    kfk::store_be<uint32_t>(b.data() + batch_pos::batch_length,
                            static_cast<uint32_t>(b.size() - kLogOverhead));
    b[batch_pos::attributes + 1] = static_cast<uint8_t>(Compression::zstd);
    MutableBatchView(b).update_crc();
    return b;
  };
  RecordScanner scanner;
  const Bytes batch = bomb_batch({});
  BatchError e = scanner.scan(BatchView(batch), client_options());
  CHECK(e.kafka_error_code() == ErrorCode::invalid_record);  // a zero-length record
  CHECK(scanner.peak_window_bytes() <= scanner.limits().chunk_bytes);
  CHECK(scanner.codec_memory_bytes() <= (size_t{1} << kStreamZstdWindowLogMax) + (4 << 20));

  // A bomb whose one record claims to be 1 GiB long: refused at its length, before the window
  // grows.
  Bytes lying;
  RecordsWriter::zigzag(lying, static_cast<int64_t>(kBombBytes) - 8);
  Bytes big = lying;
  big.resize(size_t{16} << 20, 0);  // 16 MiB, well past the 8 MiB record limit
  RecordScanner scanner2;
  BatchError e2 =
      scanner2.scan(BatchView(batch_of(big, 1, 0, Compression::zstd)), client_options());
  CHECK(e2.kind == BatchErrorKind::too_large);
  CHECK(scanner2.peak_window_bytes() <= scanner2.limits().chunk_bytes);
}

TEST_CASE("record validation: a record larger than the window grows it only to the record") {
  Record r;
  r.value = Bytes(300'000, 'x');
  BatchOptions o;
  o.compression = Compression::lz4;
  const Bytes batch = build_batch(o, std::vector<Record>{r});
  RecordScanner scanner;
  CHECK(scanner.scan(BatchView(batch), client_options()).ok());
  CHECK(scanner.peak_window_bytes() >= 300'000);
  CHECK(scanner.peak_window_bytes() < 300'000 + scanner.limits().chunk_bytes);
  ScanLimits tight;
  tight.max_record_bytes = 100'000;
  RecordScanner limited(tight);
  BatchError e = limited.scan(BatchView(batch), client_options());
  CHECK(e.kind == BatchErrorKind::too_large);
  CHECK(limited.peak_window_bytes() <= tight.chunk_bytes);
}

TEST_CASE("record validation: the header rules come first (CRC, client rules)") {
  RecordsWriter w;
  w.add(0);
  Bytes b = batch_of(w.out, 1, 0);
  b[b.size() - 1] ^= 1;
  CHECK(scan(b).kafka_error_code() == ErrorCode::corrupt_message);
  CHECK(scan(batch_of(w.out, 0, 0)).kafka_error_code() == ErrorCode::invalid_record);
}

TEST_CASE("stream decompressor: reads in small pieces equal one-shot decompression") {
  Bytes data;
  for (int i = 0; i < 200'000; ++i) data.push_back(static_cast<uint8_t>(i * 7 % 251));
  for (Compression c : kCodecs) {
    if (c == Compression::none) continue;
    CAPTURE(to_string(c));
    CodecResult packed = compress(c, data);
    REQUIRE(packed.ok());
    StreamDecompressor d;
    for (int round = 0; round < 2; ++round) {
      d.start(c, packed.data, size_t{1} << 20);
      Bytes out;
      Bytes piece(777);
      while (size_t n = d.read(piece)) out.insert(out.end(), piece.begin(), piece.begin() + n);
      CHECK(d.ok());
      CHECK(d.at_end());
      CHECK(out == data);
    }
  }
  // A snappy block declaring more than the limit is refused before it is decoded.
  StreamDecompressor d;
  d.start(Compression::snappy, snappy_compress_raw(data), 1000);
  Bytes piece(100);
  CHECK(d.read(piece) == 0);
  CHECK(d.error() == CodecError::too_large);
}

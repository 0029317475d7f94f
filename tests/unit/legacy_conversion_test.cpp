#include "core/record/legacy_conversion.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/record/legacy_lz4.h"
#include "core/record/legacy_records.h"
#include "core/record/xxhash32.h"

using namespace kfk::record;
using kfk::protocol::ErrorCode;

namespace {

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes golden_set(int magic, const std::string& codec) {
  return read_file(std::string(KFK_TEST_DATA_DIR) + "/golden/records/kafka-python-v" +
                   std::to_string(magic) + "-" + codec + ".bin");
}

std::string legacy_value(int i) {
  std::string value;
  for (int k = 0; k < 10; ++k) value += "legacy-" + std::to_string(i) + " ";
  return value;
}

// Every record of a buffer of legacy entries (or v2 batches), with the magic of each entry.
std::vector<Record> read_all(std::span<const uint8_t> buffer, std::vector<int>* magics = nullptr,
                             bool* partial = nullptr) {
  std::vector<Record> out;
  BatchIterator it(buffer);
  while (auto entry = it.next()) {
    if (magics) magics->push_back(entry->magic());
    DecodedRecords d;
    BatchError e = decode_any_records(*entry, d);
    INFO(e.message());
    REQUIRE(e.ok());
    for (const auto& r : d.records) out.push_back(to_record(r));
  }
  CHECK(it.error().ok());
  if (partial) *partial = it.has_partial_batch();
  return out;
}

Bytes wrapper(int8_t magic, Compression codec, const std::vector<Record>& inner,
              int64_t wrapper_offset, bool kafka_v0_lz4 = false) {
  Bytes set;
  int64_t max_ts = kNoTimestamp;
  for (const auto& r : inner) {
    auto key = r.key ? NullableBytes(std::span(*r.key)) : std::nullopt;
    auto value = r.value ? NullableBytes(std::span(*r.value)) : std::nullopt;
    append_legacy_entry(set, magic, r.offset, 0, r.timestamp, key, value);
    max_ts = std::max(max_ts, r.timestamp);
  }
  CodecResult c = compress(codec, set);
  REQUIRE(c.ok());
  if (kafka_v0_lz4) REQUIRE(lz4_set_kafka_v0_header_checksum(c.data));
  Bytes out;
  append_legacy_entry(out, magic, wrapper_offset, static_cast<uint8_t>(codec), max_ts, std::nullopt,
                      std::span(c.data));
  return out;
}

Bytes v2_batch(int64_t base_offset, Compression codec, int count, int64_t timestamp,
               TimestampType type = TimestampType::create_time, bool control = false) {
  BatchOptions o;
  o.base_offset = base_offset;
  o.compression = codec;
  o.timestamp_type = type;
  o.control = control;
  if (type == TimestampType::log_append_time) o.log_append_time = 5'000;
  BatchBuilder b(o);
  for (int i = 0; i < count; ++i) {
    const auto key = bytes("k" + std::to_string(base_offset + i));
    const auto value = bytes("v" + std::to_string(base_offset + i));
    const HeaderView header{"h", NullableBytes(std::span(value))};
    REQUIRE(b.append(timestamp + i, std::span(key), std::span(value), std::span(&header, 1)));
  }
  return b.build();
}

// The timestamps of the log in "v2 batches down to magic 1 and 0".
int64_t expected_timestamp(int64_t offset) {
  if (offset >= 19) return 5'000;  // the LogAppendTime batch
  if (offset >= 17) return 3000 + offset - 17;
  if (offset >= 14) return 2000 + offset - 14;
  return 1000 + offset - 10;
}

}  // namespace

TEST_CASE("legacy conversion: xxhash32 and the LZ4 frame header checksums") {
  CHECK(xxhash32({}) == 0x02CC5D05U);
  const Bytes abc = bytes("abc");
  CHECK(xxhash32(abc) == 0x32D153FFU);
  // liblz4 writes the standard checksum: setting it again changes nothing.
  CodecResult c = compress(Compression::lz4, bytes(legacy_value(1)));
  REQUIRE(c.ok());
  Bytes frame = c.data;
  REQUIRE(lz4_set_standard_header_checksum(frame));
  CHECK(frame == c.data);
  // Kafka 0.8's checksum covers the magic too; liblz4 refuses it, the legacy reader not.
  REQUIRE(lz4_set_kafka_v0_header_checksum(frame));
  CHECK(frame != c.data);
  CHECK_FALSE(decompress(Compression::lz4, frame, 1 << 20).ok());
  Bytes not_a_frame = bytes("nope");
  CHECK_FALSE(lz4_set_standard_header_checksum(not_a_frame));
}

TEST_CASE("legacy conversion: kafka-python's message sets become one v2 batch") {
  for (int magic : {0, 1}) {
    for (const char* codec : {"none", "gzip", "snappy", "lz4"}) {
      if (magic == 0 && std::string(codec) == "lz4") continue;
      CAPTURE(magic);
      CAPTURE(codec);
      UpConversion up = up_convert_message_set(golden_set(magic, codec));
      INFO(up.error.message());
      REQUIRE(up.error.ok());
      BatchView batch(up.batch);
      CHECK(batch.validate().ok());
      CHECK(to_string(batch.compression()) == codec);
      CHECK(batch.timestamp_type() == TimestampType::create_time);
      CHECK_FALSE(batch.has_producer_id());
      const auto got = read_all(up.batch);
      REQUIRE(got.size() == 5);
      for (int i = 0; i < 5; ++i) {
        const Record& r = got[static_cast<size_t>(i)];
        CHECK(r.offset == i);
        CHECK(r.timestamp == (magic == 0 ? kNoTimestamp : 1700000000000 + i));
        CHECK(r.key == bytes("k" + std::to_string(i)));
        if (i == 2)
          CHECK_FALSE(r.value);
        else
          CHECK(r.value == bytes(legacy_value(i)));
      }
    }
  }
}

TEST_CASE("legacy conversion: magic 0 lz4 with Kafka 0.8's header checksum") {
  std::vector<Record> inner;
  for (int i = 0; i < 3; ++i)
    inner.push_back(Record{i, kNoTimestamp, bytes("k"), bytes(legacy_value(i)), {}});
  for (bool broken : {true, false}) {
    CAPTURE(broken);
    UpConversion up = up_convert_message_set(wrapper(0, Compression::lz4, inner, 2, broken));
    INFO(up.error.message());
    REQUIRE(up.error.ok());
    const auto got = read_all(up.batch);
    REQUIRE(got.size() == 3);
    CHECK(got[2].value == bytes(legacy_value(2)));
    CHECK(BatchView(up.batch).compression() == Compression::lz4);
  }
}

TEST_CASE("legacy conversion: several entries, the last codec wins, and errors") {
  Bytes set;
  const Bytes k = bytes("key");
  const Bytes v = bytes("value");
  append_legacy_entry(set, 1, 0, 0, 1000, std::span(k), std::span(v));
  const Bytes gz = wrapper(1, Compression::gzip,
                           {Record{0, 2000, std::nullopt, bytes("a"), {}},
                            Record{1, 2001, std::nullopt, bytes("b"), {}}},
                           7);
  set.insert(set.end(), gz.begin(), gz.end());
  UpConversion up = up_convert_message_set(set);
  REQUIRE(up.error.ok());
  CHECK(BatchView(up.batch).compression() == Compression::gzip);
  auto got = read_all(up.batch);
  REQUIRE(got.size() == 3);
  CHECK(got[0].timestamp == 1000);
  CHECK(got[2].offset == 2);
  CHECK(got[2].timestamp == 2001);
  CHECK(BatchView(up.batch).max_timestamp() == 2001);

  SUBCASE("a wrong CRC32 is CORRUPT_MESSAGE") {
    Bytes bad = set;
    bad[12] ^= 0x01;
    UpConversion e = up_convert_message_set(bad);
    CHECK(e.error.kind == BatchErrorKind::crc_mismatch);
    CHECK(e.error.kafka_error_code() == ErrorCode::corrupt_message);
  }
  SUBCASE("a cut message set is CORRUPT_MESSAGE") {
    Bytes cut(set.begin(), set.end() - 3);
    CHECK(up_convert_message_set(cut).error.kafka_error_code() == ErrorCode::corrupt_message);
  }
  SUBCASE("LogAppendTime from a producer is INVALID_TIMESTAMP") {
    Bytes lat;
    append_legacy_entry(lat, 1, 0, 0x08, 1000, std::span(k), std::span(v));
    CHECK(up_convert_message_set(lat).error.kafka_error_code() == ErrorCode::invalid_timestamp);
  }
  SUBCASE("a v2 batch among legacy entries is INVALID_RECORD") {
    Bytes mixed = set;
    const Bytes b = v2_batch(0, Compression::none, 1, 1000);
    mixed.insert(mixed.end(), b.begin(), b.end());
    CHECK(up_convert_message_set(mixed).error.kafka_error_code() == ErrorCode::invalid_record);
  }
  SUBCASE("nested compression is INVALID_RECORD") {
    Bytes inner_set = wrapper(1, Compression::gzip, {Record{0, 1, std::nullopt, v, {}}}, 0);
    CodecResult c = compress(Compression::gzip, inner_set);
    Bytes nested;
    append_legacy_entry(nested, 1, 0, 1, 1, std::nullopt, std::span(c.data));
    CHECK(up_convert_message_set(nested).error.kafka_error_code() == ErrorCode::invalid_record);
  }
  SUBCASE("a decompression bomb is refused within the cap") {
    DecodeOptions small;
    small.max_uncompressed_bytes = 40;
    CHECK(up_convert_message_set(set, small).error.kafka_error_code() ==
          ErrorCode::message_too_large);
  }
}

TEST_CASE("legacy conversion: v2 batches down to magic 1 and 0") {
  Bytes log;
  for (const Bytes& b :
       {v2_batch(10, Compression::none, 3, 1000),
        v2_batch(13, Compression::none, 1, 0, TimestampType::create_time, true),
        v2_batch(14, Compression::gzip, 3, 2000), v2_batch(17, Compression::snappy, 2, 3000),
        v2_batch(19, Compression::lz4, 2, 4000, TimestampType::log_append_time)})
    log.insert(log.end(), b.begin(), b.end());
  for (int8_t magic : {int8_t{1}, int8_t{0}}) {
    CAPTURE(magic);
    DownConversionOptions o;
    o.magic = magic;
    o.first_offset = 11;
    o.max_bytes = 1 << 20;
    DownConversion d = down_convert_batches(log, o);
    INFO(d.error.message());
    REQUIRE(d.error.ok());
    std::vector<int> magics;
    const auto got = read_all(d.message_set, &magics);
    // 2 plain messages, then one wrapper per compressed batch; the control batch is gone.
    CHECK(magics == std::vector<int>(5, magic));
    REQUIRE(got.size() == 9);
    const int64_t expected_offsets[] = {11, 12, 14, 15, 16, 17, 18, 19, 20};
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      const int64_t offset = expected_offsets[i];
      CHECK(got[i].offset == offset);
      CHECK(got[i].key == bytes("k" + std::to_string(offset)));
      CHECK(got[i].value == bytes("v" + std::to_string(offset)));
      CHECK(got[i].headers.empty());
      CHECK(got[i].timestamp == (magic == 0 ? kNoTimestamp : expected_timestamp(offset)));
    }
    // lz4 wrappers of magic 0 carry Kafka 0.8's header checksum, which liblz4 refuses.
    BatchIterator it(d.message_set);
    std::optional<BatchView> last;
    while (auto e = it.next()) last = e;
    REQUIRE(last);
    const auto wrapper_bytes = last->bytes();
    const size_t value_pos = kLogOverhead + 4 + 2 + (magic == 1 ? 8 : 0) + 4 + 4;
    const auto frame = wrapper_bytes.subspan(value_pos);
    CHECK(decompress(Compression::lz4, frame, 1 << 20).ok() == (magic == 1));
  }
}

TEST_CASE("legacy conversion: down conversion keeps within max_bytes") {
  Bytes log;
  for (int i = 0; i < 20; ++i) {
    const Bytes b = v2_batch(i * 5, Compression::none, 5, 1000);
    log.insert(log.end(), b.begin(), b.end());
  }
  DownConversionOptions o;
  o.magic = 1;
  o.max_bytes = 1 << 20;
  const Bytes all = down_convert_batches(log, o).message_set;
  REQUIRE(read_all(all).size() == 100);
  // Where each entry ends in the whole conversion.
  std::vector<size_t> ends;
  BatchIterator it(all);
  while (it.next()) ends.push_back(it.position());
  REQUIRE(ends.size() == 100);
  o.max_bytes = ends[6] + (ends[7] - ends[6]) / 2;
  DownConversion d = down_convert_batches(log, o);
  CHECK(d.message_set.size() == ends[6]);
  CHECK(read_all(d.message_set).size() == 7);
  o.max_bytes = ends[6];
  CHECK(down_convert_batches(log, o).message_set.size() == ends[6]);
  // A first message larger than the limit: cut (Fetch v0-2) or whole (v3).
  const size_t entry = ends[0];
  o.max_bytes = entry / 2;
  bool partial = false;
  d = down_convert_batches(log, o);
  CHECK(d.message_set.size() == entry / 2);
  CHECK(read_all(d.message_set, nullptr, &partial).empty());
  CHECK(partial);
  o.allow_oversized_first = true;
  d = down_convert_batches(log, o);
  CHECK(read_all(d.message_set).size() == 1);
}

TEST_CASE("legacy conversion: zstd cannot be down-converted") {
  Bytes log = v2_batch(0, Compression::none, 2, 1000);
  const Bytes z = v2_batch(2, Compression::zstd, 2, 1000);
  log.insert(log.end(), z.begin(), z.end());
  DownConversionOptions o;
  o.max_bytes = 1 << 20;
  DownConversion d = down_convert_batches(log, o);
  REQUIRE(d.error.ok());  // the records before it are served
  CHECK(read_all(d.message_set).size() == 2);
  o.first_offset = 2;
  d = down_convert_batches(log, o);
  CHECK(d.error.kafka_error_code() == ErrorCode::unsupported_compression_type);
}

TEST_CASE("legacy conversion: up and down again keeps every record") {
  for (const char* codec : {"none", "gzip", "snappy", "lz4"}) {
    CAPTURE(codec);
    UpConversion up = up_convert_message_set(golden_set(1, codec));
    REQUIRE(up.error.ok());
    DownConversionOptions o;
    o.max_bytes = 1 << 20;
    DownConversion d = down_convert_batches(up.batch, o);
    REQUIRE(d.error.ok());
    const auto original = read_all(golden_set(1, codec));
    const auto again = read_all(d.message_set);
    CHECK(again == original);
  }
}

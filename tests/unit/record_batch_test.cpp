#include "core/record/record_batch.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/record/control_record.h"
#include "core/record/crc32c.h"
#include "core/record/legacy_records.h"
#include "core/util/big_endian.h"

using namespace kfk::record;
using kfk::protocol::ErrorCode;

namespace {

constexpr Compression kCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                   Compression::lz4, Compression::zstd};

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string str(const NullableBytes& b) {
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : "<null>";
}

// The tiny batch below, written out from the layout rules. Its CRC was computed with an
// independent CRC32C implementation (kafka-python's pure Python one).
const Bytes kTinyBatch = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // baseOffset 5
                          0x00, 0x00, 0x00, 0x45,                          // batchLength 69
                          0x00, 0x00, 0x00, 0x07,                          // partitionLeaderEpoch 7
                          0x02,                                            // magic
                          0x49, 0x14, 0x18, 0x93,                          // crc
                          0x00, 0x00,                                      // attributes
                          0x00, 0x00, 0x00, 0x01,                          // lastOffsetDelta 1
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // baseTimestamp 1000
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xeb,  // maxTimestamp 1003
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producerId -1
                          0xff, 0xff,                                      // producerEpoch -1
                          0xff, 0xff, 0xff, 0xff,                          // baseSequence -1
                          0x00, 0x00, 0x00, 0x02,                          // records count 2
                          // record 0: length 8, attributes, timestampDelta 0, offsetDelta 0, key
                          // "k", value "v", no headers
                          0x10, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x00,
                          // record 1: length 10, attributes, timestampDelta 3, offsetDelta 1, key
                          // null, value "", one header "h" = "x"
                          0x14, 0x00, 0x06, 0x02, 0x01, 0x00, 0x02, 0x02, 0x68, 0x02, 0x78};

std::vector<Record> sample_records() {
  std::vector<Record> rs;
  Record a;
  a.timestamp = 1700000000000;
  a.key = bytes("key-a");
  a.value = bytes("value-a");
  a.headers = {{"trace", bytes("abc")}, {"empty", Bytes{}}, {"null", std::nullopt}};
  rs.push_back(a);
  Record b;  // null key and value
  b.timestamp = 1700000000005;
  rs.push_back(b);
  Record c;  // empty key and value, earlier timestamp
  c.timestamp = 1699999999990;
  c.key = Bytes{};
  c.value = Bytes{};
  rs.push_back(c);
  Record d;  // large value
  d.timestamp = 1700000000001;
  d.key = bytes("big");
  d.value = Bytes(300000);
  for (size_t i = 0; i < d.value->size(); ++i)
    (*d.value)[i] = static_cast<uint8_t>(i * 7 + i / 1000);
  rs.push_back(d);
  Record e;  // many headers, one with a long key
  e.timestamp = 1700000000002;
  e.value = bytes("v");
  for (int i = 0; i < 50; ++i)
    e.headers.push_back({std::string(i * 5, 'h'), bytes(std::to_string(i))});
  rs.push_back(e);
  return rs;
}

DecodedRecords decode_ok(const Bytes& batch, size_t cap = size_t{64} << 20) {
  DecodedRecords out;
  DecodeOptions o;
  o.max_uncompressed_bytes = cap;
  BatchError e = decode_records(BatchView(batch), out, o);
  INFO(e.message());
  REQUIRE(e.ok());
  return out;
}

// Builds a batch around hand-written record bytes (for cases the builder refuses to make).
Bytes raw_batch(const Bytes& records, int32_t count, int32_t last_delta, uint16_t attrs = 0,
                int64_t producer_id = -1) {
  Bytes b(kBatchHeaderSize, 0);
  b.insert(b.end(), records.begin(), records.end());
  uint8_t* h = b.data();
  kfk::store_be<uint32_t>(h + batch_pos::batch_length,
                          static_cast<uint32_t>(b.size() - kLogOverhead));
  b[batch_pos::magic] = 2;
  kfk::store_be<uint16_t>(h + batch_pos::attributes, attrs);
  kfk::store_be<int32_t>(h + batch_pos::last_offset_delta, last_delta);
  kfk::store_be<int64_t>(h + batch_pos::producer_id, producer_id);
  kfk::store_be<int16_t>(h + batch_pos::producer_epoch, -1);
  kfk::store_be<int32_t>(h + batch_pos::base_sequence, -1);
  kfk::store_be<int32_t>(h + batch_pos::records_count, count);
  MutableBatchView(b).update_crc();
  return b;
}

// A record with a null key, the given value (under 58 bytes) and no headers.
Bytes raw_record(uint8_t offset_delta_zigzag, std::string_view value = "v") {
  Bytes body = {0x00, 0x00, offset_delta_zigzag, 0x01, static_cast<uint8_t>(2 * value.size())};
  body.insert(body.end(), value.begin(), value.end());
  body.push_back(0x00);
  Bytes rec = {static_cast<uint8_t>(2 * body.size())};
  rec.insert(rec.end(), body.begin(), body.end());
  return rec;
}

BatchError decode_error(const Bytes& batch, bool verify_crc = true) {
  DecodedRecords out;
  DecodeOptions o;
  o.verify_crc = verify_crc;
  return decode_records(BatchView(batch), out, o);
}

// Fills in the CRC32 of the single legacy entry in `entry`.
void set_legacy_crc(Bytes& entry) {
  auto crc =
      static_cast<uint32_t>(::crc32(0L, entry.data() + 16, static_cast<uInt>(entry.size() - 16)));
  kfk::store_be<uint32_t>(entry.data() + 12, crc);
}

Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("record batch: hand-made bytes decode, and the builder writes them exactly") {
  CHECK(kTinyBatch.size() == 81);
  BatchView v(kTinyBatch);
  REQUIRE(v.validate().ok());
  CHECK(v.base_offset() == 5);
  CHECK(v.batch_length() == 69);
  CHECK(v.partition_leader_epoch() == 7);
  CHECK(v.magic() == 2);
  CHECK(v.crc() == 0x49141893u);
  CHECK(v.compute_crc() == 0x49141893u);
  CHECK(v.compression() == Compression::none);
  CHECK(v.timestamp_type() == TimestampType::create_time);
  CHECK_FALSE(v.is_transactional());
  CHECK_FALSE(v.is_control());
  CHECK_FALSE(v.delete_horizon_ms());
  CHECK(v.last_offset_delta() == 1);
  CHECK(v.last_offset() == 6);
  CHECK(v.next_offset() == 7);
  CHECK(v.base_timestamp() == 1000);
  CHECK(v.max_timestamp() == 1003);
  CHECK(v.producer_id() == -1);
  CHECK(v.producer_epoch() == -1);
  CHECK(v.base_sequence() == -1);
  CHECK(v.records_count() == 2);

  DecodedRecords d = decode_ok(kTinyBatch);
  REQUIRE(d.records.size() == 2);
  CHECK(d.storage.empty());
  CHECK(d.records[0].offset == 5);
  CHECK(d.records[0].timestamp == 1000);
  CHECK(str(d.records[0].key) == "k");
  CHECK(str(d.records[0].value) == "v");
  CHECK(d.records[0].headers.empty());
  CHECK(d.records[1].offset == 6);
  CHECK(d.records[1].timestamp == 1003);
  CHECK_FALSE(d.records[1].key);
  REQUIRE(d.records[1].value);
  CHECK(d.records[1].value->empty());
  REQUIRE(d.records[1].headers.size() == 1);
  CHECK(d.records[1].headers[0].key == "h");
  CHECK(str(d.records[1].headers[0].value) == "x");

  BatchOptions o;
  o.base_offset = 5;
  o.partition_leader_epoch = 7;
  BatchBuilder b(o);
  REQUIRE(
      b.append(1000, std::span<const uint8_t>(bytes("k")), std::span<const uint8_t>(bytes("v"))));
  Bytes empty;
  Bytes x = bytes("x");
  HeaderView h{"h", std::span<const uint8_t>(x)};
  REQUIRE(b.append(1003, std::nullopt, std::span<const uint8_t>(empty),
                   std::span<const HeaderView>(&h, 1)));
  CHECK(b.records_count() == 2);
  CHECK(b.next_offset() == 7);
  CHECK(b.build() == kTinyBatch);
}

TEST_CASE(
    "record batch: round trip for every codec with nulls, empties, headers and large values") {
  const std::vector<Record> records = sample_records();
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    BatchOptions o;
    o.base_offset = 1000;
    o.partition_leader_epoch = 3;
    o.compression = c;
    o.producer_id = 4242;
    o.producer_epoch = 7;
    o.base_sequence = 17;
    o.transactional = true;
    Bytes batch = build_batch(o, records);
    BatchView v(batch);
    ValidateOptions client;
    client.client_rules = true;
    REQUIRE(v.validate(client).ok());
    CHECK(v.compression() == c);
    CHECK(v.is_transactional());
    CHECK(v.producer_id() == 4242);
    CHECK(v.producer_epoch() == 7);
    CHECK(v.base_sequence() == 17);
    CHECK(v.records_count() == 5);
    CHECK(v.last_offset_delta() == 4);
    CHECK(v.base_timestamp() == 1700000000000);
    CHECK(v.max_timestamp() == 1700000000005);
    if (c != Compression::none) CHECK(batch.size() < 100000);

    DecodedRecords d = decode_ok(batch);
    REQUIRE(d.records.size() == records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      Record expected = records[i];
      expected.offset = 1000 + static_cast<int64_t>(i);
      CHECK(to_record(d.records[i]) == expected);
    }
  }
}

TEST_CASE("record batch: LogAppendTime, delete horizon, offset gaps") {
  BatchOptions o;
  o.base_offset = 10;
  o.timestamp_type = TimestampType::log_append_time;
  o.log_append_time = 5555;
  o.delete_horizon_ms = 4000;
  BatchBuilder b(o);
  REQUIRE(b.append_with_offset(10, 100, std::nullopt, std::span<const uint8_t>(bytes("a"))));
  CHECK_FALSE(b.append_with_offset(10, 100, std::nullopt, std::nullopt));  // not increasing
  CHECK_FALSE(b.append_with_offset(9, 100, std::nullopt, std::nullopt));   // below base
  CHECK_FALSE(b.append_with_offset(10 + (int64_t{1} << 31), 100, std::nullopt, std::nullopt));
  REQUIRE(b.append_with_offset(15, 200, std::nullopt, std::span<const uint8_t>(bytes("b"))));
  REQUIRE(b.append(300, std::nullopt, std::span<const uint8_t>(bytes("c"))));
  Bytes batch = b.build();
  BatchView v(batch);
  REQUIRE(v.validate().ok());
  CHECK(v.timestamp_type() == TimestampType::log_append_time);
  CHECK(v.max_timestamp() == 5555);
  CHECK(v.delete_horizon_ms() == 4000);
  CHECK(v.last_offset_delta() == 6);
  CHECK(v.records_count() == 3);
  ValidateOptions client;
  client.client_rules = true;
  CHECK(v.validate(client).kind == BatchErrorKind::invalid_header);  // gaps: 3 records, range 7

  DecodedRecords d = decode_ok(batch);
  REQUIRE(d.records.size() == 3);
  CHECK(d.records[0].offset == 10);
  CHECK(d.records[1].offset == 15);
  CHECK(d.records[2].offset == 16);
  for (const auto& r : d.records) CHECK(r.timestamp == 5555);  // LogAppendTime wins

  // Without LogAppendTime the record timestamps come back, relative to the horizon.
  o.timestamp_type = TimestampType::create_time;
  Record r1;
  r1.timestamp = 100;
  Record r2;
  r2.timestamp = 90;
  std::vector<Record> rs = {r1, r2};
  Bytes batch2 = build_batch(o, rs);
  CHECK(BatchView(batch2).base_timestamp() == 4000);
  CHECK(BatchView(batch2).max_timestamp() == 100);
  DecodedRecords d2 = decode_ok(batch2);
  CHECK(d2.records[0].timestamp == 100);
  CHECK(d2.records[1].timestamp == 90);
}

TEST_CASE("record batch: an empty builder makes a valid empty batch") {
  Bytes batch = BatchBuilder(BatchOptions{}).build();
  CHECK(batch.size() == kBatchHeaderSize);
  BatchView v(batch);
  CHECK(v.validate().ok());
  CHECK(v.records_count() == 0);
  CHECK(v.max_timestamp() == kNoTimestamp);
  ValidateOptions client;
  client.client_rules = true;
  CHECK(v.validate(client).kind == BatchErrorKind::invalid_header);
  CHECK(decode_ok(batch).records.empty());
}

TEST_CASE("record batch: CRC corruption is detected") {
  Bytes batch = kTinyBatch;
  for (size_t pos = batch_pos::crc; pos < batch.size(); ++pos) {
    Bytes copy = batch;
    copy[pos] ^= 0x01;
    CAPTURE(pos);
    BatchError e = BatchView(copy).validate();
    CHECK(e.kind == BatchErrorKind::crc_mismatch);
    CHECK(e.kafka_error_code() == ErrorCode::corrupt_message);
    CHECK(decode_error(copy).kind == BatchErrorKind::crc_mismatch);
  }
  // baseOffset and partitionLeaderEpoch are outside the CRC.
  for (size_t pos : {size_t{0}, size_t{7}, size_t{12}, size_t{15}}) {
    Bytes copy = batch;
    copy[pos] ^= 0x40;
    CHECK(BatchView(copy).validate().ok());
  }
  // With verification off, the parse goes on.
  Bytes copy = batch;
  copy[batch_pos::crc] ^= 0xff;
  ValidateOptions no_crc;
  no_crc.verify_crc = false;
  CHECK(BatchView(copy).validate(no_crc).ok());
  CHECK(decode_error(copy, false).ok());
}

TEST_CASE("record batch: header checks") {
  SUBCASE("magic") {
    Bytes b = kTinyBatch;
    b[batch_pos::magic] = 3;
    CHECK(BatchView(b).validate().kind == BatchErrorKind::unsupported_magic);
    b[batch_pos::magic] = static_cast<uint8_t>(-1);
    CHECK(BatchView(b).validate().kind == BatchErrorKind::unsupported_magic);
  }
  SUBCASE("batchLength") {
    Bytes b = kTinyBatch;
    b[batch_pos::batch_length + 3] = 0x46;  // one more than present
    CHECK(BatchView(b).validate().kind == BatchErrorKind::truncated);
    b[batch_pos::batch_length + 3] = 0x44;  // one byte left over
    CHECK(BatchView(b).validate().kind == BatchErrorKind::invalid_length);
    b[batch_pos::batch_length + 3] = 0x10;  // below the header size
    CHECK(BatchView(b).validate().kind == BatchErrorKind::invalid_length);
    b[batch_pos::batch_length] = 0x80;  // negative
    CHECK(BatchView(b).validate().kind == BatchErrorKind::invalid_length);
  }
  SUBCASE("codec") {
    for (uint16_t codec : {5, 6, 7}) {
      Bytes b = raw_batch(raw_record(0), 1, 0, codec);
      BatchError e = BatchView(b).validate();
      CHECK(e.kind == BatchErrorKind::unsupported_codec);
      CHECK(e.kafka_error_code() == ErrorCode::unsupported_compression_type);
    }
  }
  SUBCASE("counts and offsets") {
    CHECK(BatchView(raw_batch(raw_record(0), -1, 0)).validate().kind ==
          BatchErrorKind::invalid_header);
    CHECK(BatchView(raw_batch(raw_record(0), 1, -1)).validate().kind ==
          BatchErrorKind::invalid_header);
    Bytes two = raw_record(0);
    Bytes second = raw_record(2);
    two.insert(two.end(), second.begin(), second.end());
    // Two records cannot span a single offset.
    CHECK(BatchView(raw_batch(two, 2, 0)).validate().kind == BatchErrorKind::invalid_header);
    // A count the bytes cannot hold is refused before any allocation.
    BatchError e = BatchView(raw_batch(raw_record(0), 1000000, 2000000)).validate();
    CHECK(e.kind == BatchErrorKind::invalid_header);
    CHECK(std::string(e.field) == "recordsCount");
    // Last offset past INT64_MAX.
    Bytes b = raw_batch(raw_record(0), 1, 5);
    MutableBatchView(b).set_base_offset(INT64_MAX - 2);
    CHECK(BatchView(b).validate().kind == BatchErrorKind::invalid_header);
  }
  SUBCASE("client rules") {
    ValidateOptions client;
    client.client_rules = true;
    BatchOptions o;
    o.producer_id = 5;
    o.producer_epoch = 0;
    Record r;
    r.value = bytes("x");
    std::vector<Record> rs = {r};
    Bytes b = build_batch(o, rs);
    CHECK(BatchView(b).validate().ok());
    BatchError e = BatchView(b).validate(client);
    CHECK(e.kind == BatchErrorKind::invalid_header);
    CHECK(std::string(e.field) == "baseSequence");
    o.base_sequence = 0;
    CHECK(BatchView(build_batch(o, rs)).validate(client).ok());
    o.timestamp_type = TimestampType::log_append_time;
    e = BatchView(build_batch(o, rs)).validate(client);
    CHECK(e.kind == BatchErrorKind::invalid_timestamp);
    CHECK(e.kafka_error_code() == ErrorCode::invalid_timestamp);
  }
}

TEST_CASE("record batch: record-level errors name the field") {
  SUBCASE("count larger than the records") {
    Bytes recs = raw_record(0, std::string(30, 'a'));
    Bytes more = raw_record(2, std::string(30, 'b'));
    recs.insert(recs.end(), more.begin(), more.end());
    BatchError e = decode_error(raw_batch(recs, 3, 2));
    CHECK(e.kind == BatchErrorKind::invalid_record);
    CHECK(e.record_index == 2);
  }
  SUBCASE("trailing bytes after the last record") {
    Bytes recs = raw_record(0);
    Bytes more = raw_record(2);
    recs.insert(recs.end(), more.begin(), more.end());
    BatchError e = decode_error(raw_batch(recs, 1, 1));
    CHECK(e.kind == BatchErrorKind::invalid_record);
    CHECK(std::string(e.field) == "records");
    CHECK(e.kafka_error_code() == ErrorCode::invalid_record);
  }
  SUBCASE("offset deltas must increase") {
    Bytes recs = raw_record(2);  // delta 1
    Bytes more = raw_record(2);  // delta 1 again
    recs.insert(recs.end(), more.begin(), more.end());
    BatchError e = decode_error(raw_batch(recs, 2, 3));
    CHECK(e.kind == BatchErrorKind::invalid_record);
    CHECK(std::string(e.field) == "offsetDelta");
    CHECK(e.record_index == 1);
  }
  SUBCASE("offset delta beyond lastOffsetDelta") {
    BatchError e = decode_error(raw_batch(raw_record(4), 1, 1));  // delta 2 > 1
    CHECK(std::string(e.field) == "offsetDelta");
  }
  SUBCASE("negative offset delta") {
    BatchError e = decode_error(raw_batch(raw_record(1), 1, 0));  // zigzag 1 = -1
    CHECK(std::string(e.field) == "offsetDelta");
  }
  SUBCASE("record length disagreeing with its fields") {
    Bytes rec = raw_record(0);
    rec[0] = 0x10;  // 8 instead of 7
    rec.push_back(0x00);
    BatchError e = decode_error(raw_batch(rec, 1, 0));
    CHECK(std::string(e.field) == "record length");
    rec = raw_record(0);
    rec[0] = 0x0c;  // 6: the headers count falls outside
    rec.pop_back();
    e = decode_error(raw_batch(rec, 1, 0));
    CHECK(e.kind == BatchErrorKind::invalid_record);
    CHECK(std::string(e.field) == "headersCount");
  }
  SUBCASE("bad lengths inside a record") {
    Bytes rec = {0x0e, 0x00, 0x00, 0x00, 0x03, 0x02, 'v', 0x00};  // key length -2
    CHECK(std::string(decode_error(raw_batch(rec, 1, 0)).field) == "key");
    rec = {0x0e, 0x00, 0x00, 0x00, 0x01, 0x06, 'v', 0x00};  // value longer than the record
    CHECK(std::string(decode_error(raw_batch(rec, 1, 0)).field) == "value");
    rec = {0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 'v', 0x01};  // headers count -1
    CHECK(std::string(decode_error(raw_batch(rec, 1, 0)).field) == "headersCount");
    rec = {0x12, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x00, 0x00};  // header key -1
    CHECK(std::string(decode_error(raw_batch(rec, 1, 0)).field) == "header key length");
    rec = {0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};  // varlong never ends
    BatchError e = decode_error(raw_batch(rec, 1, 0));
    CHECK(e.kind == BatchErrorKind::invalid_record);
    CHECK(std::string(e.field) == "timestampDelta");
    rec = {0x01, 0, 0, 0, 0, 0, 0};  // negative record length
    CHECK(std::string(decode_error(raw_batch(rec, 1, 0)).field) == "record length");
  }
}

TEST_CASE("record batch: truncation at every byte offset is an error, never a crash") {
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    BatchOptions o;
    o.compression = c;
    std::vector<Record> rs = sample_records();
    rs[3].value->resize(2000);
    Bytes batch = build_batch(o, rs);
    for (size_t cut = 0; cut < batch.size(); ++cut) {
      Bytes part(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(cut));
      BatchError e = BatchView(part).validate();
      REQUIRE_FALSE(e.ok());
      CHECK((e.kind == BatchErrorKind::truncated));
      DecodedRecords d;
      REQUIRE_FALSE(decode_records(BatchView(part), d).ok());
      BatchIterator it(part);
      CHECK_FALSE(it.next());
      CHECK(it.error().ok());
      CHECK(it.has_partial_batch() == (cut > 0));
    }
  }
}

TEST_CASE("record batch: bit-flip fuzz never crashes") {
  std::mt19937 rng(20240601);
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    BatchOptions o;
    o.compression = c;
    o.base_offset = 77;
    std::vector<Record> rs = sample_records();
    rs[3].value->resize(3000);
    const Bytes batch = build_batch(o, rs);
    int accepted = 0;
    for (int i = 0; i < 3000; ++i) {
      Bytes copy = batch;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        // Aim most flips at the header and the first records, where the structure is.
        size_t limit = (rng() % 2) ? std::min<size_t>(copy.size(), 200) : copy.size();
        copy[rng() % limit] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      // Half the time fix the CRC so the parser sees the damage.
      if (rng() % 2) MutableBatchView(copy).update_crc();
      DecodedRecords d;
      DecodeOptions opts;
      opts.max_uncompressed_bytes = 1 << 20;
      BatchError e = decode_records(BatchView(copy), d, opts);
      if (e.ok()) {
        ++accepted;
        CHECK(d.records.size() == static_cast<size_t>(BatchView(copy).records_count()));
      } else {
        CHECK_FALSE(e.message().empty());
      }
      BatchIterator it(copy);
      while (it.next()) {
      }
    }
    MESSAGE(to_string(c) << ": " << accepted << " of 3000 damaged batches still decoded");
  }
}

TEST_CASE("record batch: decompression bombs inside a batch are refused") {
  for (Compression c : kCodecs) {
    if (c == Compression::none) continue;
    CAPTURE(to_string(c));
    BatchOptions o;
    o.compression = c;
    Record r;
    r.value = Bytes(1 << 20, 0);
    std::vector<Record> rs = {r};
    Bytes batch = build_batch(o, rs);
    CHECK(batch.size() < 64 * 1024);
    DecodedRecords d;
    DecodeOptions opts;
    opts.max_uncompressed_bytes = 64 * 1024;
    BatchError e = decode_records(BatchView(batch), d, opts);
    CHECK(e.kind == BatchErrorKind::too_large);
    CHECK(e.kafka_error_code() == ErrorCode::message_too_large);
    CHECK(d.storage.empty());
    opts.max_uncompressed_bytes = 2 << 20;
    CHECK(decode_records(BatchView(batch), d, opts).ok());
  }
}

TEST_CASE("record batch: garbage in a compressed records section") {
  for (Compression c : kCodecs) {
    if (c == Compression::none) continue;
    Bytes junk(40, 0x5a);
    BatchError e = decode_error(raw_batch(junk, 1, 0, static_cast<uint16_t>(c)));
    CHECK(e.kind == BatchErrorKind::decompression_failed);
    CHECK(e.kafka_error_code() == ErrorCode::corrupt_message);
  }
}

TEST_CASE("record batch: in-place rewrites keep the batch valid") {
  BatchOptions o;
  o.compression = Compression::lz4;
  std::vector<Record> rs = sample_records();
  Bytes batch = build_batch(o, rs);
  MutableBatchView m(batch);
  uint32_t crc = BatchView(batch).crc();

  REQUIRE(m.set_base_offset(123456789));
  CHECK(BatchView(batch).base_offset() == 123456789);
  CHECK(BatchView(batch).crc() == crc);
  REQUIRE(m.set_last_offset(1000));
  CHECK(BatchView(batch).base_offset() == 996);
  CHECK(BatchView(batch).last_offset() == 1000);
  REQUIRE(m.set_partition_leader_epoch(42));
  CHECK(BatchView(batch).partition_leader_epoch() == 42);
  CHECK(BatchView(batch).crc() == crc);
  REQUIRE(BatchView(batch).validate().ok());

  REQUIRE(m.set_log_append_time(1800000000000));
  BatchView v(batch);
  CHECK(v.timestamp_type() == TimestampType::log_append_time);
  CHECK(v.max_timestamp() == 1800000000000);
  CHECK(v.crc() != crc);
  REQUIRE(v.validate().ok());
  DecodedRecords d = decode_ok(batch);
  REQUIRE(d.records.size() == rs.size());
  CHECK(d.records[0].offset == 996);
  for (const auto& r : d.records) CHECK(r.timestamp == 1800000000000);

  REQUIRE(m.set_max_timestamp(TimestampType::create_time, 1700000000005));
  CHECK(BatchView(batch).timestamp_type() == TimestampType::create_time);
  CHECK(BatchView(batch).crc() == crc);
  CHECK(BatchView(batch).validate().ok());

  Bytes small(20);
  MutableBatchView ms(small);
  CHECK_FALSE(ms.set_base_offset(1));
  CHECK_FALSE(ms.set_log_append_time(1));
  CHECK(small == Bytes(20));
}

TEST_CASE("record batch: iteration over several batches with a partial tail") {
  Bytes buffer;
  std::vector<size_t> sizes;
  for (Compression c : kCodecs) {
    BatchOptions o;
    o.compression = c;
    o.base_offset = static_cast<int64_t>(sizes.size()) * 100;
    Bytes b = build_batch(o, sample_records());
    sizes.push_back(b.size());
    buffer.insert(buffer.end(), b.begin(), b.end());
  }
  size_t whole = buffer.size();
  SUBCASE("all whole") {
    BatchIterator it(buffer);
    size_t n = 0;
    while (auto b = it.next()) {
      CHECK(b->size() == sizes[n]);
      CHECK(b->base_offset() == static_cast<int64_t>(n) * 100);
      CHECK(b->validate().ok());
      ++n;
    }
    CHECK(n == 5);
    CHECK(it.error().ok());
    CHECK_FALSE(it.has_partial_batch());
    CHECK(it.position() == whole);
  }
  SUBCASE("partial trailing batch") {
    for (size_t extra : {size_t{1}, size_t{11}, size_t{12}, size_t{61}, size_t{100}}) {
      Bytes b = buffer;
      b.insert(b.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(extra));
      BatchIterator it(b);
      size_t n = 0;
      while (it.next()) ++n;
      CHECK(n == 5);
      CHECK(it.error().ok());
      CHECK(it.has_partial_batch());
      CHECK(it.partial_bytes() == extra);
      CHECK(it.position() == whole);
    }
  }
  SUBCASE("framing errors") {
    Bytes b = buffer;
    b[sizes[0] + batch_pos::batch_length] = 0x80;  // second batch: negative length
    BatchIterator it(b);
    CHECK(it.next());
    CHECK_FALSE(it.next());
    CHECK(it.error().kind == BatchErrorKind::invalid_length);
    CHECK_FALSE(it.next());

    b = buffer;
    b[batch_pos::magic] = 9;
    BatchIterator it2(b);
    CHECK_FALSE(it2.next());
    CHECK(it2.error().kind == BatchErrorKind::unsupported_magic);

    BatchIterator it3(buffer, 100);  // every batch is over this limit
    CHECK_FALSE(it3.next());
    CHECK(it3.error().kind == BatchErrorKind::invalid_length);
  }
  SUBCASE("empty buffer") {
    BatchIterator it(Bytes{});
    CHECK_FALSE(it.next());
    CHECK(it.error().ok());
    CHECK_FALSE(it.has_partial_batch());
  }
}

TEST_CASE("record batch: control batches and transaction markers") {
  EndTxnMarkerBatch m;
  m.base_offset = 50;
  m.producer_id = 9000;
  m.producer_epoch = 3;
  m.commit = true;
  m.coordinator_epoch = 11;
  m.timestamp = 1700000000000;
  m.partition_leader_epoch = 2;
  Bytes batch = build_end_txn_marker_batch(m);
  BatchView v(batch);
  REQUIRE(v.validate().ok());
  CHECK(v.is_control());
  CHECK(v.is_transactional());
  CHECK(v.records_count() == 1);
  CHECK(v.producer_id() == 9000);
  CHECK(v.producer_epoch() == 3);
  CHECK(v.base_sequence() == -1);
  CHECK(v.partition_leader_epoch() == 2);
  ValidateOptions client;
  client.client_rules = true;
  CHECK(v.validate(client).kind == BatchErrorKind::invalid_control);

  DecodedRecords d = decode_ok(batch);
  REQUIRE(d.records.size() == 1);
  // Key: version 0, type 1 (COMMIT). Value: version 0, coordinator epoch 11.
  CHECK(to_record(d.records[0]).key == Bytes{0, 0, 0, 1});
  CHECK(to_record(d.records[0]).value == Bytes{0, 0, 0, 0, 0, 11});

  TxnMarker t;
  REQUIRE(read_end_txn_marker(v, t).ok());
  CHECK(t.commit);
  CHECK(t.coordinator_epoch == 11);
  CHECK(t.producer_id == 9000);
  CHECK(t.producer_epoch == 3);
  CHECK(t.offset == 50);
  CHECK(t.timestamp == 1700000000000);

  m.commit = false;
  REQUIRE(read_end_txn_marker(BatchView(build_end_txn_marker_batch(m)), t).ok());
  CHECK_FALSE(t.commit);

  // A plain data batch is not a marker.
  CHECK(read_end_txn_marker(BatchView(kTinyBatch), t).kind == BatchErrorKind::invalid_control);

  SUBCASE("key and value parsing") {
    CHECK_FALSE(parse_control_key(Bytes{0, 0, 0}));
    CHECK_FALSE(parse_control_key(Bytes{0x80, 0, 0, 1}));
    auto k = parse_control_key(Bytes{0, 1, 0, 2, 9, 9});  // newer version, extra bytes
    REQUIRE(k);
    CHECK(k->version == 1);
    CHECK(k->type == 2);
    CHECK(encode_control_key(ControlRecordType::abort) == Bytes{0, 0, 0, 0});
    CHECK_FALSE(parse_end_txn_marker(Bytes{0, 0, 0, 0, 0}));
    CHECK_FALSE(parse_end_txn_marker(Bytes{0xff, 0xff, 0, 0, 0, 1}));
    auto mk = parse_end_txn_marker(encode_end_txn_marker(-5));
    REQUIRE(mk);
    CHECK(mk->coordinator_epoch == -5);
  }
  SUBCASE("control rules") {
    const uint16_t marker_attrs = batch_attr::control | batch_attr::transactional;
    Bytes ok_rec = {0x20, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0x0c, 0, 0, 0, 0, 0, 11, 0x00};
    CHECK(decode_error(raw_batch(ok_rec, 1, 0, marker_attrs, 7)).ok());
    // A marker batch without a producer, or with two records.
    CHECK(decode_error(raw_batch(ok_rec, 1, 0, marker_attrs, -1)).kind ==
          BatchErrorKind::invalid_control);
    Bytes two = ok_rec;
    two.insert(two.end(), ok_rec.begin(), ok_rec.end());
    two[ok_rec.size() + 3] = 0x02;  // second record's offset delta 1
    CHECK(decode_error(raw_batch(two, 2, 1, marker_attrs, 7)).kind ==
          BatchErrorKind::invalid_control);
    // Null key, short key, negative key version.
    Bytes null_key = raw_record(0);
    CHECK(decode_error(raw_batch(null_key, 1, 0, marker_attrs, 7)).kind ==
          BatchErrorKind::invalid_control);
    Bytes bad_key = ok_rec;
    bad_key[5] = 0x80;
    CHECK(decode_error(raw_batch(bad_key, 1, 0, marker_attrs, 7)).kind ==
          BatchErrorKind::invalid_control);
    // COMMIT with a value too short to be a marker.
    Bytes short_value = {0x1c, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0x08, 0, 0, 0, 0, 0x00};
    BatchError e = decode_error(raw_batch(short_value, 1, 0, marker_attrs, 7));
    CHECK(e.kind == BatchErrorKind::invalid_control);
    CHECK(std::string(e.field) == "value");
    // A KRaft control record (type 2) carries its own value; not checked here.
    Bytes leader_change = {0x16, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 2, 0x02, 'x', 0x00};
    CHECK(decode_error(raw_batch(leader_change, 1, 0, batch_attr::control)).ok());
  }
}

TEST_CASE("record batch: legacy message formats are recognised, and decode when asked") {
  // A v0 message: offset 3, size, crc, magic 0, attributes, key -1, value "hi".
  Bytes v0 = {0, 0, 0,    0,    0,    0,    0,    3,    0, 0, 0, 16, 0,   0,
              0, 0, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2,  'h', 'i'};
  // A v1 message (offset 4) adds a timestamp (1000) after the attributes.
  Bytes v1 = {0, 0, 0, 0, 0, 0, 0,    4,    0,    0,    0,    24,   0, 0, 0, 0, 0x01, 0x00,
              0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 'h',  'i'};
  set_legacy_crc(v0);
  set_legacy_crc(v1);
  for (const Bytes* msg : {&v0, &v1}) {
    BatchError e = BatchView(*msg).validate();
    CHECK(e.kind == BatchErrorKind::legacy_format);
    CHECK(e.message().find("legacy") != std::string::npos);
    CHECK(decode_error(*msg).kind == BatchErrorKind::legacy_format);
  }
  Bytes all = v0;
  all.insert(all.end(), v1.begin(), v1.end());
  all.insert(all.end(), kTinyBatch.begin(), kTinyBatch.end());
  BatchIterator it(all);
  std::vector<Record> got;
  std::vector<int> magics;
  while (auto entry = it.next()) {
    magics.push_back(entry->magic());
    DecodedRecords d;
    REQUIRE(decode_any_records(*entry, d).ok());
    for (const auto& r : d.records) got.push_back(to_record(r));
  }
  CHECK(it.error().ok());
  CHECK(magics == std::vector<int>{0, 1, 2});
  REQUIRE(got.size() == 4);
  CHECK(got[0].offset == 3);
  CHECK(got[0].timestamp == kNoTimestamp);
  CHECK_FALSE(got[0].key);
  CHECK(got[0].value == bytes("hi"));
  CHECK(got[1].offset == 4);
  CHECK(got[1].timestamp == 1000);
  CHECK(got[2].offset == 5);

  DecodedRecords d;
  for (size_t pos = 12; pos < v0.size(); ++pos) {
    Bytes copy = v0;
    copy[pos] ^= 0x04;
    CAPTURE(pos);
    CHECK_FALSE(decode_legacy_records(BatchView(copy), d).ok());
  }
  for (size_t cut = 0; cut < v0.size(); ++cut) {
    Bytes part(v0.begin(), v0.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK_FALSE(decode_legacy_records(BatchView(part), d).ok());
  }
}

TEST_CASE("record batch: legacy message sets written by kafka-python decode") {
  for (int magic : {0, 1}) {
    for (const char* codec : {"none", "gzip", "snappy", "lz4"}) {
      if (magic == 0 && std::string(codec) == "lz4") continue;
      CAPTURE(magic);
      CAPTURE(codec);
      Bytes set = read_file(std::string(KFK_TEST_DATA_DIR) + "/golden/records/kafka-python-v" +
                            std::to_string(magic) + "-" + codec + ".bin");
      std::vector<Record> got;
      BatchIterator it(set);
      size_t entries = 0;
      while (auto entry = it.next()) {
        ++entries;
        CHECK(entry->magic() == magic);
        CHECK(entry->validate().kind == BatchErrorKind::legacy_format);
        DecodedRecords d;
        BatchError e = decode_any_records(*entry, d);
        INFO(e.message());
        REQUIRE(e.ok());
        for (const auto& r : d.records) got.push_back(to_record(r));
      }
      CHECK(it.error().ok());
      CHECK_FALSE(it.has_partial_batch());
      CHECK(entries == (std::string(codec) == "none" ? 5u : 1u));
      REQUIRE(got.size() == 5);
      for (int i = 0; i < 5; ++i) {
        const Record& r = got[static_cast<size_t>(i)];
        CHECK(r.offset == i);
        CHECK(r.timestamp == (magic == 0 ? kNoTimestamp : 1700000000000 + i));
        CHECK(r.key == bytes("k" + std::to_string(i)));
        std::string value;
        for (int k = 0; k < 10; ++k) value += "legacy-" + std::to_string(i) + " ";
        if (i == 2)
          CHECK_FALSE(r.value);
        else
          CHECK(r.value == bytes(value));
        CHECK(r.headers.empty());
      }
      // Damage past the offset never crashes; in a wrapper (one entry) it is always caught.
      std::mt19937 rng(static_cast<uint32_t>(magic * 10 + set.size()));
      for (int i = 0; i < 300; ++i) {
        Bytes copy = set;
        copy[8 + rng() % (copy.size() - 8)] ^= static_cast<uint8_t>(1u << (rng() % 8));
        BatchIterator it2(copy);
        bool all_ok = true;
        while (auto entry = it2.next()) {
          DecodedRecords d;
          all_ok = decode_any_records(*entry, d).ok() && all_ok;
        }
        all_ok = all_ok && it2.error().ok() && !it2.has_partial_batch();
        if (std::string(codec) != "none") CHECK_FALSE(all_ok);
      }
    }
  }
}

TEST_CASE("record batch: legacy v1 wrapper with LogAppendTime") {
  Bytes set =
      read_file(std::string(KFK_TEST_DATA_DIR) + "/golden/records/kafka-python-v1-gzip.bin");
  // Wrapper attributes at byte 17, timestamp at 18; the CRC covers magic onwards.
  set[17] |= 0x08;
  kfk::store_be<int64_t>(set.data() + 18, 1800000000000);
  set_legacy_crc(set);
  DecodedRecords d;
  REQUIRE(decode_legacy_records(BatchView(set), d).ok());
  REQUIRE(d.records.size() == 5);
  for (const auto& r : d.records) CHECK(r.timestamp == 1800000000000);
  // A bomb in a wrapper is refused like in a batch.
  DecodeOptions small;
  small.max_uncompressed_bytes = 100;
  CHECK(decode_legacy_records(BatchView(set), d, small).kind == BatchErrorKind::too_large);
}

TEST_CASE("record batch: batches written by kafka-python decode") {
  for (Compression c : kCodecs) {
    CAPTURE(to_string(c));
    std::string path = std::string(KFK_TEST_DATA_DIR) + "/golden/records/kafka-python-" +
                       std::string(to_string(c)) + ".bin";
    Bytes batch = read_file(path);
    BatchView v(batch);
    REQUIRE(v.validate().ok());
    CHECK(v.compression() == c);
    CHECK(v.records_count() == 10);
    CHECK(v.base_timestamp() == 1700000000000);
    CHECK(v.max_timestamp() == 1700000000063);
    DecodedRecords d = decode_ok(batch);
    REQUIRE(d.records.size() == 10);
    for (int i = 0; i < 10; ++i) {
      CAPTURE(i);
      const RecordView& r = d.records[static_cast<size_t>(i)];
      CHECK(r.offset == i);
      CHECK(r.timestamp == 1700000000000 + i * 7);
      if (i == 3)
        CHECK_FALSE(r.key);
      else
        CHECK(str(r.key) == "key-" + std::to_string(i));
      std::string value;
      for (int k = 0; k < 20; ++k) value += "value-" + std::to_string(i) + " ";
      if (i == 4)
        CHECK_FALSE(r.value);
      else
        CHECK(str(r.value) == value);
      if (i % 2 == 0) {
        REQUIRE(r.headers.size() == 2);
        CHECK(r.headers[0].key == "h1");
        CHECK(str(r.headers[0].value) == "v" + std::to_string(i));
        CHECK(r.headers[1].key == "h2");
        CHECK_FALSE(r.headers[1].value);
      } else {
        CHECK(r.headers.empty());
      }
    }
    // Our encoder makes the same uncompressed batch.
    if (c == Compression::none) {
      BatchBuilder b(BatchOptions{});
      for (const auto& r : d.records) CHECK(b.append(to_record(r)));
      Bytes ours = b.build();
      // kafka-python writes partitionLeaderEpoch 0 and producer epoch/sequence -1.
      MutableBatchView(ours).set_partition_leader_epoch(0);
      CHECK(ours == batch);
    }
  }
}

TEST_CASE("record batch: error messages and codes") {
  BatchError ok;
  CHECK(ok.ok());
  CHECK(ok.kafka_error_code() == ErrorCode::none);
  BatchError e = decode_error(raw_batch(raw_record(4), 1, 1));
  std::string m = e.message();
  CHECK(m.find("offsetDelta") != std::string::npos);
  CHECK(m.find("record 0") != std::string::npos);
  CHECK(to_string(BatchErrorKind::crc_mismatch) == "CRC mismatch");
}

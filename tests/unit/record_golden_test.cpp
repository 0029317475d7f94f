// Record batches written by real clients, taken from the Produce requests they sent to the
// capturing listener (tests/golden/data): every codec decodes to the records they were given.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/protocol/api_keys.h"
#include "core/protocol/messages/produce.h"
#include "core/protocol/messages/request_header.h"
#include "core/record/record_batch.h"

namespace fs = std::filesystem;
using namespace kfk;

namespace {

struct Expected {
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::string str(const record::NullableBytes& b) {
  return b ? std::string(b->begin(), b->end()) : std::string("<null>");
}

// The records section of the one partition in a captured Produce request.
protocol::Bytes produce_records(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  protocol::Bytes frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  protocol::Reader r(frame);
  protocol::RequestHeader header;
  REQUIRE(header.decode(r, 1));
  REQUIRE(header.request_api_key == 0);
  protocol::ProduceRequest produce;
  REQUIRE(produce.decode(r, header.request_api_version));
  REQUIRE(produce.topic_data.size() == 1);
  REQUIRE(produce.topic_data[0].partition_data.size() == 1);
  const auto& records = produce.topic_data[0].partition_data[0].records;
  REQUIRE(records.has_value());
  return *records;
}

void check_batches(const fs::path& file, record::Compression codec,
                   const std::vector<Expected>& expected) {
  INFO(file.string());
  const protocol::Bytes records = produce_records(file);
  record::BatchIterator it(records);
  size_t next = 0;
  while (auto batch = it.next()) {
    CHECK(batch->magic() == record::kMagicV2);
    CHECK(batch->validate().ok());
    CHECK(batch->compression() == codec);
    record::DecodedRecords decoded;
    const auto err = record::decode_records(*batch, decoded);
    REQUIRE_MESSAGE(err.ok(), err.message());
    for (const auto& rec : decoded.records) {
      REQUIRE(next < expected.size());
      const Expected& e = expected[next++];
      CHECK(str(rec.key) == (e.key ? *e.key : std::string("<null>")));
      CHECK(str(rec.value) == e.value);
      REQUIRE(rec.headers.size() == e.headers.size());
      for (size_t h = 0; h < e.headers.size(); ++h) {
        CHECK(rec.headers[h].key == e.headers[h].first);
        CHECK(str(rec.headers[h].value) == e.headers[h].second);
      }
      CHECK(rec.timestamp > 1600000000000);  // a real wall-clock time
    }
  }
  CHECK_FALSE(it.has_partial_batch());
  CHECK(it.error().ok());
  CHECK(next == expected.size());
}

const std::string kLong = [] {
  std::string s;
  for (int i = 0; i < 16; ++i) s += "abcdefgh";
  return s;
}();

const fs::path kData = fs::path(KFK_TEST_DATA_DIR) / "golden" / "data";

}  // namespace

TEST_CASE("record golden: librdkafka (kcat) batches with every codec") {
  for (const char* name : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    const std::string c = std::string("codec=") + name;
    const std::vector<std::pair<std::string, std::string>> h = {{"h1", "v1"}, {"trace", "golden"}};
    check_batches(kData / "kcat" / (std::string("Produce-v7-") + name + ".bin"),
                  *record::parse_compression(name),
                  {{"key-1", "value-1 " + c, h},
                   {"key-2", "value-2 " + c, h},
                   {"key-3", "value-3 " + c + " " + kLong, h}});
  }
}

TEST_CASE("record golden: kafka-python batches with every codec") {
  for (const char* name : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    const std::string c = std::string("codec=") + name;
    check_batches(kData / "kafka-python" / (std::string("Produce-v7-") + name + ".bin"),
                  *record::parse_compression(name),
                  {{"kp-key-1", "kp-value-1 " + c, {{"h1", "v1"}}},
                   {std::nullopt, "kp-value-2 null key " + c, {}},
                   {"kp-key-3", "kp-value-3 " + c + " " + kLong, {{"h1", "v1"}, {"h2", "v2"}}}});
  }
}

TEST_CASE("record golden: librdkafka idempotent batch carries producer id and sequence") {
  const protocol::Bytes records =
      produce_records(kData / "confluent-kafka-python" / "Produce-v7-none-idempotent.bin");
  record::BatchIterator it(records);
  auto batch = it.next();
  REQUIRE(batch.has_value());
  CHECK(batch->validate().ok());
  CHECK(batch->producer_id() >= 0);
  CHECK(batch->producer_epoch() >= 0);
  CHECK(batch->base_sequence() == 0);
}

// Producer batching: records collect per partition into valid batches that decode back to
// the same records, in every codec; batches close at batch_size; ids stay in order.
#include <doctest/doctest.h>

#include <string>

#include "core/client/accumulator.h"

using namespace kfk::client;
using kfk::record::BatchView;
using kfk::record::Compression;
using kfk::record::DecodedRecords;
using kfk::record::HeaderView;
using kfk::record::NullableBytes;

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string str(const NullableBytes& b) {
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : "<null>";
}

}  // namespace

TEST_CASE("client accumulator: one batch per partition decodes back, every codec") {
  for (auto codec : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                     Compression::zstd}) {
    CAPTURE(to_string(codec));
    RecordAccumulator acc(AccumulatorOptions{codec, kfk::record::kDefaultCompressionLevel, 16384});
    const HeaderView headers[] = {{"h", bytes("v")}, {"n", std::nullopt}};
    for (size_t i = 0; i < 10; ++i) {
      const std::string value = "value-" + std::to_string(i);
      const TopicPartition tp{"t", static_cast<int32_t>(i % 2)};
      NullableBytes key = i == 3 ? NullableBytes{} : NullableBytes{bytes("key")};
      CHECK_FALSE(acc.append(tp, i, 1000 + static_cast<int64_t>(i), key, bytes(value), headers));
    }
    CHECK_FALSE(acc.has_full_batches());
    CHECK(acc.drain(false).empty());
    const auto batches = acc.drain(true);
    REQUIRE(batches.size() == 2);
    CHECK(acc.empty());
    for (const auto& batch : batches) {
      BatchView view(batch.bytes);
      REQUIRE(view.validate({.verify_crc = true, .client_rules = true}).ok());
      CHECK(view.compression() == codec);
      CHECK(view.records_count() == 5);
      DecodedRecords decoded;
      REQUIRE(decode_records(view, decoded).ok());
      REQUIRE(decoded.records.size() == 5);
      REQUIRE(batch.record_ids.size() == 5);
      for (size_t j = 0; j < 5; ++j) {
        const size_t id = batch.record_ids[j];
        CHECK(id % 2 == static_cast<size_t>(batch.tp.partition));
        CHECK(decoded.records[j].offset == static_cast<int64_t>(j));
        CHECK(decoded.records[j].timestamp == 1000 + static_cast<int64_t>(id));
        CHECK(str(decoded.records[j].value) == "value-" + std::to_string(id));
        CHECK(str(decoded.records[j].key) == (id == 3 ? "<null>" : "key"));
        REQUIRE(decoded.records[j].headers.size() == 2);
        CHECK(decoded.records[j].headers[0].key == "h");
        CHECK(str(decoded.records[j].headers[0].value) == "v");
        CHECK_FALSE(decoded.records[j].headers[1].value.has_value());
      }
    }
  }
}

TEST_CASE("client accumulator: batches close at batch_size and drain one per partition") {
  RecordAccumulator acc(
      AccumulatorOptions{Compression::none, kfk::record::kDefaultCompressionLevel, 1000});
  const std::string value(100, 'x');
  const TopicPartition tp{"t", 0};
  size_t full_signals = 0;
  for (size_t i = 0; i < 30; ++i) {
    if (acc.append(tp, i, 0, std::nullopt, bytes(value), {})) ++full_signals;
  }
  CHECK(acc.has_full_batches());
  CHECK(full_signals >= 2);
  CHECK(acc.buffered_bytes() > 3000);
  // One batch per call, oldest first; each below the limit.
  std::vector<size_t> ids;
  size_t batches = 0;
  while (!acc.empty()) {
    auto ready = acc.drain(true);
    REQUIRE(ready.size() == 1);
    ++batches;
    CHECK(ready[0].bytes.size() <= 1000);
    ids.insert(ids.end(), ready[0].record_ids.begin(), ready[0].record_ids.end());
  }
  CHECK(batches >= 3);
  REQUIRE(ids.size() == 30);
  for (size_t i = 0; i < ids.size(); ++i) CHECK(ids[i] == i);
  CHECK(acc.buffered_bytes() == 0);
}

TEST_CASE("client accumulator: a record larger than batch_size gets a batch of its own") {
  RecordAccumulator acc(
      AccumulatorOptions{Compression::none, kfk::record::kDefaultCompressionLevel, 100});
  const std::string big(500, 'b');
  const TopicPartition tp{"t", 1};
  CHECK(acc.append(tp, 0, 0, std::nullopt, bytes("small"), {}) == false);
  CHECK(acc.append(tp, 1, 0, std::nullopt, bytes(big), {}) == true);
  auto first = acc.drain(false);
  REQUIRE(first.size() == 1);
  CHECK(first[0].record_ids == std::vector<size_t>{0});
  auto second = acc.drain(true);
  REQUIRE(second.size() == 1);
  CHECK(second[0].record_ids == std::vector<size_t>{1});
  CHECK(RecordAccumulator::record_size(0, std::nullopt, bytes(big), {}) > 500);
}

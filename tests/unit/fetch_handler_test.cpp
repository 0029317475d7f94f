// The data-path handlers through the dispatcher at their flexible versions (the integration
// tests' clients stop at older ones): Produce v11, Fetch v13+ with topic ids and sessions,
// ListOffsets v10, InitProducerId v5, DeleteRecords v2 and DescribeLogDirs v4; Metadata v12
// and DeleteTopics v6 by topic id.
#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "core/config/broker_config.h"
#include "core/protocol/api_keys.h"
#include "core/protocol/messages/delete_records.h"
#include "core/protocol/messages/delete_topics.h"
#include "core/protocol/messages/describe_log_dirs.h"
#include "core/protocol/messages/fetch.h"
#include "core/protocol/messages/init_producer_id.h"
#include "core/protocol/messages/list_offsets.h"
#include "core/protocol/messages/metadata.h"
#include "core/protocol/messages/produce.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"
#include "core/record/record_batch.h"
#include "metadata_test_support.h"
#include "server/broker.h"
#include "server/handlers/handlers.h"
#include "storage_test_support.h"

using namespace kfk;
using kfk::storage::testing::TempDir;

namespace {

struct DataBroker {
  TempDir tmp;
  asio::io_context io;  // outlives the broker, whose controller hands results to it
  std::unique_ptr<server::Broker> broker;
  std::unique_ptr<server::BrokerDispatcher> dispatcher;
  protocol::Uuid topic_id;

  DataBroker() {
    auto config = config::load_broker_config(
        std::nullopt, {"listeners=PLAINTEXT://127.0.0.1:0", "log.dirs=" + tmp.path().string(),
                       "num.reactor.threads=1"});
    REQUIRE_MESSAGE(config, config.error_text());
    broker = std::make_unique<server::Broker>(std::move(config).value());
    REQUIRE(broker->start().empty());
    dispatcher = std::make_unique<server::BrokerDispatcher>(*broker);
    server::NewTopic t;
    t.name = "events";
    t.num_partitions = 2;
    auto created = server::testing::run_awaitable(io, broker->controller().create_topic(t, false));
    REQUIRE(created.result.ok());
    topic_id = created.topic_id;
  }
  ~DataBroker() {
    dispatcher.reset();
    broker->stop();
  }

  // Sends a request and decodes the response (the copying path: the connection sends no files).
  template <class Resp, class Req>
  Resp call(const Req& req, int16_t version) {
    protocol::RequestHeader header;
    header.request_api_key = Req::api_key;
    header.request_api_version = version;
    header.correlation_id = 3;
    header.client_id = "test";
    protocol::Writer w;
    header.encode(w, protocol::request_header_version(Req::api_key, version));
    req.encode(w, version);
    const auto frame = w.take();
    server::ConnectionInfo conn{1, "127.0.0.1:1", "PLAINTEXT"};
    std::optional<server::RequestOutcome> outcome;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> { outcome = co_await dispatcher->dispatch(conn, frame); },
        asio::detached);
    io.restart();
    io.run();
    REQUIRE(outcome);
    REQUIRE(outcome->respond);
    protocol::Reader r(outcome->response);
    CHECK(r.read_int32("correlation") == 3);
    if (protocol::response_header_version(Req::api_key, version) >= 1) {
      protocol::TaggedFields tags;
      r.read_tagged_fields(tags, [](uint32_t, protocol::Reader&) { return false; });
    }
    Resp resp;
    REQUIRE(resp.decode(r, version));
    return resp;
  }

  protocol::ProduceResponse::PartitionProduceResponse produce(int32_t partition, int records,
                                                              int16_t version = 11) {
    protocol::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 1000;
    auto& t = req.topic_data.emplace_back();
    t.name = "events";
    auto& p = t.partition_data.emplace_back();
    p.index = partition;
    p.records = storage::testing::make_batch(records);
    auto resp = call<protocol::ProduceResponse>(req, version);
    REQUIRE(resp.responses.size() == 1);
    REQUIRE(resp.responses[0].partition_responses.size() == 1);
    return resp.responses[0].partition_responses[0];
  }

  protocol::FetchRequest fetch_request(std::vector<std::pair<int32_t, int64_t>> parts,
                                       int32_t session_id = 0, int32_t epoch = -1) {
    protocol::FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.session_id = session_id;
    req.session_epoch = epoch;
    if (!parts.empty()) {
      auto& t = req.topics.emplace_back();
      t.topic = "events";
      t.topic_id = topic_id;
      for (auto [p, offset] : parts) {
        auto& fp = t.partitions.emplace_back();
        fp.partition = p;
        fp.fetch_offset = offset;
        fp.partition_max_bytes = 1 << 20;
      }
    }
    return req;
  }
};

size_t count_records(const protocol::Records& records) {
  if (!records) return 0;
  size_t n = 0;
  record::BatchIterator it(*records);
  while (auto b = it.next()) n += static_cast<size_t>(b->records_count());
  return n;
}

}  // namespace

TEST_CASE("data path: produce v11, fetch by topic id (v13-v17)") {
  DataBroker b;
  auto first = b.produce(0, 5);
  CHECK(first.error_code == 0);
  CHECK(first.base_offset == 0);
  CHECK(first.log_start_offset == 0);
  CHECK(first.log_append_time_ms == -1);
  CHECK(b.produce(0, 3).base_offset == 5);
  CHECK(b.produce(1, 2, 3).base_offset == 0);  // the oldest version

  for (int16_t v = 13; v <= 17; ++v) {
    CAPTURE(v);
    auto resp = b.call<protocol::FetchResponse>(b.fetch_request({{0, 0}, {1, 0}}), v);
    CHECK(resp.error_code == 0);
    REQUIRE(resp.responses.size() == 1);
    CHECK(resp.responses[0].topic_id == b.topic_id);
    REQUIRE(resp.responses[0].partitions.size() == 2);
    const auto& p0 = resp.responses[0].partitions[0];
    CHECK(p0.high_watermark == 8);
    CHECK(p0.last_stable_offset == 8);
    CHECK_FALSE(p0.aborted_transactions.has_value());
    CHECK(count_records(p0.records) == 8);
    CHECK(count_records(resp.responses[0].partitions[1].records) == 2);
  }
  // An unknown topic id.
  auto req = b.fetch_request({{0, 0}});
  req.topics[0].topic_id.bytes[3] ^= 0xff;
  auto unknown = b.call<protocol::FetchResponse>(req, 13);
  CHECK(unknown.responses[0].partitions[0].error_code == 100);  // UNKNOWN_TOPIC_ID
  // Leader epochs: the partition's is 0.
  req = b.fetch_request({{0, 0}});
  req.topics[0].partitions[0].current_leader_epoch = 1;
  CHECK(b.call<protocol::FetchResponse>(req, 12).responses[0].partitions[0].error_code ==
        75);  // UNKNOWN_LEADER_EPOCH
  req.topics[0].partitions[0].current_leader_epoch = 0;
  CHECK(b.call<protocol::FetchResponse>(req, 12).responses[0].partitions[0].error_code == 0);
}

TEST_CASE("data path: fetch sessions with topic ids") {
  DataBroker b;
  b.produce(0, 1);
  auto full = b.call<protocol::FetchResponse>(b.fetch_request({{0, 0}, {1, 0}}, 0, 0), 13);
  REQUIRE(full.session_id != 0);
  CHECK(full.responses[0].partitions.size() == 2);
  // Nothing changed for partition 0 at offset 1 or partition 1: an empty incremental answer.
  auto inc = b.call<protocol::FetchResponse>(b.fetch_request({{0, 1}}, full.session_id, 1), 13);
  CHECK(inc.error_code == 0);
  CHECK(inc.session_id == full.session_id);
  CHECK(inc.responses.empty());
  b.produce(1, 4);
  inc = b.call<protocol::FetchResponse>(b.fetch_request({}, full.session_id, 2), 13);
  REQUIRE(inc.responses.size() == 1);
  REQUIRE(inc.responses[0].partitions.size() == 1);
  CHECK(inc.responses[0].partitions[0].partition_index == 1);
  CHECK(count_records(inc.responses[0].partitions[0].records) == 4);
  // A session made with topic ids cannot go on at a version without them.
  auto mismatch = b.call<protocol::FetchResponse>(b.fetch_request({}, full.session_id, 3), 12);
  CHECK(mismatch.error_code == 106);  // FETCH_SESSION_TOPIC_ID_ERROR
}

TEST_CASE("data path: a long poll times out without data and returns data at once") {
  DataBroker b;
  auto req = b.fetch_request({{0, 0}});
  req.max_wait_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  auto empty = b.call<protocol::FetchResponse>(req, 17);
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(count_records(empty.responses[0].partitions[0].records) == 0);
  CHECK(waited >= std::chrono::milliseconds(290));
  b.produce(0, 1);
  req.max_wait_ms = 5000;
  t0 = std::chrono::steady_clock::now();
  auto full = b.call<protocol::FetchResponse>(req, 17);
  CHECK(count_records(full.responses[0].partitions[0].records) == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("data path: ListOffsets v10, DeleteRecords v2, DescribeLogDirs v4, InitProducerId v5") {
  DataBroker b;
  b.produce(0, 10);
  protocol::ListOffsetsRequest lo;
  lo.replica_id = -1;
  auto& lt = lo.topics.emplace_back();
  lt.name = "events";
  for (int64_t ts : {-1, -2, -3, -4, -5, 1000, 1005, 99999}) {
    auto& p = lt.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = ts;
  }
  auto offsets = b.call<protocol::ListOffsetsResponse>(lo, 10);
  REQUIRE(offsets.topics[0].partitions.size() == 8);
  const auto& r = offsets.topics[0].partitions;
  // A partition listed more than once is refused, as Kafka does.
  for (const auto& p : r) CHECK(p.error_code == 42);
  lo.topics[0].partitions.resize(1);
  auto check = [&](int64_t ts, int64_t offset, int64_t timestamp) {
    CAPTURE(ts);
    lo.topics[0].partitions[0].timestamp = ts;
    auto one = b.call<protocol::ListOffsetsResponse>(lo, 10).topics[0].partitions[0];
    CHECK(one.error_code == 0);
    CHECK(one.offset == offset);
    CHECK(one.timestamp == timestamp);
  };
  check(-1, 10, -1);
  check(-2, 0, -1);
  check(-3, 9, 1009);  // make_batch: timestamps 1000..1009
  check(-4, 0, -1);
  check(-5, -1, -1);
  check(1005, 5, 1005);
  check(99999, -1, -1);

  protocol::DeleteRecordsRequest dr;
  auto& dt = dr.topics.emplace_back();
  dt.name = "events";
  dt.partitions.push_back({0, 4, {}});
  auto deleted = b.call<protocol::DeleteRecordsResponse>(dr, 2);
  CHECK(deleted.topics[0].partitions[0].error_code == 0);
  CHECK(deleted.topics[0].partitions[0].low_watermark == 4);
  check(-2, 4, -1);

  protocol::DescribeLogDirsRequest dl;
  dl.topics = std::nullopt;
  auto dirs = b.call<protocol::DescribeLogDirsResponse>(dl, 4);
  REQUIRE(dirs.results.size() == 1);
  CHECK(dirs.results[0].error_code == 0);
  CHECK(dirs.results[0].total_bytes > 0);
  CHECK(dirs.results[0].usable_bytes > 0);
  REQUIRE(dirs.results[0].topics.size() == 1);
  CHECK(dirs.results[0].topics[0].partitions.size() == 2);
  CHECK(dirs.results[0].topics[0].partitions[0].partition_size > 0);

  protocol::InitProducerIdRequest ip;
  ip.transactional_id = std::nullopt;
  auto id = b.call<protocol::InitProducerIdResponse>(ip, 5);
  CHECK(id.error_code == 0);
  CHECK(id.producer_epoch == 0);
  ip.producer_id = id.producer_id;
  ip.producer_epoch = 0;
  auto again = b.call<protocol::InitProducerIdResponse>(ip, 5);
  CHECK(again.error_code == 0);
  CHECK(again.producer_id != id.producer_id);
  ip.producer_epoch = -1;
  CHECK(b.call<protocol::InitProducerIdResponse>(ip, 5).error_code == 42);
}

TEST_CASE("metadata v12 and delete topics v6 find a topic by its id") {
  DataBroker b;
  protocol::MetadataRequest meta;
  meta.topics.emplace();
  meta.topics->emplace_back().topic_id = b.topic_id;
  meta.topics->back().name.reset();
  protocol::Uuid unknown = b.topic_id;
  unknown.bytes[0] ^= 0xff;
  meta.topics->emplace_back().topic_id = unknown;
  meta.topics->back().name.reset();
  auto resp = b.call<protocol::MetadataResponse>(meta, 12);
  REQUIRE(resp.topics.size() == 2);
  CHECK(resp.topics[0].error_code == 0);
  CHECK(resp.topics[0].name == std::optional<std::string>("events"));
  CHECK(resp.topics[0].topic_id == b.topic_id);
  CHECK(resp.topics[0].partitions.size() == 2);
  CHECK(resp.topics[1].error_code == protocol::to_int(protocol::ErrorCode::unknown_topic_id));

  protocol::DeleteTopicsRequest del;
  del.timeout_ms = 5000;
  del.topics.emplace_back().topic_id = unknown;
  del.topics.emplace_back().topic_id = b.topic_id;
  auto deleted = b.call<protocol::DeleteTopicsResponse>(del, 6);
  REQUIRE(deleted.responses.size() == 2);
  CHECK(deleted.responses[0].error_code == protocol::to_int(protocol::ErrorCode::unknown_topic_id));
  CHECK(deleted.responses[1].error_code == 0);
  CHECK(deleted.responses[1].name == std::optional<std::string>("events"));
  CHECK(b.broker->metadata()->find_topic("events") == nullptr);
  // The id is gone with the topic.
  resp = b.call<protocol::MetadataResponse>(meta, 12);
  CHECK(resp.topics[0].error_code == protocol::to_int(protocol::ErrorCode::unknown_topic_id));
}

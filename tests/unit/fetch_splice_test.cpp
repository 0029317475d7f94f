// Fetch responses with records spliced from segment files: the framing plus the file bytes
// must be exactly the generated encoding, at every version; and a connection sends them
// with sendfile(2), keeping the response well-formed when a file was shortened meanwhile.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fstream>
#include <optional>

#include "core/protocol/reader.h"
#include "core/protocol/writer.h"
#include "core/record/record_batch.h"
#include "core/util/big_endian.h"
#include "server/fetch/fetch_response.h"
#include "server/network/connection.h"
#include "server/storage/file_io.h"
#include "storage_test_support.h"

using namespace kfk;
using namespace kfk::server;
using kfk::storage::testing::TempDir;

namespace {

// A file of three batches; slices over it.
struct BatchFile {
  TempDir tmp;
  std::filesystem::path path;
  protocol::Bytes bytes;
  std::vector<size_t> batch_ends;
  std::shared_ptr<storage::FileHandle> handle;

  BatchFile() {
    path = tmp.path() / "00000000000000000000.log";
    for (int i = 0; i < 3; ++i) {
      auto b = storage::testing::make_batch(3 + i, 1000 + i, 100 + 50 * static_cast<size_t>(i));
      record::MutableBatchView(b).set_base_offset(i * 10);
      bytes.insert(bytes.end(), b.begin(), b.end());
      batch_ends.push_back(bytes.size());
    }
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    auto h = storage::FileHandle::open(path, O_RDONLY);
    REQUIRE(h);
    handle = *h;
  }

  storage::FileSlice slice(size_t from, size_t to) const {
    storage::FileSlice s;
    s.file = handle;
    s.position = from;
    s.length = to - from;
    return s;
  }
};

// A response with two topics; partitions 0 and 2 of the first and partition 1 of the second
// carry file records (in one, two and one slices), the others none or an error.
FetchResponseWithFiles make_response(const BatchFile& f, int16_t version) {
  FetchResponseWithFiles r;
  r.body.throttle_time_ms = 5;
  r.body.session_id = 77;
  for (int t = 0; t < 2; ++t) {
    auto& topic = r.body.responses.emplace_back();
    topic.topic = t == 0 ? "orders" : "payments";
    topic.topic_id.bytes[0] = static_cast<uint8_t>(t + 1);
    for (int p = 0; p < 3; ++p) {
      auto& part = topic.partitions.emplace_back();
      part.partition_index = p;
      part.high_watermark = 100 + p;
      part.last_stable_offset = 100 + p;
      part.log_start_offset = p;
      part.records = protocol::Bytes{};
      if (p == 1) part.aborted_transactions.reset();
      if (t == 1 && p == 2) {
        part.error_code = 1;
        part.records = std::nullopt;
      }
    }
  }
  if (version >= 12) r.body.responses[1].partitions[0].current_leader.leader_id = 1;
  r.files.push_back(PartitionFileRecords{0, 0, {f.slice(0, f.batch_ends[0])}});
  r.files.push_back(PartitionFileRecords{
      0, 2, {f.slice(0, f.batch_ends[0]), f.slice(f.batch_ends[0], f.batch_ends[2])}});
  r.files.push_back(PartitionFileRecords{1, 1, {f.slice(f.batch_ends[1], f.batch_ends[2])}});
  return r;
}

// The generated encoding of the same response with the file bytes in memory.
protocol::Bytes expected_encoding(const FetchResponseWithFiles& r, const BatchFile& f,
                                  int16_t version) {
  protocol::FetchResponse copy = r.body;
  for (const auto& pf : r.files) {
    protocol::Bytes bytes;
    for (const auto& s : pf.slices)
      bytes.insert(bytes.end(), f.bytes.begin() + static_cast<ptrdiff_t>(s.position),
                   f.bytes.begin() + static_cast<ptrdiff_t>(s.position + s.length));
    copy.responses[pf.topic].partitions[pf.partition].records = std::move(bytes);
  }
  protocol::Writer w;
  w.write_int32(12345);  // stands for a response header
  copy.encode(w, version);
  return w.take();
}

protocol::Bytes splice_in(const protocol::Bytes& framing,
                          const std::vector<ResponseSplice>& splices, const BatchFile& f) {
  protocol::Bytes out;
  size_t pos = 0;
  for (const auto& s : splices) {
    out.insert(out.end(), framing.begin() + static_cast<ptrdiff_t>(pos),
               framing.begin() + static_cast<ptrdiff_t>(s.at));
    uint64_t n = 0;
    for (const auto& region : s.regions) {
      out.insert(out.end(), f.bytes.begin() + static_cast<ptrdiff_t>(region.position),
                 f.bytes.begin() + static_cast<ptrdiff_t>(region.position + region.length));
      n += region.length;
    }
    CHECK(n == s.length);
    pos = s.at;
  }
  out.insert(out.end(), framing.begin() + static_cast<ptrdiff_t>(pos), framing.end());
  return out;
}

}  // namespace

TEST_CASE("fetch response: spliced framing + file bytes == the generated encoding, every version") {
  BatchFile f;
  for (int16_t v = protocol::FetchResponse::min_version; v <= protocol::FetchResponse::max_version;
       ++v) {
    CAPTURE(v);
    auto r = make_response(f, v);
    const auto expected = expected_encoding(r, f, v);

    std::vector<ResponseSplice> splices;
    r.splices = &splices;
    protocol::Writer w;
    w.write_int32(12345);
    r.encode(w, v);
    REQUIRE(splices.size() == 3);
    const auto framing = w.take();
    CHECK(framing.size() < expected.size());
    const auto whole = splice_in(framing, splices, f);
    CHECK(whole == expected);

    // The generated decoder reads it back with the records in place.
    protocol::Reader reader(whole);
    CHECK(reader.read_int32("header") == 12345);
    protocol::FetchResponse decoded;
    REQUIRE(decoded.decode(reader, v));
    const auto& rec = decoded.responses[0].partitions[2].records;
    REQUIRE(rec);
    CHECK(rec->size() == f.batch_ends[2]);
    record::BatchIterator it(*rec);
    int batches = 0;
    while (it.next()) ++batches;
    CHECK(batches == 3);
    CHECK_FALSE(it.has_partial_batch());

    // Without a splice sink the bytes are copied in: the same encoding.
    r.splices = nullptr;
    protocol::Writer copied;
    copied.write_int32(12345);
    r.encode(copied, v);
    CHECK(copied.bytes() == expected);
  }
}

TEST_CASE("fetch response: long records fields (multi-byte compact lengths)") {
  // Records over 127 and 16383 bytes need 2 and 3 byte varints in flexible versions.
  TempDir tmp;
  protocol::Bytes bytes;
  while (bytes.size() < 40000) {
    auto b = storage::testing::make_batch(10, 1000, 1000);
    bytes.insert(bytes.end(), b.begin(), b.end());
  }
  const auto path = tmp.path() / "big.log";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  auto h = storage::FileHandle::open(path, O_RDONLY);
  REQUIRE(h);
  for (int16_t v : {4, 11, 12, 17}) {
    FetchResponseWithFiles r;
    auto& part = r.body.responses.emplace_back().partitions.emplace_back();
    part.records = protocol::Bytes{};
    r.body.responses[0].topic = "t";
    storage::FileSlice s;
    s.file = *h;
    s.position = 0;
    s.length = bytes.size();
    r.files.push_back(PartitionFileRecords{0, 0, {s}});
    std::vector<ResponseSplice> splices;
    r.splices = &splices;
    protocol::Writer w;
    r.encode(w, v);
    protocol::FetchResponse expected = r.body;
    expected.responses[0].partitions[0].records = bytes;
    protocol::Writer e;
    expected.encode(e, v);
    REQUIRE(splices.size() == 1);
    auto framing = w.take();
    protocol::Bytes whole(framing.begin(), framing.begin() + static_cast<ptrdiff_t>(splices[0].at));
    whole.insert(whole.end(), bytes.begin(), bytes.end());
    whole.insert(whole.end(), framing.begin() + static_cast<ptrdiff_t>(splices[0].at),
                 framing.end());
    CHECK(whole == e.bytes());
  }
}

TEST_CASE("partial batch filler: clients see a partial trailing batch") {
  const auto batch = storage::testing::make_batch(5);
  for (uint64_t missing : {1, 11, 12, 13, 16, 17, 18, 30, 60, 61, 62, 1000, 100000}) {
    CAPTURE(missing);
    auto filler = partial_batch_filler(missing);
    CHECK(filler.size() == missing);
    protocol::Bytes records = batch;
    records.insert(records.end(), filler.begin(), filler.end());
    record::BatchIterator it(records);
    auto first = it.next();
    REQUIRE(first);
    CHECK_FALSE(it.next());
    CHECK(it.error().ok());
    CHECK(it.has_partial_batch());
    if (missing >= 12) {
      record::BatchView head(filler);
      CHECK(head.batch_length() >= 49);
      CHECK(static_cast<uint64_t>(head.batch_length()) + 12 > missing);
    }
  }
}

namespace {

// Answers every request with a fixed outcome.
class FixedDispatcher : public Dispatcher {
 public:
  explicit FixedDispatcher(std::function<RequestOutcome(const ConnectionInfo&)> make)
      : make_(std::move(make)) {}
  asio::awaitable<RequestOutcome> dispatch(const ConnectionInfo& conn,
                                           std::span<const uint8_t>) override {
    co_return make_(conn);
  }

 private:
  std::function<RequestOutcome(const ConnectionInfo&)> make_;
};

// Sends one request through a real Connection and returns the response frame's body.
protocol::Bytes round_trip(Dispatcher& dispatcher) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  auto server_socket = acceptor.accept();
  auto conn =
      std::make_shared<Connection>(std::move(server_socket), ConnectionInfo{1, "test", "PLAINTEXT"},
                                   dispatcher, ConnectionLimits{});
  conn->start();
  protocol::Bytes body;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const uint8_t request[] = {0, 0, 0, 8, 0, 1, 0, 4, 0, 0, 0, 9};
        co_await asio::async_write(client, asio::buffer(request), asio::use_awaitable);
        uint8_t prefix[4];
        co_await asio::async_read(client, asio::buffer(prefix), asio::use_awaitable);
        body.resize(kfk::load_be<uint32_t>(prefix));
        co_await asio::async_read(client, asio::buffer(body), asio::use_awaitable);
        client.close();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  return body;
}

}  // namespace

TEST_CASE("connection: file regions go out with sendfile, in place") {
  BatchFile f;
  FixedDispatcher dispatcher([&](const ConnectionInfo& conn) {
    CHECK(conn.sends_files);
    RequestOutcome o;
    o.response = {1, 2, 3, 4, 5, 6};
    ResponseSplice a;
    a.at = 2;
    a.length = f.batch_ends[1];
    a.regions.push_back(FileRegion{f.handle, f.handle->fd(), 0, f.batch_ends[0]});
    a.regions.push_back(
        FileRegion{f.handle, f.handle->fd(), f.batch_ends[0], f.batch_ends[1] - f.batch_ends[0]});
    ResponseSplice b;
    b.at = 6;
    b.length = f.bytes.size();
    b.regions.push_back(FileRegion{f.handle, f.handle->fd(), 0, f.bytes.size()});
    o.splices = {a, b};
    return o;
  });
  const auto body = round_trip(dispatcher);
  protocol::Bytes expected = {1, 2};
  expected.insert(expected.end(), f.bytes.begin(),
                  f.bytes.begin() + static_cast<ptrdiff_t>(f.batch_ends[1]));
  expected.insert(expected.end(), {3, 4, 5, 6});
  expected.insert(expected.end(), f.bytes.begin(), f.bytes.end());
  CHECK(body == expected);
}

TEST_CASE("connection: a file shortened after framing still gives the promised bytes") {
  BatchFile f;
  const uint64_t promised = f.bytes.size();
  FixedDispatcher dispatcher([&](const ConnectionInfo&) {
    RequestOutcome o;
    o.response = {9, 9};
    ResponseSplice s;
    s.at = 1;
    s.length = promised;
    s.regions.push_back(FileRegion{f.handle, f.handle->fd(), 0, promised});
    o.splices = {s};
    // A truncation between the read and the send. The log truncates at batch boundaries
    // (truncate_to, recovery), so the file now ends after the first batch.
    const auto cut = f.batch_ends[0];
    REQUIRE(::truncate(f.path.c_str(), static_cast<off_t>(cut)) == 0);
    return o;
  });
  const auto body = round_trip(dispatcher);
  REQUIRE(body.size() == 2 + promised);
  CHECK(body.front() == 9);
  CHECK(body.back() == 9);
  protocol::Bytes records(body.begin() + 1, body.end() - 1);
  record::BatchIterator it(records);
  REQUIRE(it.next());
  CHECK_FALSE(it.next());
  CHECK(it.error().ok());
  CHECK(it.has_partial_batch());
}

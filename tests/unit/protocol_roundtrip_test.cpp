// Every generated message at every version: encode a pseudo-random sample, check the size
// function, decode, compare, and re-encode byte for byte.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/protocol/api_keys.h"
#include "core/protocol/messages/fetch.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/writer.h"
#include "sample_gen.h"

using namespace kfk::protocol;

TEST_CASE("protocol: every message round-trips at every version") {
  const auto& cases = testing::all_sample_cases();
  CHECK(cases.size() > 200);
  size_t checked = 0;
  for (const auto& c : cases) {
    for (int16_t v = c.min_version; v <= c.max_version; ++v) {
      for (uint64_t seed = 1; seed <= 40; ++seed) {
        std::string failure = c.run(v, seed * 7919 + static_cast<uint64_t>(v));
        if (!failure.empty()) {
          FAIL_CHECK(c.name << " v" << v << " seed " << seed << ": " << failure);
          break;
        }
        ++checked;
      }
    }
  }
  MESSAGE("round trips checked: " << checked);
}

TEST_CASE("protocol: api table covers every request/response pair") {
  std::set<int16_t> keys;
  for (const auto& api : all_apis()) {
    CHECK(keys.insert(api.key).second);
    CHECK(api.min_version <= api.max_version);
    CHECK(find_api(api.key) == &api);
  }
  CHECK(keys.size() >= 85);
  // Kafka 4.0 minimums (KIP-896), except the client APIs that Kafka 3.9 still served from
  // older versions: clients in use still speak them.
  CHECK(find_api(0)->min_version == 0);   // Produce (message format v0/v1 converted)
  CHECK(find_api(1)->min_version == 0);   // Fetch (down-converted to v0/v1)
  CHECK(find_api(2)->min_version == 0);   // ListOffsets: kept for older tools (Burrow)
  CHECK(find_api(11)->min_version == 0);  // JoinGroup
  CHECK(find_api(12)->min_version == 0);  // Heartbeat
  CHECK(find_api(17)->min_version == 1);  // SaslHandshake
  CHECK(find_api(3)->min_version == 0);   // Metadata
  CHECK(find_api(18)->max_version >= 3);  // ApiVersions
  CHECK(find_api(9999) == nullptr);
}

TEST_CASE("protocol: header versions") {
  CHECK(request_header_version(18, 3) == 2);  // ApiVersions v3 is flexible
  CHECK(request_header_version(18, 2) == 1);
  CHECK(response_header_version(18, 3) == 0);  // ApiVersions responses keep header v0
  CHECK(response_header_version(3, 9) == 1);   // Metadata v9+ flexible
  CHECK(response_header_version(3, 8) == 0);
  CHECK(request_header_version(1, 12) == 2);
}

TEST_CASE("protocol: request header v2 keeps client id non-compact") {
  RequestHeader h;
  h.request_api_key = 18;
  h.request_api_version = 3;
  h.correlation_id = 7;
  h.client_id = "abc";
  Writer w;
  h.encode(w, 2);
  const Bytes expected = {0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 'a', 'b', 'c', 0};
  CHECK(w.bytes() == expected);
}

TEST_CASE("protocol: fetch request v12 known bytes") {
  // Hand-assembled from the field layout: replica_id, max_wait, min_bytes, max_bytes,
  // isolation, session id/epoch, compact topics, forgotten topics, rack id, then tagged fields
  // with cluster id (tag 0).
  FetchRequest f;
  f.replica_id = -1;
  f.max_wait_ms = 500;
  f.min_bytes = 1;
  f.max_bytes = 1024;
  f.isolation_level = 1;
  f.session_id = 0;
  f.session_epoch = -1;
  f.rack_id = "";
  f.cluster_id = "c";
  auto& t = f.topics.emplace_back();
  t.topic = "t";
  auto& p = t.partitions.emplace_back();
  p.partition = 2;
  p.fetch_offset = 5;
  p.partition_max_bytes = 100;
  Writer w;
  f.encode(w, 12);
  const Bytes expected = {
      0xff, 0xff, 0xff, 0xff,                          // replica id
      0,    0,    1,    0xf4,                          // max wait 500
      0,    0,    0,    1,                             // min bytes
      0,    0,    4,    0,                             // max bytes
      1,                                               // isolation
      0,    0,    0,    0,                             // session id
      0xff, 0xff, 0xff, 0xff,                          // session epoch
      2,                                               // 1 topic
      2,    't',                                       // topic name
      2,                                               // 1 partition
      0,    0,    0,    2,                             // partition
      0xff, 0xff, 0xff, 0xff,                          // current leader epoch
      0,    0,    0,    0,    0,    0,    0,    5,     // fetch offset
      0xff, 0xff, 0xff, 0xff,                          // last fetched epoch
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // log start offset
      0,    0,    0,    100,                           // partition max bytes
      0,                                               // partition tags
      0,                                               // topic tags
      1,                                               // no forgotten topics
      1,                                               // rack id ""
      1,    0,    2,    2,    'c',                     // one tag: 0, size 2, compact string "c"
  };
  CHECK(w.bytes() == expected);
  FetchRequest back;
  Reader r(w.bytes());
  REQUIRE(back.decode(r, 12));
  CHECK(back == f);
}

TEST_CASE("protocol: unknown tagged fields survive a round trip") {
  RequestHeader h;
  h.request_api_key = 3;
  h.request_api_version = 12;
  h.client_id = std::nullopt;
  h.unknown_tags.push_back({5, {1, 2, 3}});
  Writer w;
  h.encode(w, 2);
  RequestHeader back;
  Reader r(w.bytes());
  REQUIRE(back.decode(r, 2));
  REQUIRE(back.unknown_tags.size() == 1);
  CHECK(back.unknown_tags[0].tag == 5);
  CHECK(back.unknown_tags[0].data == Bytes{1, 2, 3});
  CHECK_FALSE(back.client_id.has_value());
}

TEST_CASE("protocol: truncated and lying inputs fail cleanly") {
  FetchRequest f;
  f.topics.resize(2);
  f.topics[0].partitions.resize(3);
  Writer w;
  f.encode(w, 13);
  const Bytes& full = w.bytes();
  for (size_t n = 0; n < full.size(); ++n) {
    FetchRequest back;
    Reader r(std::span<const uint8_t>(full.data(), n));
    CHECK_FALSE((back.decode(r, 13) && r.expect_end("end")));
    CHECK_FALSE(r.error().message().empty());
  }
  // An array count far larger than the input.
  Bytes lying = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
  RequestHeader h;
  Reader r(lying);
  CHECK_FALSE(h.decode(r, 1));
  FetchRequest back;
  Reader r2(std::span<const uint8_t>(full.data(), full.size()));
  CHECK_FALSE(back.decode(r2, 99));  // a version past the last one
  CHECK(r2.error().kind == DecodeErrorKind::unsupported_version);
}

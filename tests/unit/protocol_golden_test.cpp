// Requests captured on the wire from real clients (tests/golden/data, see its README) decode
// and re-encode byte for byte.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "core/protocol/api_keys.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/writer.h"

namespace fs = std::filesystem;
using namespace kfk::protocol;

namespace {

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Captured {
  std::string client;
  std::string api;
  int16_t version;
};

// Splits a request into header and body, round-trips both, and returns the bytes re-encoded.
std::string roundtrip_request(const Bytes& frame, Bytes& reencoded, int16_t& key,
                              int16_t& version) {
  Reader peek(frame);
  key = peek.read_int16("api key");
  version = peek.read_int16("api version");
  if (!peek.ok()) return "frame too short";
  RequestHeader header;
  Reader r(frame);
  const int16_t hv = request_header_version(key, version);
  if (!header.decode(r, hv)) return "header: " + r.error().message();
  Writer w;
  header.encode(w, hv);
  Bytes body;
  DecodeError err;
  if (!roundtrip_request_body(key, version, r.rest(), body, err)) return "body: " + err.message();
  w.write_raw(body);
  reencoded = w.take();
  return {};
}

}  // namespace

TEST_CASE("protocol golden: requests from real clients round-trip byte-exact") {
  const fs::path root = fs::path(KFK_TEST_DATA_DIR) / "golden" / "data";
  REQUIRE_MESSAGE(fs::is_directory(root), "missing golden data at " << root.string());
  std::map<std::string, std::set<std::string>> apis_by_client;
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".bin") continue;
    const std::string client = entry.path().parent_path().filename().string();
    const Bytes frame = read_file(entry.path());
    Bytes again;
    int16_t key = -1, version = -1;
    const std::string failure = roundtrip_request(frame, again, key, version);
    INFO(entry.path().string());
    CHECK_MESSAGE(failure.empty(), failure);
    if (!failure.empty()) continue;
    CHECK(again == frame);
    const ApiInfo* api = find_api(key);
    REQUIRE(api != nullptr);
    apis_by_client[client].insert(api->name);
    ++files;
  }
  MESSAGE("golden requests checked: " << files);
  CHECK(files >= 20);

  // The common APIs are covered by librdkafka and by kafka-python.
  std::set<std::string> librdkafka, kafka_python;
  for (const auto& [client, apis] : apis_by_client) {
    auto& into = client.rfind("kafka-python", 0) == 0 ? kafka_python : librdkafka;
    into.insert(apis.begin(), apis.end());
  }
  for (const char* api :
       {"ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "FindCoordinator",
        "JoinGroup", "SyncGroup", "OffsetCommit", "OffsetFetch", "CreateTopics"}) {
    CHECK_MESSAGE(librdkafka.count(api) == 1, "no librdkafka capture of " << api);
    CHECK_MESSAGE(kafka_python.count(api) == 1, "no kafka-python capture of " << api);
  }
}

// Offset checkpoint files: Kafka's text format, atomic replacement, strict parsing.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "server/storage/checkpoint_file.h"
#include "storage_test_support.h"

using namespace kfk::storage;
using kfk::storage::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StorageErrorKind parse_error(std::string_view text) {
  auto r = parse_checkpoint(text);
  return r ? StorageErrorKind::none : r.error().kind;
}

}  // namespace

TEST_CASE("storage: checkpoint files round-trip in Kafka's format") {
  TempDir dir;
  OffsetCheckpointFile file(dir.path() / std::string(kRecoveryPointCheckpoint));
  OffsetMap offsets = {{{"orders", 0}, 1500},
                       {{"orders", 11}, 0},
                       {{"__consumer_offsets", 42}, 9'000'000'000},
                       {{"a.b_c-d", 3}, 7}};
  REQUIRE(file.write(offsets).ok());
  CHECK(slurp(file.path()) ==
        "0\n4\n__consumer_offsets 42 9000000000\na.b_c-d 3 7\norders 0 1500\norders 11 0\n");
  auto back = file.read();
  REQUIRE(back);
  CHECK(*back == offsets);
  CHECK(!fs::exists(file.path().string() + ".tmp"));

  REQUIRE(file.write({}).ok());
  CHECK(slurp(file.path()) == "0\n0\n");
  CHECK(file.read()->empty());
}

TEST_CASE("storage: a missing checkpoint file reads as empty") {
  TempDir dir;
  OffsetCheckpointFile file(dir.path() / "log-start-offset-checkpoint");
  auto r = file.read();
  REQUIRE(r);
  CHECK(r->empty());
}

TEST_CASE("storage: checkpoint parsing accepts what Kafka writes") {
  CHECK(parse_error("0\n1\nt 0 5\n") == StorageErrorKind::none);
  CHECK(parse_error("0\n1\nt 0 5") == StorageErrorKind::none);          // no final newline
  CHECK(parse_error("0\r\n1\r\nt 0 5\r\n") == StorageErrorKind::none);  // CRLF
  CHECK(parse_error("0\n1\nt 0 5\n\n") == StorageErrorKind::none);      // trailing blank line
  CHECK(parse_error("0\n1\nt 0 -1\n") == StorageErrorKind::none);       // offsets may be -1
}

TEST_CASE("storage: checkpoint parsing rejects garbage with the line at fault") {
  for (std::string_view text : {
           "",                                  // empty
           "1\n0\n",                            // another version
           "x\n0\n",                            // version not a number
           "0\n",                               // no count
           "0\n-1\n",                           // negative count
           "0\n2\nt 0 5\n",                     // fewer entries than announced
           "0\n1\nt 0 5\nu 0 6\n",              // more
           "0\n1\nt 0\n",                       // missing field
           "0\n1\nt 0 5 6\n",                   // extra field
           "0\n1\nt  0 5\n",                    // double space
           "0\n1\n 0 5\n",                      // empty topic
           "0\n1\nt x 5\n",                     // partition not a number
           "0\n1\nt -1 5\n",                    // negative partition
           "0\n1\nt 0 5x\n",                    // offset not a number
           "0\n1\nt 0 99999999999999999999\n",  // offset overflow
           "0\n2\nt 0 5\nt 0 6\n",              // a partition twice
           "0\n2\nt 0 5\n\nt 1 6\n",            // a blank line inside
       }) {
    CAPTURE(text);
    auto r = parse_checkpoint(text);
    REQUIRE(!r);
    CHECK(r.error().kind == StorageErrorKind::corrupt_checkpoint);
    CHECK(r.error().detail.find("line ") == 0);
  }
  auto r = parse_checkpoint("0\n2\nt 0 5\nt x 6\n");
  CHECK(r.error().detail.find("line 4") == 0);
}

TEST_CASE("storage: a damaged checkpoint file reports its path") {
  TempDir dir;
  fs::path path = dir.path() / "recovery-point-offset-checkpoint";
  std::ofstream(path) << "0\n3\nt 0 1\n";
  auto r = OffsetCheckpointFile(path).read();
  REQUIRE(!r);
  CHECK(r.error().kind == StorageErrorKind::corrupt_checkpoint);
  CHECK(r.error().message().find(path.string()) != std::string::npos);
}

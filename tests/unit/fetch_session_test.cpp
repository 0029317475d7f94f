// The fetch session cache (KIP-227): session metadata handling, incremental updates, the
// partitions an incremental response carries, and eviction.
#include "server/fetch/fetch_session.h"

#include <doctest/doctest.h>

#include <vector>

using namespace kfk;
using namespace kfk::server;
using protocol::ErrorCode;

namespace {

FetchPartitionState part(const std::string& topic, int32_t p, int64_t offset = 0) {
  FetchPartitionState s;
  s.key = FetchPartitionKey{{}, topic, p};
  s.fetch_offset = offset;
  s.max_bytes = 1 << 20;
  return s;
}

FetchSessionRequest request(int32_t id, int32_t epoch, std::vector<FetchPartitionState> parts,
                            std::vector<FetchPartitionKey> forgotten = {}) {
  FetchSessionRequest r;
  r.session_id = id;
  r.session_epoch = epoch;
  r.partitions = std::move(parts);
  r.forgotten = std::move(forgotten);
  return r;
}

std::vector<FetchPartitionOutcome> outcomes(size_t n, int64_t hw = 10, uint64_t bytes = 0) {
  std::vector<FetchPartitionOutcome> out(n);
  for (auto& o : out) {
    o.high_watermark = hw;
    o.log_start_offset = 0;
    o.records_bytes = bytes;
  }
  return out;
}

// A full fetch of `parts` that opens a session; returns its id.
int32_t open_session(FetchSessionCache& cache, std::vector<FetchPartitionState> parts,
                     int64_t now = 0) {
  auto ctx = cache.new_context(request(0, 0, std::move(parts)), now);
  REQUIRE(ctx.kind == FetchContextKind::full);
  return cache.complete_full(ctx, outcomes(ctx.partitions.size()), now);
}

std::vector<int32_t> partitions_of(const FetchContext& ctx, const std::vector<size_t>& selected) {
  std::vector<int32_t> out;
  for (size_t i : selected) out.push_back(ctx.partitions[i].key.partition);
  return out;
}

}  // namespace

TEST_CASE("fetch session: sessionless fetches and a full fetch opening a session") {
  FetchSessionCache cache;
  auto ctx = cache.new_context(request(0, -1, {part("a", 0), part("a", 1)}), 0);
  CHECK(ctx.kind == FetchContextKind::sessionless);
  CHECK(ctx.partitions.size() == 2);
  CHECK(cache.complete_full(ctx, outcomes(2), 0) == 0);
  CHECK(cache.size() == 0);

  const int32_t id = open_session(cache, {part("a", 0), part("a", 1)});
  CHECK(id > 0);
  auto info = cache.describe(id);
  REQUIRE(info);
  CHECK(info->epoch == 1);
  CHECK(info->partitions.size() == 2);
  CHECK(info->partitions[0].high_watermark == 10);
}

TEST_CASE("fetch session: unknown ids, wrong epochs and topic id mismatches") {
  FetchSessionCache cache;
  const int32_t id = open_session(cache, {part("a", 0)});
  auto missing = cache.new_context(request(id + 1, 1, {}), 0);
  CHECK(missing.kind == FetchContextKind::error);
  CHECK(missing.error == ErrorCode::fetch_session_id_not_found);

  auto stale = cache.new_context(request(id, 5, {}), 0);
  CHECK(stale.error == ErrorCode::invalid_fetch_session_epoch);

  auto ids = request(id, 1, {});
  ids.uses_topic_ids = true;
  CHECK(cache.new_context(ids, 0).error == ErrorCode::fetch_session_topic_id_error);

  // The right epoch works, and advances the epoch.
  auto ok = cache.new_context(request(id, 1, {}), 0);
  CHECK(ok.kind == FetchContextKind::incremental);
  CHECK(ok.session_id == id);
  CHECK(cache.describe(id)->epoch == 2);
  // Replaying the same epoch now fails.
  CHECK(cache.new_context(request(id, 1, {}), 0).error == ErrorCode::invalid_fetch_session_epoch);
}

TEST_CASE("fetch session: incremental fetches add, update and forget partitions") {
  FetchSessionCache cache;
  const int32_t id = open_session(cache, {part("a", 0), part("a", 1)});
  // Add a-2, move a-0 to offset 5, forget a-1.
  auto ctx = cache.new_context(
      request(id, 1, {part("a", 0, 5), part("a", 2, 7)}, {FetchPartitionKey{{}, "a", 1}}), 0);
  REQUIRE(ctx.kind == FetchContextKind::incremental);
  REQUIRE(ctx.partitions.size() == 2);
  CHECK(ctx.partitions[0].key.partition == 0);
  CHECK(ctx.partitions[0].fetch_offset == 5);
  CHECK(ctx.partitions[1].key.partition == 2);
  CHECK(ctx.partitions[1].fetch_offset == 7);

  // Forgetting everything ends the session: the fetch is answered without one.
  auto last = cache.new_context(
      request(id, 2, {}, {FetchPartitionKey{{}, "a", 0}, FetchPartitionKey{{}, "a", 2}}), 0);
  CHECK(last.kind == FetchContextKind::sessionless);
  CHECK(cache.size() == 0);
}

TEST_CASE("fetch session: an incremental response carries only what changed") {
  FetchSessionCache cache;
  const int32_t id = open_session(cache, {part("a", 0), part("a", 1), part("a", 2)});
  auto ctx = cache.new_context(request(id, 1, {}), 0);
  REQUIRE(ctx.partitions.size() == 3);
  // Nothing changed: nothing is sent.
  CHECK(cache.complete_incremental(ctx, outcomes(3)).empty());

  ctx = cache.new_context(request(id, 2, {}), 0);
  auto o = outcomes(3);
  o[1].records_bytes = 100;  // records
  o[2].high_watermark = 11;  // the high watermark moved
  auto selected = cache.complete_incremental(ctx, o);
  CHECK(partitions_of(ctx, selected) == std::vector<int32_t>{1, 2});
  // The partitions sent move to the end of the order; a-0 now comes first.
  auto info = cache.describe(id);
  REQUIRE(info);
  CHECK(info->partitions[0].key.partition == 0);
  CHECK(info->partitions[1].key.partition == 1);
  CHECK(info->partitions[2].key.partition == 2);
  CHECK(info->partitions[2].high_watermark == 11);

  // The new high watermark was remembered: unchanged now. Errors are always sent.
  ctx = cache.new_context(request(id, 3, {}), 0);
  o = outcomes(3);
  o[2].high_watermark = 11;
  o[0].error_code = 1;
  o[0].high_watermark = -1;
  o[0].log_start_offset = -1;
  selected = cache.complete_incremental(ctx, o);
  CHECK(partitions_of(ctx, selected) == std::vector<int32_t>{0});
}

TEST_CASE("fetch session: a full fetch replaces the session; the final epoch closes it") {
  FetchSessionCache cache;
  const int32_t id = open_session(cache, {part("a", 0)});
  auto ctx = cache.new_context(request(id, 0, {part("b", 0)}), 0);
  CHECK(ctx.kind == FetchContextKind::full);
  CHECK_FALSE(cache.describe(id));
  const int32_t id2 = cache.complete_full(ctx, outcomes(1), 0);
  CHECK(id2 > 0);
  auto close = cache.new_context(request(id2, -1, {part("b", 0)}), 0);
  CHECK(close.kind == FetchContextKind::sessionless);
  CHECK(cache.size() == 0);
}

TEST_CASE("fetch session: eviction of idle and small sessions when the cache is full") {
  int32_t next = 0;
  FetchSessionCache cache(2, 1000, [&] { return ++next; });
  const int32_t a = open_session(cache, {part("a", 0)}, 0);
  const int32_t b = open_session(cache, {part("a", 0), part("a", 1), part("a", 2)}, 0);
  CHECK(cache.size() == 2);
  // Full, nothing idle long enough nor old enough: no session for the newcomer.
  CHECK(open_session(cache, {part("c", 0)}, 500) == 0);
  CHECK(cache.size() == 2);
  // b stays in use; a goes idle past the eviction time and is evicted for a newcomer.
  REQUIRE(cache.new_context(request(b, 1, {}), 1500).kind == FetchContextKind::incremental);
  const int32_t c = open_session(cache, {part("c", 0)}, 1600);
  CHECK(c > 0);
  CHECK_FALSE(cache.describe(a));
  CHECK(cache.describe(b));
  // Nothing idle now (b used at 1500, c at 1600); b is old enough but larger than a
  // one-partition newcomer, c is not old enough: refused.
  CHECK(open_session(cache, {part("d", 0)}, 2000) == 0);
  // A newcomer at least as large as b takes b's slot.
  const int32_t d = open_session(cache, {part("d", 0), part("d", 1), part("d", 2)}, 2000);
  CHECK(d > 0);
  CHECK_FALSE(cache.describe(b));
  CHECK(cache.describe(c));
}

TEST_CASE("fetch session: epochs wrap to 1") {
  CHECK(next_fetch_epoch(0) == 1);
  CHECK(next_fetch_epoch(41) == 42);
  CHECK(next_fetch_epoch(INT32_MAX) == 1);
  CHECK(next_fetch_epoch(-1) == -1);
}

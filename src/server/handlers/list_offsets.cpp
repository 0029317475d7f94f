#include "server/handlers/list_offsets.h"

#include <set>
#include <utility>

#include "core/protocol/errors.h"
#include "server/broker.h"
#include "server/partition/partition.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using PartitionResponse = protocol::ListOffsetsResponse::ListOffsetsPartitionResponse;

// KIP-1023's latest tiered offset: without tiered storage there is none.
constexpr int64_t kLatestTieredTimestamp = -5;

void fail(PartitionResponse& out, ErrorCode code) {
  out.error_code = static_cast<int16_t>(code);
  out.timestamp = -1;
  out.offset = -1;
  out.leader_epoch = -1;
}

void list_partition(const PartitionTable& partitions, const std::string& topic_name,
                    const protocol::ListOffsetsRequest::ListOffsetsPartition& p,
                    PartitionResponse& out) {
  out.partition_index = p.partition_index;
  const PartitionLookup leader =
      partitions.leader(topic_name, p.partition_index, p.current_leader_epoch);
  if (!leader.ok()) return fail(out, leader.error);
  storage::PartitionLog& log = leader.partition->log();

  out.error_code = 0;
  out.timestamp = -1;
  out.offset = -1;
  out.leader_epoch = -1;
  if (p.timestamp == kLatestTieredTimestamp) return;
  auto found = log.list_offset(p.timestamp);
  if (!found) return fail(out, found.error().kafka_error_code());
  if (!*found) return;
  const storage::OffsetAndTimestamp& r = **found;
  // Only the earliest and latest offsets may be at the high watermark; a record found by
  // time (or the largest timestamp) past what consumers may read is not reported.
  const bool special = p.timestamp == storage::kLatestTimestamp ||
                       p.timestamp == storage::kEarliestTimestamp ||
                       p.timestamp == storage::kEarliestLocalTimestamp;
  if (!special && r.offset >= log.high_watermark()) return;
  out.offset = r.offset;
  out.timestamp = r.timestamp;
  // With one replica the leader epoch never changes under a partition's records, so the
  // current one is the epoch of every offset.
  out.leader_epoch = leader.state->leader_epoch;
}

}  // namespace

asio::awaitable<void> ListOffsetsHandler::handle(RequestContext& ctx, const Request& req,
                                                 Response& resp) {
  resp.throttle_time_ms = 0;
  const auto partitions = ctx.broker.partitions();
  std::set<std::pair<std::string, int32_t>> seen, duplicates;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions)
      if (!seen.emplace(t.name, p.partition_index).second)
        duplicates.emplace(t.name, p.partition_index);
  for (const auto& t : req.topics) {
    auto& topic = resp.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partitions) {
      auto& out = topic.partitions.emplace_back();
      out.partition_index = p.partition_index;
      if (duplicates.contains({t.name, p.partition_index}))
        fail(out, ErrorCode::invalid_request);  // as Kafka answers a partition listed twice
      else
        list_partition(*partitions, t.name, p, out);
      // v0 (still used by older tools such as Burrow) answers with a list of offsets; one,
      // the offset found, satisfies any max_num_offsets of at least one.
      if (ctx.version() == 0 && out.error_code == 0 && out.offset >= 0 && p.max_num_offsets > 0)
        out.old_style_offsets.push_back(out.offset);
    }
  }
  co_return;
}

}  // namespace kfk::server

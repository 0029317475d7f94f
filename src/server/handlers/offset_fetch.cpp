#include "server/handlers/offset_fetch.h"

#include <map>

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using TopicList = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;

// The offsets of one group, grouped by topic in request order (or by name for "all").
template <class OutTopic>
ErrorCode fetch_group(RequestContext& ctx, const std::string& group_id, const TopicList& topics,
                      std::vector<OutTopic>& out) {
  std::vector<group::FetchedOffset> fetched;
  const ErrorCode err = ctx.broker.group_coordinator().fetch_offsets(group_id, topics, fetched);
  if (err != ErrorCode::none) return err;
  std::map<std::string, size_t> index;
  for (auto& f : fetched) {
    auto [it, inserted] = index.emplace(f.tp.topic, out.size());
    if (inserted) out.emplace_back().name = f.tp.topic;
    auto& p = out[it->second].partitions.emplace_back();
    p.partition_index = f.tp.partition;
    p.committed_offset = f.offset;
    p.committed_leader_epoch = f.leader_epoch;
    p.metadata = f.metadata;
    p.error_code = static_cast<int16_t>(f.error);
  }
  return ErrorCode::none;
}

}  // namespace

asio::awaitable<void> OffsetFetchHandler::handle(RequestContext& ctx, const Request& req,
                                                 Response& resp) {
  resp.throttle_time_ms = 0;
  if (ctx.version() < 8) {
    TopicList topics;
    if (req.topics) {
      topics.emplace();
      for (const auto& t : *req.topics) topics->emplace_back(t.name, t.partition_indexes);
    }
    const ErrorCode err = fetch_group(ctx, req.group_id, topics, resp.topics);
    // v1 has no group-level error: it goes into each partition.
    if (ctx.version() >= 2) {
      resp.error_code = static_cast<int16_t>(err);
    } else if (err != ErrorCode::none) {
      for (auto& t : resp.topics)
        for (auto& p : t.partitions) p.error_code = static_cast<int16_t>(err);
    }
    co_return;
  }
  for (const auto& g : req.groups) {
    TopicList topics;
    if (g.topics) {
      topics.emplace();
      for (const auto& t : *g.topics) topics->emplace_back(t.name, t.partition_indexes);
    }
    auto& out = resp.groups.emplace_back();
    out.group_id = g.group_id;
    out.error_code = static_cast<int16_t>(fetch_group(ctx, g.group_id, topics, out.topics));
  }
  co_return;
}

}  // namespace kfk::server

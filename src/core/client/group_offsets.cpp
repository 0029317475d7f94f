#include "core/client/group_offsets.h"

#include <algorithm>

#include "core/net/request.h"
#include "core/protocol/messages/offset_commit.h"
#include "core/protocol/messages/offset_fetch.h"

namespace kfk::client {

namespace {

// OffsetFetch puts everything in a list of groups from v8 (KIP-709).
constexpr int16_t kFirstBatchedOffsetFetch = 8;
// OffsetFetch topics may be null ("every topic") from v2.
constexpr int16_t kFirstOffsetFetchAllTopics = 2;
constexpr int16_t kFirstOffsetFetchRequireStable = 7;

template <class Topic>
std::vector<Topic> topics_of(const std::vector<TopicPartition>& partitions) {
  std::vector<Topic> out;
  for (const auto& tp : partitions) {
    auto it =
        std::find_if(out.begin(), out.end(), [&](const Topic& t) { return t.name == tp.topic; });
    if (it == out.end()) {
      it = out.emplace(out.end());
      it->name = tp.topic;
    }
    it->partition_indexes.push_back(tp.partition);
  }
  return out;
}

template <class Topic>
void collect(const std::vector<Topic>& topics, OffsetFetchResult& out) {
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) {
      CommittedOffset c;
      c.offset = p.committed_offset;
      c.leader_epoch = p.committed_leader_epoch;
      c.metadata = p.metadata;
      c.error = p.error_code;
      out.offsets[TopicPartition{t.name, p.partition_index}] = std::move(c);
    }
  }
}

}  // namespace

OffsetFetchResult fetch_committed(net::Connection& conn, const std::string& group,
                                  const std::optional<std::vector<TopicPartition>>& partitions,
                                  bool require_stable) {
  const int16_t version = conn.require_version(protocol::OffsetFetchRequest::api_key);
  protocol::OffsetFetchRequest request;
  request.require_stable = require_stable && version >= kFirstOffsetFetchRequireStable;
  if (version >= kFirstBatchedOffsetFetch) {
    auto& g = request.groups.emplace_back();
    g.group_id = group;
    g.member_id.reset();
    if (partitions) {
      g.topics = topics_of<protocol::OffsetFetchRequest::OffsetFetchRequestTopics>(*partitions);
    } else {
      g.topics.reset();
    }
  } else {
    request.group_id = group;
    if (partitions) {
      request.topics =
          topics_of<protocol::OffsetFetchRequest::OffsetFetchRequestTopic>(*partitions);
    } else if (version >= kFirstOffsetFetchAllTopics) {
      request.topics.reset();
    }
  }
  const auto response = net::call<protocol::OffsetFetchResponse>(conn, request, version);
  OffsetFetchResult out;
  if (version >= kFirstBatchedOffsetFetch) {
    for (const auto& g : response.groups) {
      if (g.group_id != group) continue;
      out.error = g.error_code;
      collect(g.topics, out);
    }
  } else {
    out.error = response.error_code;
    collect(response.topics, out);
  }
  return out;
}

OffsetCommitResult commit_offsets(net::Connection& conn, const std::string& group,
                                  const CommitIdentity& who,
                                  const std::map<TopicPartition, int64_t>& offsets) {
  const int16_t version = conn.require_version(protocol::OffsetCommitRequest::api_key);
  protocol::OffsetCommitRequest request;
  request.group_id = group;
  request.generation_id_or_member_epoch = who.generation;
  request.member_id = who.member_id;
  request.group_instance_id = who.group_instance_id;
  for (const auto& [tp, offset] : offsets) {
    auto& p = add_partition_entry(request.topics, tp);
    p.committed_offset = offset;
    p.committed_metadata = std::string();
  }
  const auto response = net::call<protocol::OffsetCommitResponse>(conn, request, version);
  OffsetCommitResult out;
  for (const auto& t : response.topics) {
    for (const auto& p : t.partitions) {
      out.errors[TopicPartition{t.name, p.partition_index}] = p.error_code;
      if (out.error == 0) out.error = p.error_code;
    }
  }
  return out;
}

}  // namespace kfk::client

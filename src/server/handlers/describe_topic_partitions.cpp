#include "server/handlers/describe_topic_partitions.h"

#include <algorithm>

#include "server/broker.h"
#include "server/cluster/acl_operations.h"

namespace kfk::server {

using protocol::ErrorCode;

namespace {
// The most partitions one response carries, whatever the client asks (Kafka's default
// max.request.partition.size.limit).
constexpr int32_t kPartitionLimit = 2000;
}  // namespace

asio::awaitable<void> DescribeTopicPartitionsHandler::handle(RequestContext& ctx,
                                                             const Request& req, Response& resp) {
  resp.throttle_time_ms = 0;
  const auto image = ctx.broker.metadata();
  // Topics in name order: the ones asked for, or every topic.
  std::vector<std::string> names;
  if (req.topics.empty()) {
    for (const auto& [name, topic] : image->topics) names.push_back(name);
  } else {
    for (const auto& t : req.topics) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  int32_t budget = std::clamp(req.response_partition_limit, 1, kPartitionLimit);
  for (const auto& name : names) {
    if (req.cursor && name < req.cursor->topic_name) continue;
    if (budget == 0) {
      resp.next_cursor.emplace();
      resp.next_cursor->topic_name = name;
      resp.next_cursor->partition_index = 0;
      co_return;
    }
    auto& out = resp.topics.emplace_back();
    out.name = name;
    const TopicState* topic = image->find_topic(name);
    if (topic == nullptr) {
      out.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_or_partition);
      continue;
    }
    out.error_code = 0;
    out.topic_id = topic->id;
    out.is_internal = topic->internal;
    out.topic_authorized_operations = kTopicOperations;
    const int32_t first =
        req.cursor && req.cursor->topic_name == name ? req.cursor->partition_index : 0;
    for (const auto& p : topic->partitions) {
      if (p.partition < first) continue;
      if (budget == 0) {
        resp.next_cursor.emplace();
        resp.next_cursor->topic_name = name;
        resp.next_cursor->partition_index = p.partition;
        co_return;
      }
      --budget;
      auto& part = out.partitions.emplace_back();
      part.error_code = 0;
      part.partition_index = p.partition;
      part.leader_id = p.leader;
      part.leader_epoch = p.leader_epoch;
      part.replica_nodes = p.replicas;
      part.isr_nodes = p.isr;
      part.eligible_leader_replicas = std::vector<int32_t>{};
      part.last_known_elr = std::vector<int32_t>{};
    }
  }
  co_return;
}

}  // namespace kfk::server

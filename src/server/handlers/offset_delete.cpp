#include "server/handlers/offset_delete.h"

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<void> OffsetDeleteHandler::handle(RequestContext& ctx, const Request& req,
                                                  Response& resp) {
  resp.throttle_time_ms = 0;
  const auto image = ctx.broker.metadata();
  std::vector<group::TopicPartitionKey> partitions;
  std::vector<std::pair<size_t, size_t>> where;  // (topic, partition) in the response
  std::vector<ErrorCode> unknown;
  for (const auto& t : req.topics) {
    auto& out_topic = resp.topics.emplace_back();
    out_topic.name = t.name;
    const TopicState* topic = image->find_topic(t.name);
    for (const auto& p : t.partitions) {
      auto& out = out_topic.partitions.emplace_back();
      out.partition_index = p.partition_index;
      if (topic == nullptr || topic->find_partition(p.partition_index) == nullptr) {
        out.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      partitions.push_back(group::TopicPartitionKey{t.name, p.partition_index});
      where.emplace_back(resp.topics.size() - 1, out_topic.partitions.size() - 1);
    }
  }
  std::vector<ErrorCode> errors;
  const ErrorCode group_error =
      ctx.broker.group_coordinator().delete_offsets(req.group_id, partitions, errors);
  resp.error_code = static_cast<int16_t>(group_error);
  if (group_error != ErrorCode::none) {
    resp.topics.clear();
    co_return;
  }
  for (size_t i = 0; i < where.size(); ++i)
    resp.topics[where[i].first].partitions[where[i].second].error_code =
        static_cast<int16_t>(errors[i]);
  co_return;
}

}  // namespace kfk::server

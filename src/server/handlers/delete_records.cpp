#include "server/handlers/delete_records.h"

#include "core/config/topic_config.h"
#include "core/protocol/errors.h"
#include "server/broker.h"
#include "server/cluster/controller.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using PartitionResult = protocol::DeleteRecordsResponse::DeleteRecordsPartitionResult;

bool compact_only(Broker& broker, const MetadataImage& image, const TopicState& topic) {
  auto resolved =
      config::resolve_topic_config(broker.controller().broker_layers(image), topic.configs);
  return resolved && !resolved.value().cleanup_delete;
}

void delete_partition(Broker& broker, const MetadataImage& image, const std::string& topic_name,
                      const protocol::DeleteRecordsRequest::DeleteRecordsPartition& p,
                      PartitionResult& out) {
  out.partition_index = p.partition_index;
  out.low_watermark = -1;
  auto fail = [&](ErrorCode code) { out.error_code = static_cast<int16_t>(code); };
  const TopicState* topic = image.find_topic(topic_name);
  const PartitionState* part =
      topic != nullptr ? topic->find_partition(p.partition_index) : nullptr;
  if (part == nullptr) return fail(ErrorCode::unknown_topic_or_partition);
  if (part->leader != broker.config().node_id) return fail(ErrorCode::not_leader_or_follower);
  auto log = broker.partition_log(topic_name, p.partition_index);
  if (!log) return fail(ErrorCode::not_leader_or_follower);
  // Kafka keeps the records of a topic that is compacted and not deleted.
  if (compact_only(broker, image, *topic)) return fail(ErrorCode::policy_violation);
  // -1 stands for the high watermark; other negative offsets are out of range.
  if (p.offset < -1) return fail(ErrorCode::offset_out_of_range);
  auto start = log->delete_records_before(p.offset);
  if (!start) return fail(start.error().kafka_error_code());
  out.error_code = 0;
  out.low_watermark = *start;
}

}  // namespace

asio::awaitable<void> DeleteRecordsHandler::handle(RequestContext& ctx, const Request& req,
                                                   Response& resp) {
  resp.throttle_time_ms = 0;
  const auto image = ctx.broker.metadata();
  for (const auto& t : req.topics) {
    auto& topic = resp.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partitions)
      delete_partition(ctx.broker, *image, t.name, p, topic.partitions.emplace_back());
  }
  co_return;
}

}  // namespace kfk::server

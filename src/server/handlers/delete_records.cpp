#include "server/handlers/delete_records.h"

#include "core/protocol/errors.h"
#include "server/broker.h"
#include "server/partition/partition.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using PartitionResult = protocol::DeleteRecordsResponse::DeleteRecordsPartitionResult;

void delete_partition(const PartitionTable& partitions, const std::string& topic_name,
                      const protocol::DeleteRecordsRequest::DeleteRecordsPartition& p,
                      PartitionResult& out) {
  out.partition_index = p.partition_index;
  out.low_watermark = -1;
  auto fail = [&](ErrorCode code) { out.error_code = static_cast<int16_t>(code); };
  const PartitionLookup found = partitions.leader(topic_name, p.partition_index);
  if (!found.ok()) return fail(found.error);
  // Kafka keeps the records of a topic that is compacted and not deleted.
  const auto& resolved = found.settings->resolved;
  if (resolved && !resolved->cleanup_delete) return fail(ErrorCode::policy_violation);
  // -1 stands for the high watermark; other negative offsets are out of range.
  if (p.offset < -1) return fail(ErrorCode::offset_out_of_range);
  auto start = found.partition->log().delete_records_before(p.offset);
  if (!start) return fail(start.error().kafka_error_code());
  out.error_code = 0;
  out.low_watermark = *start;
}

}  // namespace

asio::awaitable<void> DeleteRecordsHandler::handle(RequestContext& ctx, const Request& req,
                                                   Response& resp) {
  resp.throttle_time_ms = 0;
  const auto partitions = ctx.broker.partitions();
  for (const auto& t : req.topics) {
    auto& topic = resp.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partitions)
      delete_partition(*partitions, t.name, p, topic.partitions.emplace_back());
  }
  co_return;
}

}  // namespace kfk::server

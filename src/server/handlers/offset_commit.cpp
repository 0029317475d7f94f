#include "server/handlers/offset_commit.h"

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<void> OffsetCommitHandler::handle(RequestContext& ctx, const Request& req,
                                                  Response& resp) {
  resp.throttle_time_ms = 0;
  const auto image = ctx.broker.metadata();
  group::CommitRequest commit;
  commit.group_id = req.group_id;
  commit.generation_id = req.generation_id_or_member_epoch;
  commit.member_id = req.member_id;
  commit.group_instance_id = req.group_instance_id;
  commit.retention_time_ms = req.retention_time_ms;  // -1 unless v2-4 sets it

  // Partitions of topics that do not exist are answered here; the rest go to the group.
  struct Slot {
    size_t topic;
    size_t partition;
    ErrorCode error = ErrorCode::none;
    bool committed = false;
  };
  std::vector<Slot> slots;
  for (const auto& t : req.topics) {
    auto& out_topic = resp.topics.emplace_back();
    out_topic.name = t.name;
    const TopicState* topic = image->find_topic(t.name);
    for (const auto& p : t.partitions) {
      auto& out = out_topic.partitions.emplace_back();
      out.partition_index = p.partition_index;
      Slot slot{resp.topics.size() - 1, out_topic.partitions.size() - 1};
      if (topic == nullptr || topic->find_partition(p.partition_index) == nullptr) {
        slot.error = ErrorCode::unknown_topic_or_partition;
      } else {
        slot.committed = true;
        commit.partitions.push_back(group::CommitRequest::Partition{
            group::TopicPartitionKey{t.name, p.partition_index}, p.committed_offset,
            p.committed_leader_epoch, p.committed_metadata, p.commit_timestamp});
      }
      slots.push_back(slot);
    }
  }
  std::vector<ErrorCode> errors;
  if (!commit.partitions.empty()) errors = ctx.broker.group_coordinator().commit_offsets(commit);
  size_t next = 0;
  for (const auto& slot : slots) {
    const ErrorCode e = slot.committed ? errors[next++] : slot.error;
    resp.topics[slot.topic].partitions[slot.partition].error_code = static_cast<int16_t>(e);
  }
  co_return;
}

}  // namespace kfk::server

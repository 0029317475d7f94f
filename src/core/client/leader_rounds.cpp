#include "core/client/leader_rounds.h"

#include <fmt/core.h>

#include <chrono>

#include "core/client/client.h"
#include "core/client/client_error.h"
#include "core/protocol/errors.h"

namespace kfk::client {

void retry_per_leader(Client& client, PartitionValues partitions, std::string_view what,
                      const std::function<void(const TopicPartition&)>& unknown,
                      const std::function<void(PartitionsByLeader&, LeaderRoundRetry&)>& round) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + client.options().api_timeout;
  for (int attempt = 0; !partitions.empty(); ++attempt) {
    PartitionsByLeader by_leader;
    LeaderRoundRetry retry;
    for (const auto& [tp, value] : partitions) {
      const PartitionMetadata* p = client.topic(tp.topic).partition(tp.partition);
      if (p == nullptr && unknown) {
        unknown(tp);
      } else if (p == nullptr || p->leader < 0) {
        retry.add(tp, value, protocol::to_int(protocol::ErrorCode::leader_not_available));
      } else {
        by_leader[p->leader][tp] = value;
      }
    }
    if (!by_leader.empty()) round(by_leader, retry);
    partitions = std::move(retry.partitions);
    if (partitions.empty()) break;
    if (Clock::now() >= deadline) {
      const TopicPartition& first = partitions.begin()->first;
      throw ClientError(ClientErrorKind::timeout,
                        fmt::format("{} {}-{}: still failing after {} ms: {}", what, first.topic,
                                    first.partition, client.options().api_timeout.count(),
                                    protocol::describe_error(retry.last_error)),
                        retry.last_error);
    }
    client.backoff(attempt);
  }
}

}  // namespace kfk::client

#include "server/handlers/describe_log_dirs.h"

#include <sys/statvfs.h>

#include <filesystem>
#include <set>

#include "core/protocol/errors.h"
#include "server/broker.h"
#include "server/storage/log_cleaner_manager.h"
#include "server/storage/log_manager.h"

namespace kfk::server {

asio::awaitable<void> DescribeLogDirsHandler::handle(RequestContext& ctx, const Request& req,
                                                     Response& resp) {
  resp.throttle_time_ms = 0;
  resp.error_code = 0;
  storage::LogManager& logs = ctx.broker.logs();
  // Null asks for every partition; a list for the partitions named.
  std::optional<std::set<storage::TopicPartition>> wanted;
  if (req.topics) {
    wanted.emplace();
    for (const auto& t : *req.topics)
      for (int32_t p : t.partitions) wanted->insert({t.topic, p});
  }
  const auto partitions = logs.partitions();  // sorted by topic, then partition
  const auto& dirs = logs.log_dirs();
  for (size_t d = 0; d < dirs.size(); ++d) {
    auto& result = resp.results.emplace_back();
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(dirs[d], ec);
    result.log_dir = (ec ? dirs[d] : absolute).lexically_normal().string();
    struct statvfs fs {};
    if (::statvfs(dirs[d].c_str(), &fs) == 0) {
      result.error_code = 0;
      result.total_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
      result.usable_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
    } else {
      // An unreadable dir is an offline one to Kafka.
      result.error_code = static_cast<int16_t>(protocol::ErrorCode::kafka_storage_error);
      continue;
    }
    for (const auto& tp : partitions) {
      if (wanted && !wanted->contains(tp)) continue;
      if (logs.dir_index(tp) != static_cast<int>(d)) continue;
      auto log = logs.partition(tp);
      if (!log) continue;
      if (result.topics.empty() || result.topics.back().name != tp.topic)
        result.topics.emplace_back().name = tp.topic;
      auto& part = result.topics.back().partitions.emplace_back();
      part.partition_index = tp.partition;
      part.partition_size = static_cast<int64_t>(log->size_bytes());
      part.offset_lag = 0;  // the leader's own log: nothing to catch up
      part.is_future_key = false;
      for (const storage::DamagedRange& d : log->damaged_ranges()) {
        auto& out = part.damaged_ranges.emplace_back();
        out.segment_base_offset = d.segment_base;
        out.start_position = static_cast<int64_t>(d.start_position);
        out.end_position = static_cast<int64_t>(d.end_position);
        out.first_offset = d.first_offset;
        out.next_offset = d.next_offset;
        out.reason = d.reason;
      }
      if (auto* cleaner = ctx.broker.log_cleaner(); cleaner != nullptr && log->config().compact) {
        if (auto status = cleaner->status(tp)) {
          part.cleaner_dirty_ratio = status->dirty_ratio;
          part.cleaner_first_dirty_offset = status->first_dirty_offset;
          part.cleaner_last_cleaning_ms = status->last_cleaning_ms;
          if (status->last_cleaning_ms >= 0) {
            part.cleaner_last_bytes_read = static_cast<int64_t>(status->last.bytes_read);
            part.cleaner_last_bytes_written = static_cast<int64_t>(status->last.bytes_written);
            part.cleaner_last_duration_ms = status->last.duration_ms;
          }
        }
      }
    }
  }
  co_return;
}

}  // namespace kfk::server

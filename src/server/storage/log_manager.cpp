#include "server/storage/log_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

namespace kfk::storage {

Result<std::unique_ptr<LogManager>> LogManager::open(LogManagerOptions options) {
  if (options.log_dirs.empty())
    return StorageError::make(StorageErrorKind::invalid_argument, "no log dirs");
  int64_t now = options.now_ms >= 0 ? options.now_ms : wall_clock_ms();
  std::unique_ptr<LogManager> manager(new LogManager(std::move(options)));
  for (size_t i = 0; i < manager->options_.log_dirs.size(); ++i)
    if (auto e = manager->load_dir(i, now); !e.ok()) return e;
  return manager;
}

LogManager::~LogManager() {
  if (auto e = shutdown(); !e.ok()) spdlog::error("log manager shutdown: {}", e.message());
}

StorageError LogManager::load_dir(size_t index, int64_t now_ms) {
  const fs::path& dir = options_.log_dirs[index];
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return StorageError::io(fmt::format("create {}", dir.string()), ec.value());

  auto recovery_points = OffsetCheckpointFile(dir / kRecoveryPointCheckpoint).read();
  auto start_offsets = OffsetCheckpointFile(dir / kLogStartOffsetCheckpoint).read();
  // A damaged checkpoint costs a full recovery scan, not the log dir.
  if (!recovery_points) {
    spdlog::warn("ignoring {}", recovery_points.error().message());
    recovery_points = OffsetMap{};
  }
  if (!start_offsets) {
    spdlog::warn("ignoring {}", start_offsets.error().message());
    start_offsets = OffsetMap{};
  }
  const fs::path marker = dir / kCleanShutdownFile;
  const bool clean = fs::exists(marker, ec);

  struct PartitionDir {
    TopicPartition tp;
    fs::path path;
  };
  std::vector<PartitionDir> partition_dirs;
  auto entries = list_dir(dir);
  if (!entries) return entries.error();
  for (const auto& de : *entries) {
    if (!de.is_directory(ec)) continue;
    std::string name = de.path().filename().string();
    if (name.ends_with(kDeleteDirSuffix)) {
      std::error_code rm;
      fs::remove_all(de.path(), rm);
      if (rm) spdlog::warn("could not remove {}: {}", de.path().string(), rm.message());
      continue;
    }
    // The metadata log lives in a log dir too, but the controller owns it.
    auto tp = parse_partition_dir_name(name);
    if (tp && tp->topic != kMetadataLogTopic) partition_dirs.push_back({*tp, de.path()});
  }

  std::vector<PartitionLogOptions> to_open;
  to_open.reserve(partition_dirs.size());
  for (const auto& [tp, pdir] : partition_dirs) {
    std::lock_guard lock(mu_);
    if (logs_.contains(tp))
      return StorageError::make(
          StorageErrorKind::invalid_argument,
          fmt::format("partition {} is in two log dirs: {} and {}", to_string(tp),
                      options_.log_dirs[logs_[tp].dir].string(), dir.string()));
    PartitionLogOptions& po = to_open.emplace_back();
    po.dir = pdir;
    po.config = options_.config_for ? options_.config_for(tp) : options_.default_config;
    if (auto it = recovery_points->find(tp); it != recovery_points->end())
      po.recovery_point = it->second;
    if (auto it = start_offsets->find(tp); it != start_offsets->end())
      po.log_start_offset = it->second;
    po.clean_shutdown = clean;
    po.strict_new_producers = options_.strict_new_producers;
    po.now_ms = now_ms;
  }
  // Partitions open independently, so several threads share the work (after a crash, mostly
  // reading and CRC-checking the tails of the logs).
  std::vector<std::optional<Result<std::unique_ptr<PartitionLog>>>> opened(to_open.size());
  std::atomic<size_t> next{0};
  auto open_some = [&] {
    for (size_t i; (i = next.fetch_add(1)) < to_open.size();)
      opened[i] = PartitionLog::open(to_open[i]);
  };
  const size_t workers =
      std::min(to_open.size(), static_cast<size_t>(std::max(options_.recovery_threads, 1)));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(open_some);
  open_some();
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < to_open.size(); ++i) {
    auto& log = *opened[i];
    if (!log) return log.error();
    std::lock_guard lock(mu_);
    logs_[partition_dirs[i].tp] =
        Entry{std::shared_ptr<PartitionLog>(std::move(log).value()), index};
  }
  // The marker vouches for one start only: from now on the logs are being written again.
  if (clean) {
    if (auto e = remove_file(marker); !e.ok()) return e;
    if (auto e = fsync_dir(dir); !e.ok()) return e;
  }
  return {};
}

std::shared_ptr<PartitionLog> LogManager::partition(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.log;
}

std::vector<TopicPartition> LogManager::partitions() const {
  std::lock_guard lock(mu_);
  std::vector<TopicPartition> out;
  out.reserve(logs_.size());
  for (const auto& [tp, e] : logs_) out.push_back(tp);
  return out;
}

int LogManager::dir_index(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? -1 : static_cast<int>(it->second.dir);
}

Result<std::shared_ptr<PartitionLog>> LogManager::create_partition(const TopicPartition& tp,
                                                                   const LogConfig& config) {
  std::lock_guard lock(mu_);
  if (shut_down_) return StorageError::make(StorageErrorKind::closed, "log manager");
  if (auto it = logs_.find(tp); it != logs_.end()) return it->second.log;
  std::vector<size_t> counts(options_.log_dirs.size(), 0);
  for (const auto& [other, e] : logs_) ++counts[e.dir];
  size_t dir = static_cast<size_t>(std::min_element(counts.begin(), counts.end()) - counts.begin());
  PartitionLogOptions po;
  po.dir = options_.log_dirs[dir] / partition_dir_name(tp);
  po.config = config;
  po.strict_new_producers = options_.strict_new_producers;
  auto log = PartitionLog::open(po);
  if (!log) return log.error();
  if (auto e = fsync_dir(options_.log_dirs[dir]); !e.ok()) return e;
  auto shared = std::shared_ptr<PartitionLog>(std::move(log).value());
  logs_[tp] = Entry{shared, dir};
  return shared;
}

StorageError LogManager::delete_partition(const TopicPartition& tp) {
  std::shared_ptr<PartitionLog> log;
  {
    std::lock_guard lock(mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end()) return StorageError::make(StorageErrorKind::not_found, to_string(tp));
    log = it->second.log;
    logs_.erase(it);
  }
  return log->remove();
}

StorageError LogManager::checkpoint() {
  std::vector<OffsetMap> recovery(options_.log_dirs.size()), start(options_.log_dirs.size());
  {
    std::lock_guard lock(mu_);
    for (const auto& [tp, e] : logs_) {
      recovery[e.dir][tp] = e.log->recovery_point();
      start[e.dir][tp] = e.log->log_start_offset();
    }
  }
  for (size_t i = 0; i < options_.log_dirs.size(); ++i) {
    const fs::path& dir = options_.log_dirs[i];
    if (auto e = OffsetCheckpointFile(dir / kRecoveryPointCheckpoint).write(recovery[i]); !e.ok())
      return e;
    if (auto e = OffsetCheckpointFile(dir / kLogStartOffsetCheckpoint).write(start[i]); !e.ok())
      return e;
  }
  return {};
}

Result<size_t> LogManager::flush_due(int64_t now_ms) {
  size_t flushed = 0;
  for (const TopicPartition& tp : partitions()) {
    auto log = partition(tp);
    if (!log) continue;
    if (log->flush_due(now_ms)) {
      if (auto e = log->flush(now_ms); !e.ok()) return e;
      ++flushed;
      continue;
    }
    auto moved = log->flush_rolled_segments();
    if (!moved) return moved.error();
    if (*moved) ++flushed;
  }
  return flushed;
}

Result<size_t> LogManager::apply_retention(int64_t now_ms) {
  size_t deleted = 0;
  for (const TopicPartition& tp : partitions()) {
    auto log = partition(tp);
    if (!log) continue;
    auto r = log->apply_retention(now_ms);
    if (!r) return r.error();
    deleted += r->segments_deleted;
  }
  return deleted;
}

StorageError LogManager::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return {};
    shut_down_ = true;
  }
  StorageError result;
  std::vector<bool> dir_ok(options_.log_dirs.size(), true);
  {
    std::lock_guard lock(mu_);
    // No fsync per file (several per partition: thousands of partitions took seconds);
    // one syncfs per log dir below makes all of it durable at once.
    for (auto& [tp, e] : logs_) {
      if (auto err = e.log->close(SyncMode::by_caller); !err.ok()) {
        spdlog::error("closing {}: {}", to_string(tp), err.message());
        dir_ok[e.dir] = false;
        if (result.ok()) result = err;
      }
    }
  }
  std::vector<bool> synced(options_.log_dirs.size(), true);
  for (size_t i = 0; i < options_.log_dirs.size(); ++i) {
    if (auto err = sync_file_system(options_.log_dirs[i]); !err.ok()) {
      // The old checkpoints stay: their recovery points are still covered by earlier syncs.
      spdlog::error("{}", err.message());
      synced[i] = false;
      if (result.ok()) result = err;
    }
  }
  // Every log is written and synced: the recovery points are the log ends now.
  std::vector<OffsetMap> recovery(options_.log_dirs.size()), start(options_.log_dirs.size());
  {
    std::lock_guard lock(mu_);
    for (const auto& [tp, e] : logs_) {
      recovery[e.dir][tp] = e.log->recovery_point();
      start[e.dir][tp] = e.log->log_start_offset();
    }
  }
  for (size_t i = 0; i < options_.log_dirs.size(); ++i) {
    const fs::path& dir = options_.log_dirs[i];
    if (!synced[i]) continue;
    StorageError e = OffsetCheckpointFile(dir / kRecoveryPointCheckpoint).write(recovery[i]);
    if (e.ok()) e = OffsetCheckpointFile(dir / kLogStartOffsetCheckpoint).write(start[i]);
    // The marker only where every log closed cleanly.
    if (e.ok() && dir_ok[i]) e = write_file_atomically(dir / kCleanShutdownFile, {});
    if (!e.ok() && result.ok()) result = e;
  }
  return result;
}

}  // namespace kfk::storage

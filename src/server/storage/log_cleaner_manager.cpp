#include "server/storage/log_cleaner_manager.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "server/storage/checkpoint_file.h"

namespace kfk::storage {

LogCleanerManager::LogCleanerManager(LogManager& logs, LogCleanerConfig config)
    : logs_(logs), config_(config), throttler_(config.io_max_bytes_per_second) {}

LogCleanerManager::~LogCleanerManager() { stop(); }

StorageError LogCleanerManager::start(bool start_threads) {
  for (const fs::path& dir : logs_.log_dirs()) {
    auto read = OffsetCheckpointFile(dir / kCleanerOffsetCheckpoint).read();
    if (!read) {
      // The checkpoint only saves work: without it the logs are cleaned from their start.
      spdlog::warn("{}: {}; cleaning from the log start", (dir / kCleanerOffsetCheckpoint).string(),
                   read.error().message());
      continue;
    }
    std::lock_guard lock(mu_);
    for (const auto& [tp, offset] : *read) {
      checkpoints_[tp] = offset;
      if (offset > 0) deadline_unknown_.insert(tp);
    }
  }
  if (!start_threads) return {};
  for (int i = 0; i < config_.threads; ++i) threads_.emplace_back([this] { run_thread(); });
  return {};
}

void LogCleanerManager::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void LogCleanerManager::forget(const TopicPartition& tp) {
  std::lock_guard lock(mu_);
  checkpoints_.erase(tp);
  uncleanable_.erase(tp);
  last_.erase(tp);
  tombstone_deadlines_.erase(tp);
  deadline_unknown_.erase(tp);
}

int64_t LogCleanerManager::checkpoint_of(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = checkpoints_.find(tp);
  return it == checkpoints_.end() ? 0 : it->second;
}

void LogCleanerManager::run_thread() {
  // Cleaning is background work: produce and fetch requests come first when the cores are
  // busy (a per-thread nice value on Linux).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  while (!stop_) {
    auto cleaned = clean_once();
    if (!cleaned) spdlog::error("log cleaner: {}", cleaned.error().message());
    if (cleaned && *cleaned) continue;
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(config_.backoff_ms, 1)),
                   [this] { return stop_.load(); });
  }
}

std::optional<TopicPartition> LogCleanerManager::pick(int64_t now_ms,
                                                      std::shared_ptr<PartitionLog>& log,
                                                      CleanerView& view, CleanableRange& range,
                                                      bool& expire_tombstones) {
  std::optional<TopicPartition> best;
  double best_ratio = -1;
  bool best_overdue = false;
  for (const TopicPartition& tp : logs_.partitions()) {
    auto candidate = logs_.partition(tp);
    if (!candidate) continue;
    const LogConfig config = candidate->config();
    if (!config.compact) continue;
    {
      std::lock_guard lock(mu_);
      if (in_progress_.contains(tp) || uncleanable_.contains(tp)) continue;
    }
    auto v = candidate->cleaner_view();
    if (!v) continue;  // closed: being deleted
    // An active segment holding a record older than max.compaction.lag.ms rolls, so that
    // the record becomes cleanable.
    if (config.max_compaction_lag_ms < INT64_MAX && v->active_size > 0 &&
        v->active_first_batch_timestamp >= 0 &&
        now_ms - v->active_first_batch_timestamp > config.max_compaction_lag_ms) {
      if (candidate->roll(now_ms).ok()) {
        auto again = candidate->cleaner_view();
        if (!again) continue;
        v = std::move(again);
      }
    }
    CleanableRange r = cleanable_range(*v, checkpoint_of(tp), now_ms);
    bool tombstones_due = false;
    {
      std::lock_guard lock(mu_);
      if (deadline_unknown_.erase(tp) > 0 && !tombstone_deadlines_.contains(tp))
        tombstone_deadlines_[tp] = config.delete_retention_ms > INT64_MAX - now_ms
                                       ? INT64_MAX
                                       : now_ms + config.delete_retention_ms;
      auto it = tombstone_deadlines_.find(tp);
      tombstones_due = it != tombstone_deadlines_.end() && it->second <= now_ms;
    }
    if (!r.should_clean(config.min_cleanable_dirty_ratio) && !tombstones_due) continue;
    const double ratio = tombstones_due ? 1.0 : r.dirty_ratio();
    if (best && (best_overdue && !r.max_lag_passed)) continue;
    if (best && best_overdue == r.max_lag_passed && ratio <= best_ratio) continue;
    best = tp;
    best_ratio = ratio;
    best_overdue = r.max_lag_passed;
    expire_tombstones = tombstones_due;
    log = candidate;
    view = std::move(*v);
    range = r;
  }
  if (best) {
    std::lock_guard lock(mu_);
    in_progress_.insert(*best);
  }
  return best;
}

Result<bool> LogCleanerManager::clean_once(int64_t now_ms) {
  if (now_ms < 0) now_ms = wall_clock_ms();
  std::shared_ptr<PartitionLog> log;
  CleanerView view;
  CleanableRange range;
  bool expire_tombstones = false;
  auto tp = pick(now_ms, log, view, range, expire_tombstones);
  if (!tp) return false;

  CleanerOptions options;
  const int threads = std::max(config_.threads, 1);
  options.dedupe_buffer_bytes =
      static_cast<size_t>(std::max<int64_t>(config_.dedupe_buffer_bytes / threads, 1 << 20));
  options.dedupe_load_factor = config_.dedupe_load_factor;
  options.io_buffer_bytes =
      static_cast<size_t>(std::max<int64_t>(config_.io_buffer_bytes / threads, 64 << 10));
  options.throttler = &throttler_;
  options.stop = &stop_;
  options.expire_tombstones = expire_tombstones;
  auto result = clean_log(*log, view, range, options, now_ms);

  std::unique_lock lock(mu_);
  in_progress_.erase(*tp);
  if (!result) {
    if (result.error().kind == StorageErrorKind::closed) return true;  // deleted meanwhile
    uncleanable_.insert(*tp);
    return StorageError::make(result.error().kind,
                              fmt::format("partition {} is left uncleanable: {}", to_string(*tp),
                                          result.error().message()));
  }
  const CleaningResult& r = *result;
  if (r.aborted) return false;
  checkpoints_[*tp] = r.end_offset;
  last_[*tp] = {wall_clock_ms(), r};
  if (r.tombstones_expire_at_ms >= 0)
    tombstone_deadlines_[*tp] = r.tombstones_expire_at_ms;
  else
    tombstone_deadlines_.erase(*tp);
  lock.unlock();
  const double seconds = std::max<double>(static_cast<double>(r.duration_ms), 1) / 1000.0;
  spdlog::info(
      "log cleaner: cleaned {} offsets [{}, {}): {} segment(s) read, {} written; {:.1f} MB read, "
      "{:.1f} MB written in {} ms ({:.1f} MB/s); {} keys, {} of {} records kept, {} tombstones "
      "removed",
      to_string(*tp), r.first_dirty_offset, r.end_offset, r.segments_read, r.segments_written,
      static_cast<double>(r.bytes_read) / 1e6, static_cast<double>(r.bytes_written) / 1e6,
      r.duration_ms, static_cast<double>(r.bytes_read) / 1e6 / seconds, r.keys, r.records_kept,
      r.records_read, r.tombstones_removed);
  if (auto e = write_checkpoints(); !e.ok())
    spdlog::error("log cleaner: writing {}: {}", kCleanerOffsetCheckpoint, e.message());
  return true;
}

StorageError LogCleanerManager::write_checkpoints() {
  std::lock_guard file_lock(checkpoint_file_mu_);
  std::vector<OffsetMap> per_dir(logs_.log_dirs().size());
  {
    std::lock_guard lock(mu_);
    for (const auto& [tp, offset] : checkpoints_) {
      const int dir = logs_.dir_index(tp);
      if (dir >= 0) per_dir[static_cast<size_t>(dir)][tp] = offset;
    }
  }
  for (size_t i = 0; i < per_dir.size(); ++i)
    if (auto e =
            OffsetCheckpointFile(logs_.log_dirs()[i] / kCleanerOffsetCheckpoint).write(per_dir[i]);
        !e.ok())
      return e;
  return {};
}

std::optional<CleanerStatus> LogCleanerManager::status(const TopicPartition& tp,
                                                       int64_t now_ms) const {
  auto log = logs_.partition(tp);
  if (!log) return std::nullopt;
  auto view = log->cleaner_view();
  if (!view) return std::nullopt;
  if (now_ms < 0) now_ms = wall_clock_ms();
  const CleanableRange r = cleanable_range(*view, checkpoint_of(tp), now_ms);
  CleanerStatus s;
  s.dirty_ratio = r.dirty_ratio();
  s.first_dirty_offset = r.first_dirty_offset;
  s.clean_bytes = r.clean_bytes;
  s.dirty_bytes = r.dirty_bytes;
  std::lock_guard lock(mu_);
  if (auto it = last_.find(tp); it != last_.end()) {
    s.last_cleaning_ms = it->second.first;
    s.last = it->second.second;
  }
  s.uncleanable = uncleanable_.contains(tp);
  return s;
}

}  // namespace kfk::storage

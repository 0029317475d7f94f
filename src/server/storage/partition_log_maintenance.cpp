// PartitionLog: rolling, flushing, retention, DeleteRecords, truncation, closing, removal.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "server/storage/partition_log.h"

namespace kfk::storage {

namespace {

int64_t now_or_clock(int64_t now_ms) { return now_ms >= 0 ? now_ms : wall_clock_ms(); }

}  // namespace

StorageError PartitionLog::roll_locked(int64_t new_base, int64_t now_ms) {
  Segment& current = active();
  const bool replace_empty = current.empty();
  if (replace_empty && current.base_offset() == new_base) return {};
  if (new_base < current.next_offset())
    return StorageError::make(StorageErrorKind::invalid_argument,
                              fmt::format("cannot roll at {}: the active segment ends at {}",
                                          new_base, current.next_offset()));
  // The new segment first, so that a failure leaves the current one active.
  auto seg = Segment::create(dir_, new_base, config_.segment_options(), now_ms);
  if (!seg) return seg.error();
  if (replace_empty) {
    // An empty active segment at the wrong base (a replicated append past a gap).
    if (auto e = delete_segment_locked(std::prev(segments_.end())); !e.ok())
      spdlog::warn("partition {}: removing empty segment: {}", to_string(tp_), e.message());
  } else if (auto e = current.make_inactive(); !e.ok()) {
    (void)(*seg)->remove();
    return e;
  }
  segments_.emplace(new_base, std::move(seg).value());
  dir_dirty_ = true;
  // The producer state as of the new segment's start, so that deleting older segments and
  // truncating into this one can restart from it.
  if (producers_.map_end_offset() == new_base) {
    if (auto e = producers_.take_snapshot(false); !e.ok())
      spdlog::warn("partition {}: producer snapshot at {} failed: {}", to_string(tp_), new_base,
                   e.message());
  }
  spdlog::debug("partition {}: rolled to segment {}", to_string(tp_), new_base);
  return {};
}

StorageError PartitionLog::roll(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  return roll_locked(log_end_locked(), now_or_clock(now_ms));
}

StorageError PartitionLog::flush_locked(int64_t now_ms, bool snapshot, SyncMode mode) {
  const int64_t log_end = log_end_locked();
  for (auto& [base, seg] : segments_)
    if (auto e = seg->flush(mode); !e.ok()) return e;
  if (dir_dirty_) {
    if (mode == SyncMode::each_file)
      if (auto e = fsync_dir(dir_); !e.ok()) return e;
    dir_dirty_ = false;
  }
  if (snapshot) {
    if (auto e = producers_.take_snapshot(mode == SyncMode::each_file); !e.ok()) return e;
    std::set<int64_t> bases;
    for (const auto& [base, seg] : segments_) bases.insert(base);
    if (auto e = producers_.remove_stray_snapshots(bases); !e.ok()) return e;
  }
  recovery_point_ = log_end;
  unflushed_messages_ = 0;
  last_flush_ms_ = now_ms;
  return {};
}

StorageError PartitionLog::flush(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  return flush_locked(now_or_clock(now_ms));
}

Result<bool> PartitionLog::flush_rolled_segments() {
  std::vector<std::shared_ptr<FileHandle>> files;
  int64_t target = 0;
  bool sync_dir = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    target = active().base_offset();
    if (recovery_point_ >= target) return false;
    for (const auto& [base, seg] : segments_)
      if (base < target && seg->next_offset() > recovery_point_) files.push_back(seg->log_file());
    sync_dir = dir_dirty_;
  }
  for (const auto& file : files)
    if (auto e = fsync_file(file->fd(), file->path()); !e.ok()) return e;
  if (sync_dir)
    if (auto e = fsync_dir(dir_); !e.ok()) return e;
  std::lock_guard lock(mu_);
  if (closed_) return false;
  // A truncation meanwhile may have moved the log end below the target.
  recovery_point_ = std::max(recovery_point_, std::min(target, log_end_locked()));
  return true;
}

StorageError PartitionLog::flush_up_to(int64_t offset) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  if (recovery_point_ >= offset) return {};
  return flush_locked(wall_clock_ms(), false);
}

bool PartitionLog::flush_due(int64_t now_ms) const {
  std::lock_guard lock(mu_);
  if (closed_ || config_.flush_ms == INT64_MAX) return false;
  return now_ms - last_flush_ms_ >= config_.flush_ms;
}

StorageError PartitionLog::delete_segment_locked(
    std::map<int64_t, std::unique_ptr<Segment>>::iterator it) {
  StorageError e = it->second->remove();
  segments_.erase(it);
  dir_dirty_ = true;
  return e;
}

void PartitionLog::move_log_start_locked(int64_t offset) {
  log_start_offset_ = std::max(log_start_offset_, offset);
  high_watermark_ = std::max(high_watermark_, log_start_offset_);
  recovery_point_ = std::max(recovery_point_, segments_.begin()->first);
}

Result<int64_t> PartitionLog::delete_records_before(int64_t offset) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  if (offset == -1) offset = high_watermark_;
  if (offset < 0 || offset > high_watermark_)
    return StorageError::make(
        StorageErrorKind::offset_out_of_range,
        fmt::format("cannot delete records before {}: the high watermark is {}", offset,
                    high_watermark_));
  move_log_start_locked(offset);
  // Whole segments below the new start go; the segment holding it stays.
  while (segments_.size() > 1 && std::next(segments_.begin())->first <= log_start_offset_) {
    if (auto e = delete_segment_locked(segments_.begin()); !e.ok()) return e;
  }
  move_log_start_locked(segments_.begin()->first);
  if (auto e = producers_.delete_snapshots_before(segments_.begin()->first); !e.ok()) return e;
  return log_start_offset_;
}

Result<RetentionResult> PartitionLog::apply_retention(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  const int64_t now = now_or_clock(now_ms);
  RetentionResult result;
  // Deletes the oldest segments while `deletable` says so; never the active segment nor one
  // with offsets at or past the high watermark.
  auto delete_while = [&](auto deletable) -> StorageError {
    while (segments_.size() > 1) {
      auto it = segments_.begin();
      int64_t next_base = std::next(it)->first;
      if (next_base > high_watermark_ || !deletable(*it->second, next_base)) break;
      result.bytes_deleted += it->second->size();
      ++result.segments_deleted;
      if (auto e = delete_segment_locked(it); !e.ok()) return e;
    }
    return {};
  };
  if (config_.retention_ms >= 0) {
    auto e = delete_while([&](const Segment& seg, int64_t) {
      return now - seg.largest_timestamp() > config_.retention_ms;
    });
    if (!e.ok()) return e;
  }
  if (config_.retention_bytes >= 0) {
    int64_t total = 0;
    for (const auto& [base, seg] : segments_) total += static_cast<int64_t>(seg->size());
    int64_t excess = total - config_.retention_bytes;
    auto e = delete_while([&](const Segment& seg, int64_t) {
      if (excess - static_cast<int64_t>(seg.size()) < 0) return false;
      excess -= static_cast<int64_t>(seg.size());
      return true;
    });
    if (!e.ok()) return e;
  }
  auto e = delete_while(
      [&](const Segment&, int64_t next_base) { return next_base <= log_start_offset_; });
  if (!e.ok()) return e;
  if (result.segments_deleted > 0) {
    move_log_start_locked(segments_.begin()->first);
    if (auto err = producers_.delete_snapshots_before(segments_.begin()->first); !err.ok())
      return err;
    spdlog::info("partition {}: retention deleted {} segments ({} bytes); log start offset {}",
                 to_string(tp_), result.segments_deleted, result.bytes_deleted, log_start_offset_);
  }
  result.log_start_offset = log_start_offset_;
  return result;
}

StorageError PartitionLog::truncate_to(int64_t offset, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  const int64_t now = now_or_clock(now_ms);
  if (offset < 0)
    return StorageError::make(StorageErrorKind::invalid_argument,
                              fmt::format("truncate to {}", offset));
  if (offset >= log_end_locked()) return {};
  if (offset <= segments_.begin()->first || offset < log_start_offset_) {
    // Nothing stays: start over at offset.
    while (!segments_.empty())
      if (auto e = delete_segment_locked(std::prev(segments_.end())); !e.ok()) return e;
    auto seg = Segment::create(dir_, offset, config_.segment_options(), now);
    if (!seg) return seg.error();
    segments_.emplace(offset, std::move(seg).value());
    log_start_offset_ = offset;
    if (auto e = producers_.truncate_fully_and_start_at(offset); !e.ok()) return e;
  } else {
    while (active().base_offset() >= offset)
      if (auto e = delete_segment_locked(std::prev(segments_.end())); !e.ok()) return e;
    auto removed = active().truncate_to(offset);
    if (!removed) return removed.error();
    if (auto e = active().make_active(); !e.ok()) return e;
    if (auto e = rebuild_producer_state(now); !e.ok()) return e;
  }
  const int64_t log_end = log_end_locked();
  // A cut inside the batch holding the log start leaves the log ending before it.
  log_start_offset_ = std::min(log_start_offset_, log_end);
  high_watermark_ = std::min(high_watermark_, log_end);
  if (hw_follows_log_end_) high_watermark_ = log_end;
  recovery_point_ = std::min(recovery_point_, log_end);
  dir_dirty_ = true;
  spdlog::info("partition {}: truncated to offset {}", to_string(tp_), log_end);
  return {};
}

size_t PartitionLog::remove_expired_producers(int64_t now_ms) {
  std::lock_guard lock(mu_);
  return producers_.remove_expired_producers(now_ms);
}

StorageError PartitionLog::update_config(const LogConfig& config) {
  if (std::string problem = config.validate(); !problem.empty())
    return StorageError::make(StorageErrorKind::invalid_argument, problem);
  std::lock_guard lock(mu_);
  config_ = config;
  max_message_bytes_ = config.max_message_bytes;
  segment_bytes_ = config.segment_bytes;
  ProducerStateConfig pc = producers_.config();
  pc.producer_id_expiration_ms = config.producer_id_expiration_ms;
  producers_.set_config(pc);
  return {};
}

StorageError PartitionLog::close(SyncMode mode) {
  std::lock_guard lock(mu_);
  if (closed_) return {};
  StorageError result = flush_locked(wall_clock_ms(), true, mode);
  for (auto& [base, seg] : segments_)
    if (auto e = seg->close(mode); !e.ok() && result.ok()) result = e;
  segments_.clear();
  closed_ = true;
  return result;
}

StorageError PartitionLog::remove() {
  std::lock_guard lock(mu_);
  closed_ = true;
  segments_.clear();
  fs::path target = dir_.parent_path() / delete_dir_name(tp_);
  if (auto e = rename_file(dir_, target); !e.ok()) return e;
  if (auto e = fsync_dir(dir_.parent_path()); !e.ok()) return e;
  std::error_code ec;
  fs::remove_all(target, ec);
  if (ec) return StorageError::io(fmt::format("remove {}", target.string()), ec.value());
  spdlog::info("partition {}: deleted", to_string(tp_));
  return {};
}

}  // namespace kfk::storage

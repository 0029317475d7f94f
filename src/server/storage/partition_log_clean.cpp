// PartitionLog: what the log cleaner reads of a log and how its output replaces segments.
//
// The cleaner reads inactive segments through their file descriptors without the log's lock
// (their bytes never change while they are inactive; only retention or a truncation removes
// them), writes its output under names the loader never takes for live segments, and takes
// the lock only to swap the output in. The swap order makes every crash recoverable:
//   1. <base>.log.cleaned (+ indexes) is written and fsynced by the cleaner;
//   2. the cleaner renames the indexes, then the log, to .swap and fsyncs the directory: from
//      here on the loader finishes the swap itself (partition_log_load.cpp);
//   3. here: the replaced segments are removed, the index swaps renamed live, then the log.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/storage/partition_log.h"

namespace kfk::storage {

namespace {

fs::path swap_path(const fs::path& dir, int64_t base, std::string_view suffix) {
  std::string name = offset_file_name(base, suffix);
  name += kSwapSuffix;
  return dir / name;
}

}  // namespace

Result<CleanerView> PartitionLog::cleaner_view() const {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  CleanerView v;
  v.config = config_;
  v.log_start_offset = log_start_offset_;
  v.high_watermark = high_watermark_;
  const Segment& act = active();
  v.active_base_offset = act.base_offset();
  v.active_size = act.size();
  if (auto ts = act.first_batch_timestamp()) v.active_first_batch_timestamp = *ts;
  for (const auto& [base, seg] : segments_) {
    if (seg.get() == &act) break;
    CleanerSegment s;
    s.base_offset = base;
    s.next_offset = seg->next_offset();
    s.size = seg->size();
    s.largest_timestamp = seg->largest_timestamp();
    auto first = seg->first_batch_timestamp();
    if (!first) return first.error();
    s.first_batch_timestamp = *first;
    s.file = seg->log_file();
    v.segments.push_back(std::move(s));
  }
  for (const auto& [pid, entry] : producers_.producers())
    if (!entry.batches.empty())
      v.producer_last_offsets.emplace(pid, entry.batches.back().last_offset);
  return v;
}

StorageError PartitionLog::swap_in_cleaned(int64_t base, std::span<const CleanerSegment> replaced) {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  if (replaced.empty() || replaced.front().base_offset != base)
    return StorageError::make(StorageErrorKind::invalid_argument, "no segments to replace");
  // The segments must be those the cleaner read, all still inactive.
  auto it = segments_.find(base);
  for (const CleanerSegment& r : replaced) {
    if (it == segments_.end() || it->first != r.base_offset || it->second->size() != r.size ||
        it->second.get() == &active())
      return StorageError::make(StorageErrorKind::invalid_argument,
                                fmt::format("partition {}: segment {} changed during cleaning",
                                            to_string(tp_), r.base_offset));
    ++it;
  }
  for (const CleanerSegment& r : replaced) {
    auto old = segments_.find(r.base_offset);
    if (auto e = delete_segment_locked(old); !e.ok()) return e;
  }
  for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix})
    if (auto e = rename_file(swap_path(dir_, base, suffix), dir_ / offset_file_name(base, suffix));
        !e.ok())
      return e;
  if (auto e = fsync_dir(dir_); !e.ok()) return e;
  auto seg = Segment::open(dir_, base, config_.segment_options(), wall_clock_ms());
  if (!seg) return seg.error();
  if (auto e = (*seg)->load(); !e.ok()) {
    spdlog::warn("partition {}: cleaned segment {}: {}; rebuilding its indexes", to_string(tp_),
                 base, e.message());
    auto recovered = (*seg)->recover();
    if (!recovered) return recovered.error();
  }
  segments_.emplace(base, std::move(seg).value());
  return {};
}

}  // namespace kfk::storage

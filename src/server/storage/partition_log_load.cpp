// PartitionLog: opening a partition directory and recovering it after a crash.
//
// Segments wholly below the recovery point were fsynced before the point moved past them,
// so they are trusted: their indexes are opened and sanity-checked, and only the batches
// after their last index entries are read (to learn where the log ends). From the segment
// holding the recovery point on, every batch is read and CRC-checked and the indexes are
// rebuilt. Only a torn tail is cut: damage at the end of the active segment with no valid
// batch after it. Damage anywhere else (a sealed segment, or followed by valid batches) never
// costs intact data: it stays as a damaged range that reads step over, logged with its file,
// bytes and offsets. After a clean shutdown every segment is trusted; reads find damage there.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "server/storage/partition_log.h"

namespace kfk::storage {

namespace {

// The base offset of a segment file name (".log", ".index" or ".timeindex").
std::optional<int64_t> segment_file_base(std::string_view name) {
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix, kDamagedSuffix})
    if (auto base = parse_offset_file_name(name, suffix)) return base;
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(const PartitionLogOptions& options) {
  if (std::string problem = options.config.validate(); !problem.empty())
    return StorageError::make(StorageErrorKind::invalid_argument, problem);
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return StorageError::io(fmt::format("create {}", options.dir.string()), ec.value());
  std::unique_ptr<PartitionLog> log(new PartitionLog(options));
  int64_t now = options.now_ms >= 0 ? options.now_ms : wall_clock_ms();
  if (auto e = log->load(options, now); !e.ok()) {
    log->closed_ = true;  // nothing to flush from a half-loaded log
    return e;
  }
  return log;
}

StorageError PartitionLog::handle_leftover_files(std::vector<int64_t>& log_bases) {
  std::vector<fs::path> swaps;
  std::set<int64_t> logs, indexes;
  auto entries = list_dir(dir_);
  if (!entries) return entries.error();
  for (const auto& de : *entries) {
    std::string name = de.path().filename().string();
    // Interrupted deletions, cleaner output never swapped in, and half-written files.
    if (name.ends_with(kDeletedSuffix) || name.ends_with(kCleanedSuffix) ||
        name.ends_with(kTmpSuffix)) {
      if (auto e = remove_file(de.path()); !e.ok()) return e;
      ++load_summary_.leftover_files_removed;
      continue;
    }
    if (name.ends_with(kSwapSuffix)) {
      swaps.push_back(de.path());
      continue;
    }
    if (auto base = parse_offset_file_name(name, kLogSuffix)) {
      logs.insert(*base);
    } else if (auto ibase = segment_file_base(name)) {
      indexes.insert(*ibase);
    }
  }

  // A .swap file is a finished replacement (the cleaner's output) for the segments in its
  // offset range: put it in place of them. Index swaps are rebuilt from the log instead.
  for (const fs::path& swap : swaps) {
    std::string name = swap.filename().string();
    std::string target = name.substr(0, name.size() - kSwapSuffix.size());
    auto base = parse_offset_file_name(target, kLogSuffix);
    if (!base) {
      if (auto e = remove_file(swap); !e.ok()) return e;
      ++load_summary_.leftover_files_removed;
      continue;
    }
    auto file = FileHandle::open(swap, O_RDONLY);
    if (!file) return file.error();
    auto size = file_size((*file)->fd(), swap);
    if (!size) return size.error();
    int64_t last = *base;
    LogScanner scanner(**file, 0, *size, false);
    while (true) {
      auto batch = scanner.next();
      if (!batch) return batch.error();
      if (!*batch) break;
      last = (*batch)->info.last_offset;
    }
    for (auto it = logs.lower_bound(*base); it != logs.end() && *it <= last;) {
      for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix, kDamagedSuffix})
        if (auto e = remove_file(dir_ / offset_file_name(*it, suffix)); !e.ok()) return e;
      indexes.erase(*it);
      it = logs.erase(it);
    }
    for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix})
      if (auto e = remove_file(dir_ / offset_file_name(*base, suffix)); !e.ok()) return e;
    if (auto e = rename_file(swap, dir_ / target); !e.ok()) return e;
    logs.insert(*base);
    ++load_summary_.swap_files_applied;
    spdlog::info("partition {}: swapped {} into place", to_string(tp_), name);
  }
  // Index (and damage) files whose log is gone.
  for (int64_t base : indexes) {
    if (logs.contains(base)) continue;
    for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix, kDamagedSuffix})
      if (auto e = remove_file(dir_ / offset_file_name(base, suffix)); !e.ok()) return e;
    ++load_summary_.leftover_files_removed;
  }
  log_bases.assign(logs.begin(), logs.end());
  return {};
}

StorageError PartitionLog::load(const PartitionLogOptions& options, int64_t now_ms) {
  std::vector<int64_t> bases;
  if (auto e = handle_leftover_files(bases); !e.ok()) return e;
  const SegmentOptions seg_options = config_.segment_options();

  if (bases.empty()) {
    auto seg =
        Segment::create(dir_, std::max<int64_t>(0, options.log_start_offset), seg_options, now_ms);
    if (!seg) return seg.error();
    const int64_t base = (*seg)->base_offset();
    segments_.emplace(base, std::move(seg).value());
    dir_dirty_ = true;
  }

  bool recovering = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    const int64_t base = bases[i];
    const bool last = i + 1 == bases.size();
    auto opened = Segment::open(dir_, base, seg_options, now_ms);
    if (!opened) return opened.error();
    std::unique_ptr<Segment> seg = std::move(opened).value();
    ++load_summary_.segments;

    // Trusted: wholly below the recovery point (the next segment starts at or before it).
    bool trusted = options.clean_shutdown || (!last && bases[i + 1] <= options.recovery_point);
    std::vector<DamagedRange> damaged;
    if (trusted && !recovering) {
      StorageError e = seg->load();
      if (e.ok()) {
        ++load_summary_.segments_trusted;
      } else {
        spdlog::warn("partition {}: rebuilding the indexes of segment {}: {}", to_string(tp_), base,
                     e.message());
        // Its bytes were on disk before the crash: damage in them is no torn write.
        auto rec = seg->recover(/*truncate_torn_tail=*/false);
        if (!rec) return rec.error();
        ++load_summary_.indexes_rebuilt;
        damaged = std::move(rec->damaged);
      }
    } else {
      recovering = true;
      // Only the active segment can end in a torn write; damage in a sealed one (or followed
      // by valid batches) is kept, and so is everything after it.
      auto rec = seg->recover(/*truncate_torn_tail=*/last);
      if (!rec) return rec.error();
      ++load_summary_.segments_recovered;
      if (rec->bytes_truncated > 0) {
        load_summary_.bytes_truncated += rec->bytes_truncated;
        spdlog::warn("partition {}: recovery dropped a torn tail of {} bytes at the end of {} ({})",
                     to_string(tp_), rec->bytes_truncated, seg->log_path().string(), rec->reason);
      }
      damaged = std::move(rec->damaged);
    }
    for (DamagedRange& d : damaged) {
      ++load_summary_.damaged_ranges;
      load_summary_.bytes_damaged += d.size();
      if (d.reaches_end() && !last) d.next_offset = bases[i + 1];
      // Trimming an internal log (__consumer_offsets, the metadata log) would drop every
      // record before the range too: its reader decides what the damage costs.
      const bool internal = tp_.topic.starts_with("__");
      spdlog::error("partition {}: {}: {}; kept in place, with every later batch{}", to_string(tp_),
                    seg->log_path().string(), describe_damage(d),
                    internal ? std::string()
                             : fmt::format(". `kfk topic trim {} -p {} --offset {}` skips past it",
                                           tp_.topic, tp_.partition,
                                           d.reaches_end() ? seg->next_offset() : d.next_offset));
    }
    if (!segments_.empty() && segments_.rbegin()->second->next_offset() > base)
      spdlog::warn("partition {}: segment {} starts before the end ({}) of the one before it",
                   to_string(tp_), base, segments_.rbegin()->second->next_offset());
    segments_.emplace(base, std::move(seg));
  }

  // The last segment is the active one; the others are trimmed and carry their final time
  // index entry.
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    bool is_last = std::next(it) == segments_.end();
    StorageError e = is_last ? it->second->make_active() : it->second->make_inactive();
    if (!e.ok()) return e;
  }

  const int64_t log_end = log_end_locked();
  log_start_offset_ = std::clamp(options.log_start_offset, segments_.begin()->first, log_end);
  // After a clean shutdown everything was flushed: the recovery point is the log end.
  recovery_point_ =
      options.clean_shutdown ? log_end : std::clamp<int64_t>(options.recovery_point, 0, log_end);
  high_watermark_ = log_end;
  last_flush_ms_ = now_ms;
  if (auto e = rebuild_producer_state(now_ms); !e.ok()) return e;
  std::set<int64_t> segment_bases;
  for (const auto& [b, s] : segments_) segment_bases.insert(b);
  if (auto e = producers_.remove_stray_snapshots(segment_bases); !e.ok()) return e;

  if (load_summary_.segments == 0) {
    spdlog::debug("partition {}: created at offset {}", to_string(tp_), log_end);
    return {};
  }
  spdlog::info(
      "partition {}: loaded {} segments ({} trusted, {} recovered), offsets [{}, {}), {} bytes "
      "truncated, {} producers",
      to_string(tp_), load_summary_.segments, load_summary_.segments_trusted,
      load_summary_.segments_recovered, log_start_offset_, log_end, load_summary_.bytes_truncated,
      producers_.producer_count());
  return {};
}

StorageError PartitionLog::rebuild_producer_state(int64_t now_ms) {
  const int64_t log_end = log_end_locked();
  if (auto e = producers_.load(segments_.begin()->first, log_end, now_ms); !e.ok()) return e;
  const int64_t from = producers_.map_end_offset();
  auto first = segment_for(from);
  for (auto it = first == segments_.end() ? segments_.begin() : first; it != segments_.end();
       ++it) {
    const Segment& seg = *it->second;
    if (seg.next_offset() <= from) continue;
    auto start = seg.position_of(from);
    // `from` in a damaged range: scan the segment from its start (earlier batches are skipped).
    if (!start && start.error().kind != StorageErrorKind::corrupt_batch) return start.error();
    LogScanner scanner(*seg.log_file(), start ? *start : 0, seg.size(), false);
    scanner.skip(seg.damaged_ranges());
    while (true) {
      auto batch = scanner.next();
      if (!batch) return batch.error();
      if (!*batch) break;
      if ((*batch)->info.base_offset < from) continue;
      producers_.replay((*batch)->view, (*batch)->info.next_offset());
      ++load_summary_.batches_replayed;
    }
  }
  // Batches without producer ids still move the state's end offset up to the log end.
  producers_.apply(producers_.begin_append(AppendOrigin::replication), log_end);
  return {};
}

}  // namespace kfk::storage

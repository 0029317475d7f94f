// Segment: creating, loading, recovering, appending, truncating and removing.
#include "server/storage/segment.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <sstream>

namespace kfk::storage {

namespace {

// <base offset><suffix>, plus the segment's name suffix (".cleaned" for cleaner output).
fs::path file_in(const fs::path& dir, int64_t base_offset, std::string_view suffix,
                 std::string_view name_suffix = {}) {
  std::string name = offset_file_name(base_offset, suffix);
  name += name_suffix;
  return dir / name;
}

}  // namespace

Segment::Segment(const fs::path& dir, int64_t base_offset, const SegmentOptions& options,
                 int64_t now_ms, std::shared_ptr<FileHandle> log, uint64_t size)
    : dir_(dir),
      base_offset_(base_offset),
      options_(options),
      log_(std::move(log)),
      size_(size),
      next_offset_(base_offset),
      created_ms_(now_ms),
      offset_index_(file_in(dir, base_offset, kIndexSuffix, options.name_suffix), base_offset),
      time_index_(file_in(dir, base_offset, kTimeIndexSuffix, options.name_suffix), base_offset) {}

Segment::~Segment() {
  if (!closed_) (void)close();
}

fs::path Segment::log_path() const { return log_->path(); }

Result<std::unique_ptr<Segment>> Segment::create(const fs::path& dir, int64_t base_offset,
                                                 const SegmentOptions& options, int64_t now_ms) {
  fs::path log_path = file_in(dir, base_offset, kLogSuffix, options.name_suffix);
  auto log = FileHandle::open(log_path, O_RDWR | O_CREAT | O_TRUNC);
  if (!log) return log.error();
  std::unique_ptr<Segment> seg(new Segment(dir, base_offset, options, now_ms, *log, 0));
  // Stale indexes of an earlier segment with this base offset would be taken as entries.
  if (auto e = remove_file(seg->offset_index_.file().path()); !e.ok()) return e;
  if (auto e = remove_file(seg->time_index_.file().path()); !e.ok()) return e;
  if (auto e = seg->offset_index_.open(options.index_max_bytes, true); !e.ok()) return e;
  if (auto e = seg->time_index_.open(options.index_max_bytes, true); !e.ok()) return e;
  seg->active_ = true;
  seg->verified_ = true;  // every batch appended is validated first
  seg->first_batch_timestamp_ = -1;
  return seg;
}

Result<std::unique_ptr<Segment>> Segment::open(const fs::path& dir, int64_t base_offset,
                                               const SegmentOptions& options, int64_t now_ms) {
  fs::path log_path = file_in(dir, base_offset, kLogSuffix, options.name_suffix);
  auto log = FileHandle::open(log_path, O_RDWR);
  if (!log) return log.error();
  auto size = file_size((*log)->fd(), log_path);
  if (!size) return size.error();
  if (*size > static_cast<uint64_t>(INT32_MAX))
    return StorageError::make(StorageErrorKind::invalid_argument,
                              fmt::format("{} has {} bytes; positions past 2^31 cannot be indexed",
                                          log_path.string(), *size));
  return std::unique_ptr<Segment>(new Segment(dir, base_offset, options, now_ms, *log, *size));
}

StorageError Segment::sanity_check() const {
  if (auto e = offset_index_.sanity_check(size_); !e.ok()) return e;
  if (auto e = time_index_.sanity_check(); !e.ok()) return e;
  if (auto last = time_index_.last_entry(); last && size_ == 0)
    return StorageError::make(
        StorageErrorKind::corrupt_time_index,
        fmt::format("{} has entries for an empty log", time_index_.file().path().string()));
  return {};
}

StorageError Segment::load() {
  for (const IndexFile* f : {&offset_index_.file(), &time_index_.file()}) {
    std::error_code ec;
    if (!fs::exists(f->path(), ec))
      return StorageError::make(StorageErrorKind::not_found, f->path().string());
  }
  if (auto e = offset_index_.open(0, false); !e.ok()) return e;
  if (auto e = time_index_.open(0, false); !e.ok()) return e;
  if (auto e = sanity_check(); !e.ok()) return e;
  active_ = false;
  load_damage();
  return load_tail_state();
}

fs::path Segment::damage_path() const {
  return file_in(dir_, base_offset_, kDamagedSuffix, options_.name_suffix);
}

void Segment::save_damage() const {
  StorageError e;
  if (damaged_.empty()) {
    e = remove_file(damage_path());
  } else {
    // One range a line: start end first_offset next_offset reason.
    std::string text;
    for (const DamagedRange& d : damaged_) {
      std::string reason = d.reason;
      std::replace(reason.begin(), reason.end(), '\n', ' ');
      text += fmt::format("{} {} {} {} {}\n", d.start_position, d.end_position, d.first_offset,
                          d.next_offset, reason);
    }
    e = write_file_atomically(damage_path(),
                              {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, false);
  }
  if (!e.ok())
    spdlog::warn("{}: the damaged ranges could not be kept: {}", log_->path().string(),
                 e.message());
}

void Segment::load_damage() {
  damaged_.clear();
  auto bytes = read_file(damage_path(), 1 << 20);
  if (!bytes) return;  // none (or unreadable: found again by the reads that reach it)
  std::istringstream in(std::string(bytes->begin(), bytes->end()));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    DamagedRange d;
    d.segment_base = base_offset_;
    if (!(fields >> d.start_position >> d.end_position >> d.first_offset >> d.next_offset))
      continue;
    std::getline(fields >> std::ws, d.reason);
    // A range that no longer fits the file (the file was replaced or cut) is dropped.
    if (d.start_position >= d.end_position || d.end_position > size_) continue;
    if (!damaged_.empty() && d.start_position < damaged_.back().end_position) continue;
    damaged_.push_back(std::move(d));
  }
}

StorageError Segment::load_tail_state() {
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = -1;
  // Only the batches after the last offset index entry are read. The time index's last entry
  // covers every batch before that: entries are added together, and a segment that stopped
  // being active got a final entry covering all of it.
  uint64_t start = 0;
  if (auto last = offset_index_.last_entry()) start = last->position;
  if (auto last = time_index_.last_entry()) {
    max_timestamp_ = last->timestamp;
    offset_of_max_timestamp_ = last->offset;
  }
  LogScanner scanner(*log_, start, size_, false);
  scanner.skip(damaged_);
  while (true) {
    auto batch = scanner.next();
    if (!batch) return batch.error();
    if (!*batch) break;
    const BatchInfo& info = (*batch)->info;
    next_offset_ = info.next_offset();
    if (info.max_timestamp > max_timestamp_) {
      max_timestamp_ = info.max_timestamp;
      offset_of_max_timestamp_ = info.last_offset;
    }
  }
  if (scanner.stopped())
    return StorageError::make(StorageErrorKind::corrupt_batch,
                              fmt::format("{}: {}", log_->path().string(), scanner.stop_reason()));
  return {};
}

Result<SegmentRecovery> Segment::recover(bool truncate_torn_tail) {
  // Rebuilt from scratch: whatever the index files held (possibly garbage) is dropped.
  offset_index_.file().close();
  time_index_.file().close();
  if (auto e = remove_file(offset_index_.file().path()); !e.ok()) return e;
  if (auto e = remove_file(time_index_.file().path()); !e.ok()) return e;
  if (auto e = offset_index_.open(options_.index_max_bytes, true); !e.ok()) return e;
  if (auto e = time_index_.open(options_.index_max_bytes, true); !e.ok()) return e;
  active_ = true;
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = -1;
  first_batch_timestamp_ = -1;
  recent_.clear();
  damaged_.clear();
  bytes_since_last_index_entry_ = 0;

  SegmentRecovery out;
  CheckedLogScanner scanner(*log_, base_offset_, 0, size_, base_offset_);
  while (true) {
    auto item = scanner.next();
    if (!item) return item.error();
    if (!*item) break;
    if ((*item)->batch) {
      note_batch((*item)->batch->info);
      ++out.batches;
      continue;
    }
    DamagedRange& damage = *(*item)->damage;
    if (damage.reaches_end() && truncate_torn_tail) {
      // A torn tail: what a crash leaves of the last writes. Nothing valid after it to keep.
      out.reason = damage.reason;
      out.bytes_truncated = size_ - damage.start_position;
      if (auto e = truncate_file(log_->fd(), damage.start_position, log_->path()); !e.ok())
        return e;
      size_ = damage.start_position;
      unflushed_ = true;
      break;
    }
    // Damage in the middle of the log: the bytes stay (they may matter to whoever examines
    // them), and the batches after them stay readable.
    recent_.clear();  // the tail cache must not answer for offsets before the damage
    damaged_.push_back(damage);
    out.damaged.push_back(std::move(damage));
  }
  verified_ = true;
  save_damage();
  return out;
}

void Segment::note_batch(const BatchInfo& info) {
  recent_.push_back(info);
  if (recent_.size() > kRecentBatches) recent_.pop_front();
  if (info.position == 0) first_batch_timestamp_ = info.max_timestamp;
  if (info.max_timestamp > max_timestamp_) {
    max_timestamp_ = info.max_timestamp;
    offset_of_max_timestamp_ = info.last_offset;
  }
  if (bytes_since_last_index_entry_ > options_.index_interval_bytes) {
    // The indexes only speed lookups up: a full index (a multi-batch append can fill the last
    // slots) just stops getting entries until the roll.
    auto e = offset_index_.append(info.last_offset, static_cast<uint32_t>(info.position));
    if (!e.ok() && e.kind != StorageErrorKind::index_full)
      spdlog::warn("segment {}: skipping an offset index entry: {}", log_->path().string(),
                   e.message());
    if (offset_of_max_timestamp_ >= 0) {
      e = time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
      if (!e.ok() && e.kind != StorageErrorKind::index_full)
        spdlog::warn("segment {}: skipping a time index entry: {}", log_->path().string(),
                     e.message());
    }
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += info.size;
  next_offset_ = info.next_offset();
}

StorageError Segment::make_active() {
  if (auto e = offset_index_.file().resize(options_.index_max_bytes, true); !e.ok()) return e;
  if (auto e = time_index_.file().resize(options_.index_max_bytes, true); !e.ok()) return e;
  active_ = true;
  return {};
}

StorageError Segment::make_inactive() {
  if (offset_of_max_timestamp_ >= 0) {
    auto last = time_index_.last_entry();
    if (!last || max_timestamp_ > last->timestamp) {
      IndexFile& f = time_index_.file();
      if (f.entries() >= f.max_entries()) {
        if (auto e = f.resize((f.entries() + 1) * TimeIndex::kEntrySize, true); !e.ok()) return e;
      }
      if (auto e = time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_, true);
          !e.ok())
        return e;
    }
  }
  if (auto e = offset_index_.file().trim(); !e.ok()) return e;
  if (auto e = time_index_.file().trim(); !e.ok()) return e;
  active_ = false;
  recent_.clear();  // readers of inactive segments are rarely at their end
  return {};
}

StorageError Segment::append(std::span<const uint8_t> bytes, std::span<const BatchInfo> batches) {
  if (closed_) return StorageError::make(StorageErrorKind::closed, log_->path().string());
  if (!active_)
    return StorageError::make(StorageErrorKind::invalid_argument,
                              fmt::format("{} is not the active segment", log_->path().string()));
  uint64_t start = size_;
  if (start + bytes.size() > static_cast<uint64_t>(INT32_MAX))
    return StorageError::make(
        StorageErrorKind::invalid_argument,
        fmt::format("{}: {} more bytes would pass 2^31", log_->path().string(), bytes.size()));
  if (auto e = pwrite_all(log_->fd(), bytes, start, log_->path()); !e.ok()) {
    // A partial write must not stay: the next append would follow garbage.
    (void)truncate_file(log_->fd(), start, log_->path());
    return e;
  }
  // Damage that ended the file now ends where these batches begin.
  if (!damaged_.empty() && damaged_.back().reaches_end() && !batches.empty())
    damaged_.back().next_offset = batches.front().base_offset;
  for (BatchInfo info : batches) {
    info.position += start;
    note_batch(info);
  }
  size_ = start + bytes.size();
  unflushed_ = true;
  return {};
}

StorageError Segment::flush(SyncMode mode) {
  if (unflushed_) {
    if (mode == SyncMode::each_file)
      if (auto e = fsync_file(log_->fd(), log_->path()); !e.ok()) return e;
    unflushed_ = false;
  }
  if (closed_) return {};
  if (auto e = offset_index_.file().flush(mode); !e.ok()) return e;
  return time_index_.file().flush(mode);
}

Result<uint64_t> Segment::truncate_to(int64_t offset) {
  if (offset >= next_offset_) return uint64_t{0};
  auto batch = find_batch(offset, size_);
  if (!batch) return batch.error();
  if (!*batch) return uint64_t{0};
  uint64_t cut = (*batch)->position;
  if (auto e = truncate_file(log_->fd(), cut, log_->path()); !e.ok()) return e;
  uint64_t removed = size_ - cut;
  size_ = cut;
  while (!recent_.empty() && recent_.back().position >= cut) recent_.pop_back();
  while (!damaged_.empty() && damaged_.back().start_position >= cut) damaged_.pop_back();
  if (!damaged_.empty() && damaged_.back().end_position >= cut) {
    damaged_.back().end_position = cut;
    damaged_.back().next_offset = -1;
  }
  save_damage();
  unflushed_ = true;
  if (auto e = offset_index_.truncate_to(offset); !e.ok()) return e;
  if (auto e = time_index_.truncate_to(offset); !e.ok()) return e;
  first_batch_timestamp_ = cut == 0 ? -1 : -2;
  bytes_since_last_index_entry_ = 0;
  if (auto e = load_tail_state(); !e.ok()) return e;
  return removed;
}

StorageError Segment::close(SyncMode mode) {
  if (closed_) return {};
  StorageError result;
  if (active_) result = make_inactive();
  if (auto e = offset_index_.file().flush(mode); result.ok() && !e.ok()) result = e;
  if (auto e = time_index_.file().flush(mode); result.ok() && !e.ok()) result = e;
  offset_index_.file().close();
  time_index_.file().close();
  closed_ = true;
  return result;
}

StorageError Segment::remove() {
  offset_index_.file().close();
  time_index_.file().close();
  closed_ = true;
  StorageError result;
  const std::array<fs::path, 4> paths = {log_->path(), offset_index_.file().path(),
                                         time_index_.file().path(), damage_path()};
  for (const fs::path& path : paths) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    // The .deleted name marks the file for removal should we crash before the unlink.
    fs::path deleted = path;
    deleted += kDeletedSuffix;
    if (auto e = rename_file(path, deleted); !e.ok()) {
      if (result.ok()) result = e;
      continue;
    }
    if (auto e = remove_file(deleted); !e.ok() && result.ok()) result = e;
  }
  return result;
}

int64_t Segment::largest_timestamp() const {
  if (max_timestamp_ >= 0) return max_timestamp_;
  struct stat st {};
  if (::fstat(log_->fd(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Result<int64_t> Segment::first_batch_timestamp() const {
  if (first_batch_timestamp_ != -2) return first_batch_timestamp_;
  if (size_ == 0) return first_batch_timestamp_ = -1;
  auto head = read_header(0, size_);
  if (!head) return head.error();
  return first_batch_timestamp_ = head->max_timestamp;
}

int64_t Segment::time_waited_for_roll(int64_t now_ms, int64_t incoming_max_timestamp) const {
  auto first = first_batch_timestamp();
  if (first && *first >= 0) return incoming_max_timestamp - *first;
  return now_ms - created_ms_;
}

}  // namespace kfk::storage

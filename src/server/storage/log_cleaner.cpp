#include "server/storage/log_cleaner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "core/protocol/reader.h"
#include "core/record/compression.h"
#include "core/record/record_batch.h"
#include "core/util/big_endian.h"
#include "server/storage/key_offset_map.h"
#include "server/storage/log_scanner.h"

namespace kfk::storage {

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// --- the records of a batch, as raw byte ranges ---------------------------------------

struct RawRecord {
  size_t begin = 0;  // the length varint
  size_t end = 0;
  int64_t timestamp_delta = 0;
  int64_t offset_delta = 0;
  bool has_key = false;
  std::span<const uint8_t> key;
  bool tombstone = false;
};

// Splits a records section into its records; false when it does not parse.
bool split_records(std::span<const uint8_t> section, int32_t count, std::vector<RawRecord>& out) {
  out.clear();
  protocol::Reader all(section);
  for (int32_t i = 0; i < count; ++i) {
    RawRecord r;
    r.begin = all.position();
    const int32_t length = all.read_varint("length");
    if (!all.ok() || length < 0) return false;
    protocol::Reader body(all.read_raw(static_cast<size_t>(length), "record"));
    if (!all.ok()) return false;
    r.end = all.position();
    body.read_int8("attributes");
    r.timestamp_delta = body.read_varlong("timestampDelta");
    r.offset_delta = body.read_varint("offsetDelta");
    const int32_t key_length = body.read_varint("keyLength");
    if (!body.ok() || key_length < -1) return false;
    if (key_length >= 0) {
      r.has_key = true;
      r.key = body.read_raw(static_cast<size_t>(key_length), "key");
    }
    const int32_t value_length = body.read_varint("valueLength");
    if (!body.ok() || value_length < -1) return false;
    r.tombstone = value_length < 0;
    out.push_back(r);
  }
  return all.remaining() == 0;
}

// A batch with the header of `original` (codec bits replaced by `codec`, count and
// maxTimestamp by the given ones) around `records`, CRC computed.
void append_batch(std::vector<uint8_t>& out, const record::BatchView& original,
                  std::span<const uint8_t> records, int32_t count, int codec,
                  int64_t max_timestamp) {
  const size_t start = out.size();
  out.insert(out.end(), original.bytes().begin(),
             original.bytes().begin() + record::kBatchHeaderSize);
  out.insert(out.end(), records.begin(), records.end());
  uint8_t* b = out.data() + start;
  const size_t size = out.size() - start;
  store_be<uint32_t>(b + record::batch_pos::batch_length,
                     static_cast<uint32_t>(size - record::kLogOverhead));
  const uint16_t attrs = static_cast<uint16_t>(
      (original.attributes() & ~record::batch_attr::codec_mask) | static_cast<uint16_t>(codec));
  store_be<uint16_t>(b + record::batch_pos::attributes, attrs);
  store_be<int64_t>(b + record::batch_pos::max_timestamp, max_timestamp);
  store_be<int32_t>(b + record::batch_pos::records_count, count);
  record::MutableBatchView(std::span(b, size)).update_crc();
}

// --- one cleaning ----------------------------------------------------------------------

class Cleaning {
 public:
  Cleaning(PartitionLog& log, const CleanerView& view, const CleanableRange& range,
           const CleanerOptions& options, int64_t now_ms)
      : log_(log),
        view_(view),
        range_(range),
        options_(options),
        now_ms_(now_ms),
        map_(KeyOffsetMap::slots_for(
                 options.dedupe_buffer_bytes, options.dedupe_load_factor,
                 static_cast<uint64_t>(std::max<int64_t>(
                     0, range.first_uncleanable_offset - range.first_dirty_offset))),
             options.dedupe_load_factor) {}

  Result<CleaningResult> run();

 private:
  bool stopping() const { return options_.stop != nullptr && options_.stop->load(); }
  void throttle(uint64_t bytes) {
    if (options_.throttler != nullptr) options_.throttler->acquire(bytes);
  }
  // Maps the keys of a segment's dirty records; returns where the map stops (the segment's
  // end when it took all of them).
  Result<int64_t> map_segment(const CleanerSegment& seg);
  // Cleans one group of segments into a new segment and swaps it in.
  StorageError clean_group(std::span<const CleanerSegment> group);
  StorageError copy_group(std::span<const CleanerSegment> group, Segment& out_seg);
  void remove_output(int64_t base, std::string_view extra) const;
  // Appends what `batch` keeps to out_. A batch whose records do not parse is copied whole:
  // the cleaner never drops what it cannot read.
  void filter_batch(const record::BatchView& batch, bool tombstones_expired,
                    int64_t tombstone_expiry_ms);
  StorageError flush_output(Segment& seg);

  PartitionLog& log_;
  const CleanerView& view_;
  const CleanableRange& range_;
  const CleanerOptions& options_;
  int64_t now_ms_;
  KeyOffsetMap map_;
  int64_t end_offset_ = 0;
  CleaningResult result_;
  std::vector<uint8_t> out_;
  std::vector<BatchInfo> out_infos_;
  std::vector<RawRecord> records_;
  std::vector<uint8_t> kept_;
};

Result<int64_t> Cleaning::map_segment(const CleanerSegment& seg) {
  LogScanner scanner(*seg.file, 0, seg.size, true, options_.io_buffer_bytes);
  record::DecodedRecords decoded;
  const int64_t first = range_.first_dirty_offset;
  const int64_t limit = range_.first_uncleanable_offset;
  while (true) {
    if (stopping()) return seg.base_offset;
    auto next = scanner.next();
    if (!next) return next.error();
    if (!*next) break;
    const ScannedBatch& b = **next;
    result_.bytes_read += b.info.size;
    throttle(b.info.size);
    if (b.info.last_offset < first || b.view.is_control()) continue;
    if (b.info.base_offset >= limit) return limit;
    // A damaged batch fails the cleaning: rewriting it would give garbage a valid CRC.
    record::BatchError err = b.view.validate();
    if (err.ok()) err = record::decode_records(b.view, decoded);
    if (!err.ok())
      return StorageError::make(StorageErrorKind::corrupt_batch,
                                fmt::format("{} at position {}: {}", seg.file->path().string(),
                                            b.info.position, err.message()));
    for (const record::RecordView& r : decoded.records) {
      if (r.offset < first || !r.key) continue;
      if (r.offset >= limit) return limit;
      if (!map_.put(*r.key, r.offset)) return r.offset;
    }
  }
  if (scanner.stopped())
    return StorageError::make(
        StorageErrorKind::corrupt_batch,
        fmt::format("{}: {}", seg.file->path().string(), scanner.stop_reason()));
  return std::min(seg.next_offset, limit);
}

void Cleaning::filter_batch(const record::BatchView& batch, bool tombstones_expired,
                            int64_t tombstone_expiry_ms) {
  const auto keep_whole = [&] {
    out_.insert(out_.end(), batch.bytes().begin(), batch.bytes().end());
  };
  if (batch.is_control() || batch.base_offset() >= end_offset_) return keep_whole();

  // The records section, decompressed when it needs to be.
  std::span<const uint8_t> section = batch.records_bytes();
  record::Bytes decompressed;
  const auto codec = batch.compression();
  if (codec != record::Compression::none) {
    auto d = record::decompress(codec, section, size_t{256} << 20);
    if (!d.ok()) {
      spdlog::warn("log cleaner: batch at offset {} does not decompress ({}); kept as it is",
                   batch.base_offset(), d.message);
      return keep_whole();
    }
    decompressed = std::move(d.data);
    section = decompressed;
  }
  if (!split_records(section, batch.records_count(), records_)) {
    spdlog::warn("log cleaner: records of the batch at offset {} do not parse; kept as it is",
                 batch.base_offset());
    return keep_whole();
  }
  result_.records_read += records_.size();

  kept_.clear();
  int32_t kept_count = 0;
  int64_t max_timestamp = record::kNoTimestamp;
  const int64_t base_timestamp = batch.base_timestamp();
  for (const RawRecord& r : records_) {
    const int64_t offset = batch.base_offset() + r.offset_delta;
    bool keep = true;
    if (offset < end_offset_) {
      if (!r.has_key) {
        keep = false;
      } else {
        const int64_t latest = map_.get(r.key);
        keep = latest < 0 || latest <= offset;
        if (keep && r.tombstone && tombstones_expired) {
          keep = false;
          ++result_.tombstones_removed;
        } else if (keep && r.tombstone && tombstone_expiry_ms >= 0) {
          int64_t& at = result_.tombstones_expire_at_ms;
          at = at < 0 ? tombstone_expiry_ms : std::min(at, tombstone_expiry_ms);
        }
      }
    }
    if (!keep) continue;
    kept_.insert(kept_.end(), section.begin() + static_cast<ptrdiff_t>(r.begin),
                 section.begin() + static_cast<ptrdiff_t>(r.end));
    ++kept_count;
    max_timestamp = std::max(max_timestamp, base_timestamp + r.timestamp_delta);
  }
  result_.records_kept += static_cast<uint64_t>(kept_count);
  if (kept_count == static_cast<int32_t>(records_.size())) return keep_whole();

  if (batch.timestamp_type() == record::TimestampType::log_append_time)
    max_timestamp = batch.max_timestamp();
  if (kept_count == 0) {
    // The last batch of a producer stays, empty, for its sequence number.
    auto it = view_.producer_last_offsets.find(batch.producer_id());
    if (batch.has_producer_id() && it != view_.producer_last_offsets.end() &&
        it->second == batch.last_offset())
      append_batch(out_, batch, {}, 0, 0, batch.max_timestamp());
    return;
  }
  if (codec == record::Compression::none) {
    append_batch(out_, batch, kept_, kept_count, 0, max_timestamp);
    return;
  }
  auto compressed = record::compress(codec, kept_);
  if (compressed.ok())
    append_batch(out_, batch, compressed.data, kept_count, batch.codec_id(), max_timestamp);
  else
    append_batch(out_, batch, kept_, kept_count, 0, max_timestamp);
}

StorageError Cleaning::flush_output(Segment& seg) {
  if (out_.empty()) return {};
  out_infos_.clear();
  record::BatchIterator it(out_);
  while (auto b = it.next()) {
    BatchInfo info;
    info.position = it.position() - b->size();
    info.size = static_cast<uint32_t>(b->size());
    info.base_offset = b->base_offset();
    info.last_offset = b->last_offset();
    info.max_timestamp = b->max_timestamp();
    info.records_count = b->records_count();
    out_infos_.push_back(info);
  }
  if (auto e = seg.append(out_, out_infos_); !e.ok()) return e;
  result_.bytes_written += out_.size();
  throttle(out_.size());
  out_.clear();
  return {};
}

StorageError Cleaning::clean_group(std::span<const CleanerSegment> group) {
  const int64_t base = group.front().base_offset;
  SegmentOptions seg_options = view_.config.segment_options();
  seg_options.name_suffix = kCleanedSuffix;
  auto cleaned = Segment::create(log_.dir(), base, seg_options, now_ms_);
  if (!cleaned) return cleaned.error();
  std::unique_ptr<Segment> out_seg = std::move(cleaned).value();
  StorageError e = copy_group(group, *out_seg);
  if (e.ok() && !result_.aborted) e = out_seg->make_inactive();
  if (e.ok() && !result_.aborted) e = out_seg->flush();
  if (auto closed = out_seg->close(); e.ok()) e = closed;
  out_seg.reset();
  out_.clear();
  if (!e.ok() || result_.aborted) {
    remove_output(base, kCleanedSuffix);
    return e;
  }

  // Renamed to .swap (indexes first, the log last): from then on the swap is complete on disk
  // and a restart finishes it.
  const fs::path& dir = log_.dir();
  for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix}) {
    std::string from = offset_file_name(base, suffix);
    from += kCleanedSuffix;
    std::string to = offset_file_name(base, suffix);
    to += kSwapSuffix;
    if (e = rename_file(dir / from, dir / to); !e.ok()) {
      remove_output(base, kCleanedSuffix);
      remove_output(base, kSwapSuffix);
      return e;
    }
  }
  if (e = fsync_dir(dir); !e.ok()) return e;
  if (e = log_.swap_in_cleaned(base, group); !e.ok()) {
    // Only a log that changed under the cleaner refuses before touching anything; after any
    // other failure the swap files must stay for the next start to finish the swap.
    if (e.kind == StorageErrorKind::invalid_argument) remove_output(base, kSwapSuffix);
    return e;
  }
  ++result_.segments_written;
  return {};
}

StorageError Cleaning::copy_group(std::span<const CleanerSegment> group, Segment& out_seg) {
  const int64_t horizon = now_ms_ - view_.config.delete_retention_ms;
  for (const CleanerSegment& seg : group) {
    const bool tombstones_expired = seg.largest_timestamp >= 0 && seg.largest_timestamp <= horizon;
    const int64_t tombstone_expiry_ms =
        seg.largest_timestamp < 0
            ? -1
            : seg.largest_timestamp +
                  std::min(view_.config.delete_retention_ms, INT64_MAX - seg.largest_timestamp);
    LogScanner scanner(*seg.file, 0, seg.size, true, options_.io_buffer_bytes);
    while (true) {
      if (stopping()) {
        result_.aborted = true;
        return {};
      }
      auto next = scanner.next();
      if (!next) return next.error();
      if (!*next) break;
      result_.bytes_read += (*next)->info.size;
      throttle((*next)->info.size);
      if (auto err = (*next)->view.validate(); !err.ok())
        return StorageError::make(StorageErrorKind::corrupt_batch,
                                  fmt::format("{} at position {}: {}", seg.file->path().string(),
                                              (*next)->info.position, err.message()));
      filter_batch((*next)->view, tombstones_expired, tombstone_expiry_ms);
      if (out_.size() >= options_.io_buffer_bytes)
        if (auto e = flush_output(out_seg); !e.ok()) return e;
    }
    if (scanner.stopped())
      return StorageError::make(
          StorageErrorKind::corrupt_batch,
          fmt::format("{}: {}", seg.file->path().string(), scanner.stop_reason()));
    ++result_.segments_read;
  }
  return flush_output(out_seg);
}

void Cleaning::remove_output(int64_t base, std::string_view extra) const {
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    std::string name = offset_file_name(base, suffix);
    name += extra;
    (void)remove_file(log_.dir() / name);
  }
}

Result<CleaningResult> Cleaning::run() {
  const int64_t start_ns = steady_ns();
  result_.first_dirty_offset = range_.first_dirty_offset;
  result_.end_offset = range_.first_dirty_offset;
  end_offset_ = range_.first_dirty_offset;

  // 1. The key map over the dirty section, whole segments after the first.
  for (const CleanerSegment& seg : view_.segments) {
    if (seg.next_offset <= range_.first_dirty_offset) continue;
    if (seg.base_offset >= range_.first_uncleanable_offset) break;
    const int64_t upper = std::min(seg.next_offset, range_.first_uncleanable_offset) -
                          std::max(seg.base_offset, range_.first_dirty_offset);
    if (end_offset_ > range_.first_dirty_offset &&
        map_.size() + static_cast<uint64_t>(upper) > map_.max_entries())
      break;
    auto stop = map_segment(seg);
    if (!stop) return stop.error();
    if (stopping()) {
      result_.aborted = true;
      return result_;
    }
    end_offset_ = std::max(end_offset_, *stop);
    if (*stop < std::min(seg.next_offset, range_.first_uncleanable_offset)) break;
  }
  result_.keys = map_.size();
  if (end_offset_ <= range_.first_dirty_offset) {
    if (!options_.expire_tombstones) return result_;
    end_offset_ = range_.first_dirty_offset;  // the clean section alone
  }

  // 2. Recopy from the log start to the end of the map, group by group.
  std::vector<CleanerSegment> to_clean;
  for (const CleanerSegment& seg : view_.segments)
    if (seg.base_offset < end_offset_) to_clean.push_back(seg);
  size_t i = 0;
  while (i < to_clean.size()) {
    size_t j = i + 1;
    uint64_t bytes = to_clean[i].size;
    while (j < to_clean.size() &&
           bytes + to_clean[j].size <= static_cast<uint64_t>(view_.config.segment_bytes) &&
           to_clean[j].next_offset - to_clean[i].base_offset <= INT32_MAX) {
      bytes += to_clean[j].size;
      ++j;
    }
    if (auto e = clean_group(std::span(to_clean).subspan(i, j - i)); !e.ok()) return e;
    if (result_.aborted) break;
    i = j;
  }
  if (!result_.aborted) result_.end_offset = end_offset_;
  result_.duration_ms = (steady_ns() - start_ns) / 1'000'000;
  return result_;
}

}  // namespace

void IoThrottler::acquire(uint64_t bytes) {
  if (!(rate_ > 0) || rate_ >= 1e300) return;
  std::unique_lock lock(mu_);
  const int64_t now = steady_ns();
  if (window_start_ns_ < 0) window_start_ns_ = now;
  window_bytes_ += bytes;
  const double elapsed_s = static_cast<double>(now - window_start_ns_) / 1e9;
  const double needed_s = static_cast<double>(window_bytes_) / rate_;
  if (needed_s > elapsed_s) {
    const auto pause = std::chrono::nanoseconds(static_cast<int64_t>((needed_s - elapsed_s) * 1e9));
    lock.unlock();
    std::this_thread::sleep_for(pause);
    lock.lock();
  }
  // A fresh window every second keeps an idle spell from buying a later burst.
  if (steady_ns() - window_start_ns_ > 1'000'000'000) {
    window_start_ns_ = steady_ns();
    window_bytes_ = 0;
  }
}

double CleanableRange::dirty_ratio() const {
  const uint64_t total = clean_bytes + dirty_bytes;
  return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
}

bool CleanableRange::should_clean(double min_cleanable_dirty_ratio) const {
  if (dirty_bytes == 0 || first_uncleanable_offset <= first_dirty_offset) return false;
  return max_lag_passed || dirty_ratio() > min_cleanable_dirty_ratio;
}

CleanableRange cleanable_range(const CleanerView& view, int64_t checkpoint, int64_t now_ms) {
  CleanableRange r;
  int64_t first_dirty = std::max(checkpoint, view.log_start_offset);
  // A checkpoint past the log (the log was truncated or recreated) starts over.
  if (first_dirty > view.active_base_offset && checkpoint > view.log_start_offset)
    first_dirty = view.log_start_offset;
  r.first_dirty_offset = first_dirty;
  int64_t uncleanable = std::min(view.active_base_offset, view.high_watermark);
  const int64_t lag_horizon = now_ms - view.config.min_compaction_lag_ms;
  for (const CleanerSegment& seg : view.segments) {
    if (seg.next_offset <= first_dirty || seg.base_offset >= uncleanable) continue;
    if (view.config.min_compaction_lag_ms > 0 && seg.largest_timestamp > lag_horizon) {
      uncleanable = std::min(uncleanable, seg.base_offset);
      break;
    }
  }
  r.first_uncleanable_offset = std::max(uncleanable, first_dirty);
  bool first_dirty_segment = true;
  for (const CleanerSegment& seg : view.segments) {
    if (seg.base_offset >= r.first_uncleanable_offset) break;
    if (seg.next_offset <= first_dirty) {
      r.clean_bytes += seg.size;
      continue;
    }
    r.dirty_bytes += seg.size;
    if (first_dirty_segment) {
      first_dirty_segment = false;
      const int64_t ts = seg.first_batch_timestamp;
      r.max_lag_passed = ts >= 0 && view.config.max_compaction_lag_ms < INT64_MAX &&
                         now_ms - ts > view.config.max_compaction_lag_ms;
    }
  }
  return r;
}

Result<CleaningResult> clean_log(PartitionLog& log, const CleanerView& view,
                                 const CleanableRange& range, const CleanerOptions& options,
                                 int64_t now_ms) {
  Cleaning cleaning(log, view, range, options, now_ms);
  return cleaning.run();
}

}  // namespace kfk::storage

// PartitionLog: appends, reads and offset lookups.
#include "server/storage/partition_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace kfk::storage {

using protocol::ErrorCode;

namespace {

int64_t now_or_clock(int64_t now_ms) { return now_ms >= 0 ? now_ms : wall_clock_ms(); }

AppendResult append_error(ErrorCode code, std::string message, int32_t batch_index = -1) {
  AppendResult r;
  r.error = code;
  r.error_message = std::move(message);
  r.batch_index = batch_index;
  return r;
}

}  // namespace

uint64_t ReadResult::size_bytes() const {
  uint64_t n = 0;
  for (const FileSlice& s : slices) n += s.length;
  return n;
}

PartitionLog::PartitionLog(const PartitionLogOptions& options)
    : dir_(options.dir),
      config_(options.config),
      hw_follows_log_end_(options.high_watermark_follows_log_end),
      max_message_bytes_(options.config.max_message_bytes),
      segment_bytes_(options.config.segment_bytes),
      producers_(options.dir, ProducerStateConfig{options.config.producer_id_expiration_ms,
                                                  options.strict_new_producers}) {
  if (!dir_.has_filename()) dir_ = dir_.parent_path();  // "orders-0/" names orders-0
  auto tp = parse_partition_dir_name(dir_.filename().string());
  tp_ = tp ? *tp : TopicPartition{dir_.filename().string(), -1};
}

PartitionLog::~PartitionLog() {
  if (auto e = close(); !e.ok())
    spdlog::error("partition {}: close failed: {}", to_string(tp_), e.message());
}

StorageError PartitionLog::check_open() const {
  if (closed_) return StorageError::make(StorageErrorKind::closed, dir_.string());
  return {};
}

std::map<int64_t, std::unique_ptr<Segment>>::const_iterator PartitionLog::segment_for(
    int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return segments_.end();
  return std::prev(it);
}

// --- append -----------------------------------------------------------------------------

AppendResult PartitionLog::append(std::span<uint8_t> batches, const AppendOptions& options) {
  const AppendOrigin origin = options.origin;

  // 1. Frame and validate every batch before touching anything. The CRC pass needs no lock.
  std::vector<BatchInfo> infos;
  std::vector<record::BatchView> views;
  record::ValidateOptions validate;
  validate.client_rules = origin == AppendOrigin::client;
  validate.verify_crc = !options.records_validated;
  record::BatchIterator it(batches);
  const int64_t max_message_bytes = max_message_bytes_.load(std::memory_order_relaxed);
  const int64_t segment_bytes = segment_bytes_.load(std::memory_order_relaxed);
  while (auto view = it.next()) {
    auto index = static_cast<int32_t>(infos.size());
    auto size = static_cast<int64_t>(view->size());
    // Kafka's order: the size, then the CRC, then the rest.
    if (origin != AppendOrigin::replication && size > max_message_bytes)
      return append_error(
          ErrorCode::message_too_large,
          fmt::format("batch of {} bytes exceeds max.message.bytes {}", size, max_message_bytes),
          index);
    if (size > segment_bytes)
      return append_error(
          ErrorCode::record_list_too_large,
          fmt::format("batch of {} bytes exceeds segment.bytes {}", size, segment_bytes), index);
    if (record::BatchError err = view->validate(validate); !err.ok())
      return append_error(err.kafka_error_code(), err.message(), index);
    if (origin == AppendOrigin::client && view->base_offset() != 0)
      return append_error(
          ErrorCode::invalid_record,
          fmt::format("a produced batch has base offset {}, not 0", view->base_offset()), index);
    BatchInfo info;
    info.position = static_cast<uint64_t>(view->bytes().data() - batches.data());
    info.size = static_cast<uint32_t>(view->size());
    info.base_offset = view->base_offset();
    info.last_offset = view->last_offset();
    info.max_timestamp = view->max_timestamp();
    info.records_count = view->records_count();
    infos.push_back(info);
    views.push_back(*view);
  }
  if (!it.error().ok())
    return append_error(it.error().kafka_error_code(), it.error().message(),
                        static_cast<int32_t>(infos.size()));
  if (it.has_partial_batch())
    return append_error(
        ErrorCode::corrupt_message,
        fmt::format("{} bytes of a truncated batch after the last whole one", it.partial_bytes()),
        static_cast<int32_t>(infos.size()));
  if (infos.empty() && origin == AppendOrigin::client)
    return append_error(ErrorCode::invalid_record, "the request holds no record batch");
  if (static_cast<int64_t>(batches.size()) > segment_bytes)
    return append_error(
        ErrorCode::record_list_too_large,
        fmt::format("{} bytes of batches exceed segment.bytes {}", batches.size(), segment_bytes));
  // Kafka takes exactly one batch per partition from a producer (v2 format).
  if (origin == AppendOrigin::client && infos.size() > 1)
    return append_error(ErrorCode::invalid_record,
                        fmt::format("a produce request holds {} batches for one partition; "
                                    "one is allowed",
                                    infos.size()),
                        1);

  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return append_error(e.kafka_error_code(), e.message());
  const int64_t now = now_or_clock(options.now_ms);
  if (infos.empty()) {
    AppendResult r;
    r.log_start_offset = log_start_offset_;
    return r;
  }

  // 2. The offsets each batch gets.
  const int64_t log_end = log_end_locked();
  if (origin == AppendOrigin::replication) {
    int64_t expected = log_end;
    for (size_t i = 0; i < infos.size(); ++i) {
      if (infos[i].base_offset < expected)
        return append_error(ErrorCode::unknown_server_error,
                            fmt::format("replicated batch at offset {} is below the expected {}",
                                        infos[i].base_offset, expected),
                            static_cast<int32_t>(i));
      expected = infos[i].next_offset();
    }
  } else {
    int64_t next = log_end;
    for (BatchInfo& info : infos) {
      int64_t delta = info.last_offset - info.base_offset;
      info.base_offset = next;
      info.last_offset = next + delta;
      next = info.last_offset + 1;
    }
  }

  // 3. Producer state: duplicates and sequence/epoch errors, before anything is written.
  ProducerAppend producer_append = producers_.begin_append(origin);
  for (size_t i = 0; i < infos.size(); ++i) {
    auto outcome =
        producer_append.check_and_record(views[i], infos[i].base_offset, infos[i].last_offset);
    if (outcome.duplicate) {
      AppendResult r;
      r.duplicate = true;
      r.first_offset = outcome.duplicate->first_offset;
      r.last_offset = outcome.duplicate->last_offset;
      if (config_.message_timestamp_type == record::TimestampType::log_append_time)
        r.log_append_time = outcome.duplicate->timestamp;
      r.log_start_offset = log_start_offset_;
      return r;
    }
    if (!outcome.ok())
      return append_error(outcome.error, std::move(outcome.message), static_cast<int32_t>(i));
  }

  // 4. Rewrite the headers in place. Recompression (a topic compression.type other than
  // `producer` that differs from the batch's codec) belongs before this point, in the produce
  // path, which would hand us the rebuilt batches.
  bool log_append_time = origin != AppendOrigin::replication &&
                         config_.message_timestamp_type == record::TimestampType::log_append_time;
  int64_t records = 0;
  int64_t max_timestamp = record::kNoTimestamp;
  for (BatchInfo& info : infos) {
    record::MutableBatchView batch(batches.subspan(info.position, info.size));
    if (origin != AppendOrigin::replication) {
      batch.set_base_offset(info.base_offset);
      batch.set_partition_leader_epoch(options.leader_epoch);
    }
    if (log_append_time) {
      batch.set_log_append_time(now);
      info.max_timestamp = now;
    }
    records += info.records_count;
    max_timestamp = std::max(max_timestamp, info.max_timestamp);
  }

  // 5. Roll when the active segment is full, old or its index is.
  AppendResult result;
  const int64_t first_offset = infos.front().base_offset;
  const int64_t last_offset = infos.back().last_offset;
  {
    Segment& seg = active();
    bool roll = false;
    if (!seg.empty()) {
      roll = seg.size() + batches.size() > static_cast<uint64_t>(config_.segment_bytes) ||
             seg.time_waited_for_roll(now, max_timestamp) >
                 config_.segment_ms - seg.roll_jitter_ms() ||
             seg.index_full() || last_offset - seg.base_offset() > INT32_MAX;
    } else if (seg.base_offset() != first_offset) {
      // Only a replicated append can start past an empty segment's base (offset gaps).
      roll = true;
    }
    if (roll) {
      if (auto e = roll_locked(first_offset, now); !e.ok())
        return append_error(e.kafka_error_code(), e.message());
      result.rolled = true;
    }
  }

  // 6. Write.
  if (auto e = active().append(batches, infos); !e.ok()) {
    spdlog::error("partition {}: append failed: {}", to_string(tp_), e.message());
    return append_error(e.kafka_error_code(), e.message());
  }
  producers_.apply(std::move(producer_append), last_offset + 1);
  if (hw_follows_log_end_) high_watermark_ = last_offset + 1;
  unflushed_messages_ += records;

  result.first_offset = first_offset;
  result.last_offset = last_offset;
  result.log_append_time = log_append_time ? now : -1;
  result.log_start_offset = log_start_offset_;
  result.flush_needed = unflushed_messages_ >= config_.flush_messages;
  return result;
}

// --- read -------------------------------------------------------------------------------

ReadResult PartitionLog::read(int64_t offset, size_t max_bytes, bool min_one_batch,
                              ReadLimit limit) const {
  std::lock_guard lock(mu_);
  ReadResult r;
  if (auto e = check_open(); !e.ok()) {
    r.error = e.kafka_error_code();
    r.error_message = e.message();
    return r;
  }
  const int64_t log_end = log_end_locked();
  r.high_watermark = high_watermark_;
  r.log_start_offset = log_start_offset_;
  r.log_end_offset = log_end;
  if (offset < log_start_offset_ || offset > log_end) {
    r.error = ErrorCode::offset_out_of_range;
    r.error_message =
        fmt::format("offset {} is outside [{}, {}]", offset, log_start_offset_, log_end);
    return r;
  }
  const int64_t end_offset = limit == ReadLimit::high_watermark ? high_watermark_ : log_end;
  size_t remaining = max_bytes;
  bool first = true;
  for (auto it = segment_for(offset); it != segments_.end() && offset < end_offset; ++it) {
    const Segment& seg = *it->second;
    uint64_t max_position = seg.size();
    if (end_offset < seg.next_offset()) {
      auto pos = seg.position_of(end_offset);
      if (!pos) {
        r.error = pos.error().kafka_error_code();
        r.error_message = pos.error().message();
        return r;
      }
      max_position = *pos;
    }
    auto slice = seg.read(offset, remaining, min_one_batch && first, max_position);
    if (!slice) {
      if (!first) break;  // damage after what was read: the next read reports it
      r.error = slice.error().kafka_error_code();
      r.error_message = slice.error().message();
      return r;
    }
    if (!*slice) continue;             // nothing at or after offset here: the next segment
    if ((*slice)->length == 0) break;  // the next batch does not fit
    r.slices.push_back(**slice);
    remaining -= std::min<size_t>(remaining, (*slice)->length);
    offset = (*slice)->last_offset + 1;
    first = false;
    if (remaining == 0 || (*slice)->position + (*slice)->length < max_position) break;
  }
  return r;
}

ReadBytesResult PartitionLog::read_bytes(int64_t offset, size_t max_bytes, bool min_one_batch,
                                         ReadLimit limit) const {
  ReadResult r = read(offset, max_bytes, min_one_batch, limit);
  ReadBytesResult out;
  out.error = r.error;
  out.error_message = std::move(r.error_message);
  out.high_watermark = r.high_watermark;
  out.log_start_offset = r.log_start_offset;
  out.log_end_offset = r.log_end_offset;
  for (const FileSlice& s : r.slices) {
    if (auto e = s.read_into(out.bytes); !e.ok()) {
      out.error = e.kafka_error_code();
      out.error_message = e.message();
      out.bytes.clear();
      break;
    }
  }
  return out;
}

// --- offsets ------------------------------------------------------------------------------

int64_t PartitionLog::log_start_offset() const {
  std::lock_guard lock(mu_);
  return log_start_offset_;
}

int64_t PartitionLog::log_end_offset() const {
  std::lock_guard lock(mu_);
  return segments_.empty() ? log_start_offset_ : log_end_locked();
}

int64_t PartitionLog::high_watermark() const {
  std::lock_guard lock(mu_);
  return high_watermark_;
}

void PartitionLog::set_high_watermark(int64_t offset) {
  std::lock_guard lock(mu_);
  if (segments_.empty()) return;
  high_watermark_ = std::clamp(offset, log_start_offset_, log_end_locked());
}

int64_t PartitionLog::recovery_point() const {
  std::lock_guard lock(mu_);
  return recovery_point_;
}

uint64_t PartitionLog::size_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [base, seg] : segments_) n += seg->size();
  return n;
}

size_t PartitionLog::segment_count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

std::vector<int64_t> PartitionLog::segment_base_offsets() const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out;
  for (const auto& [base, seg] : segments_) out.push_back(base);
  return out;
}

std::vector<DamagedRange> PartitionLog::damaged_ranges() const {
  std::lock_guard lock(mu_);
  std::vector<DamagedRange> out;
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    for (DamagedRange d : it->second->damaged_ranges()) {
      if (d.reaches_end())
        d.next_offset = std::next(it) != segments_.end() ? std::next(it)->first : log_end_locked();
      if (d.next_offset <= log_start_offset_) continue;  // trimmed away
      out.push_back(std::move(d));
    }
  }
  return out;
}

Result<std::optional<OffsetAndTimestamp>> PartitionLog::offset_for_timestamp(
    int64_t timestamp) const {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  for (const auto& [base, seg] : segments_) {
    if (seg->max_timestamp() < timestamp || seg->next_offset() <= log_start_offset_) continue;
    auto found = seg->find_offset_by_timestamp(timestamp, log_start_offset_);
    if (!found) return found.error();
    if (*found) return std::optional(OffsetAndTimestamp{(*found)->offset, (*found)->timestamp});
  }
  return std::optional<OffsetAndTimestamp>{};
}

OffsetAndTimestamp PartitionLog::earliest() const {
  std::lock_guard lock(mu_);
  return {log_start_offset_, -1};
}

OffsetAndTimestamp PartitionLog::latest() const {
  std::lock_guard lock(mu_);
  return {high_watermark_, -1};
}

Result<std::optional<OffsetAndTimestamp>> PartitionLog::max_timestamp_offset() const {
  std::lock_guard lock(mu_);
  if (auto e = check_open(); !e.ok()) return e;
  const Segment* best = nullptr;
  for (const auto& [base, seg] : segments_)
    if (seg->max_timestamp() >= 0 && (!best || seg->max_timestamp() > best->max_timestamp()))
      best = seg.get();
  if (!best) return std::optional<OffsetAndTimestamp>{};
  auto batch = best->find_batch(best->offset_of_max_timestamp(), best->size());
  if (!batch) return batch.error();
  if (!*batch)
    return StorageError::make(
        StorageErrorKind::corrupt_time_index,
        fmt::format("{}: no batch holds offset {} of the largest timestamp",
                    best->log_path().string(), best->offset_of_max_timestamp()));
  auto bytes = best->read_batch(**batch);
  if (!bytes) return bytes.error();
  record::DecodedRecords records;
  if (record::BatchError err = record::decode_records(record::BatchView(*bytes), records);
      !err.ok())
    return StorageError::make(StorageErrorKind::corrupt_batch,
                              fmt::format("{} at position {}: {}", best->log_path().string(),
                                          (*batch)->position, err.message()));
  for (const record::RecordView& r : records.records)
    if (r.timestamp == best->max_timestamp())
      return std::optional(OffsetAndTimestamp{r.offset, r.timestamp});
  // The header's maxTimestamp matches no record (a producer wrote it so): the batch stands.
  return std::optional(OffsetAndTimestamp{(*batch)->last_offset, best->max_timestamp()});
}

Result<std::optional<OffsetAndTimestamp>> PartitionLog::list_offset(int64_t timestamp) const {
  switch (timestamp) {
    case kLatestTimestamp:
      return std::optional(latest());
    case kEarliestTimestamp:
    case kEarliestLocalTimestamp:
      return std::optional(earliest());
    case kMaxTimestamp:
      return max_timestamp_offset();
    default:
      if (timestamp < 0)
        return StorageError::make(StorageErrorKind::invalid_argument,
                                  fmt::format("timestamp {}", timestamp));
      return offset_for_timestamp(timestamp);
  }
}

LogConfig PartitionLog::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

std::optional<ProducerStateEntry> PartitionLog::producer_state(int64_t producer_id) const {
  std::lock_guard lock(mu_);
  const ProducerStateEntry* e = producers_.entry(producer_id);
  return e ? std::optional(*e) : std::nullopt;
}

size_t PartitionLog::producer_count() const {
  std::lock_guard lock(mu_);
  return producers_.producer_count();
}

std::vector<int64_t> PartitionLog::snapshot_offsets() const {
  std::lock_guard lock(mu_);
  return {producers_.snapshot_offsets().begin(), producers_.snapshot_offsets().end()};
}

}  // namespace kfk::storage

#include "server/cluster/metadata_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "core/record/record_batch.h"
#include "server/cluster/metadata_snapshot.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

using storage::StorageError;
using storage::StorageErrorKind;

MetadataLog::MetadataLog(std::unique_ptr<storage::PartitionLog> log) : log_(std::move(log)) {}

MetadataLog::~MetadataLog() = default;

storage::Result<std::unique_ptr<MetadataLog>> MetadataLog::open(
    const std::filesystem::path& log_dir, int32_t segment_bytes) {
  storage::PartitionLogOptions options;
  options.dir = log_dir / fmt::format("{}-0", kMetadataTopic);
  // Before the partition log, which would drop them silently as its own .tmp files.
  if (auto e = remove_unfinished_snapshots(options.dir); !e.ok()) return e;
  // Never deleted by time or size: only segments that a snapshot covers go (delete_before).
  options.config.segment_bytes = segment_bytes;
  options.config.retention_ms = -1;
  options.config.retention_bytes = -1;
  options.config.flush_messages = 1;
  auto log = storage::PartitionLog::open(options);
  if (!log) return log.error();
  return std::unique_ptr<MetadataLog>(new MetadataLog(std::move(log).value()));
}

StorageError MetadataLog::replay(const Visitor& visit) const {
  auto stats = replay_from(log_->log_start_offset(), visit);
  return stats ? StorageError{} : stats.error();
}

storage::Result<MetadataLog::ReplayStats> MetadataLog::replay_from(int64_t from,
                                                                   const Visitor& visit) const {
  ReplayStats stats;
  int64_t offset = std::max(from, log_->log_start_offset());
  const int64_t end = log_->log_end_offset();
  while (offset < end) {
    auto chunk = log_->read_bytes(offset, 1 << 20, true, storage::ReadLimit::log_end);
    if (!chunk.ok())
      return StorageError::make(chunk.error == protocol::ErrorCode::corrupt_message
                                    ? StorageErrorKind::corrupt_batch
                                    : StorageErrorKind::io_error,
                                fmt::format("offset {}: {}", offset, chunk.error_message));
    record::BatchIterator batches(chunk.bytes);
    bool progressed = false;
    while (auto batch = batches.next()) {
      record::DecodedRecords records;
      if (auto err = record::decode_records(*batch, records); !err.ok())
        return StorageError::make(StorageErrorKind::corrupt_batch,
                                  fmt::format("the batch at offset {} in {}: {}",
                                              batch->base_offset(), dir().string(), err.message()));
      stats.bytes += batch->bytes().size();
      for (const auto& r : records.records) {
        if (r.offset < offset) continue;
        std::string error;
        auto rec = decode_metadata_record(r.value.value_or(std::span<const uint8_t>{}), error);
        if (!rec)
          return StorageError::make(
              StorageErrorKind::corrupt_batch,
              fmt::format("the record at offset {} in {}: {}", r.offset, dir().string(), error));
        if (auto e = visit(r.offset, *rec); !e.ok()) return e;
        ++stats.records;
      }
      offset = batch->next_offset();
      progressed = true;
    }
    if (!progressed)
      return StorageError::make(
          StorageErrorKind::corrupt_batch,
          fmt::format("no whole batch at offset {} in {}", offset, dir().string()));
  }
  return stats;
}

storage::Result<int64_t> MetadataLog::append(std::span<const MetadataRecord> records) {
  std::vector<protocol::Bytes> values;
  values.reserve(records.size());
  for (const auto& r : records) values.push_back(encode_metadata_record(r));
  record::BatchOptions options;
  record::BatchBuilder builder(options);
  const int64_t now = storage::wall_clock_ms();
  for (const auto& v : values) builder.append(now, std::nullopt, std::span<const uint8_t>(v));
  protocol::Bytes batch = builder.build();
  storage::AppendOptions append_options;
  append_options.origin = storage::AppendOrigin::coordinator;
  const int64_t end_before = log_->log_end_offset();
  auto result = log_->append(batch, append_options);
  if (!result.ok())
    return StorageError::make(StorageErrorKind::invalid_argument,
                              fmt::format("metadata log append: {}", result.error_message));
  if (auto e = log_->flush(); !e.ok()) {
    // Not committed (out of file descriptors, a failing disk): take the batch back, so that
    // the next start does not replay an operation its client was told failed.
    if (auto undo = log_->truncate_to(end_before); !undo.ok())
      spdlog::error("metadata log: could not take back an uncommitted batch: {}", undo.message());
    return e;
  }
  bytes_appended_ += batch.size();
  return result.last_offset;
}

storage::Result<int64_t> MetadataLog::delete_before(int64_t offset) {
  return log_->delete_records_before(std::min(offset, log_->log_end_offset()));
}

const std::filesystem::path& MetadataLog::dir() const { return log_->dir(); }

int64_t MetadataLog::log_start_offset() const { return log_->log_start_offset(); }

int64_t MetadataLog::end_offset() const { return log_->log_end_offset(); }

size_t MetadataLog::segment_count() const { return log_->segment_count(); }

StorageError MetadataLog::close() { return log_->close(); }

}  // namespace kfk::server

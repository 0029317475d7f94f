#include "server/cluster/metadata_log.h"

#include <fmt/format.h>

#include <vector>

#include "core/record/record_batch.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

using storage::StorageError;
using storage::StorageErrorKind;

MetadataLog::MetadataLog(std::unique_ptr<storage::PartitionLog> log) : log_(std::move(log)) {}

MetadataLog::~MetadataLog() = default;

storage::Result<std::unique_ptr<MetadataLog>> MetadataLog::open(
    const std::filesystem::path& log_dir) {
  storage::PartitionLogOptions options;
  options.dir = log_dir / fmt::format("{}-0", kMetadataTopic);
  // Small segments; the log is read whole at every start and never deleted by time.
  options.config.segment_bytes = 16 << 20;
  options.config.retention_ms = -1;
  options.config.retention_bytes = -1;
  options.config.flush_messages = 1;
  auto log = storage::PartitionLog::open(options);
  if (!log) return log.error();
  return std::unique_ptr<MetadataLog>(new MetadataLog(std::move(log).value()));
}

StorageError MetadataLog::replay(const Visitor& visit) const {
  int64_t offset = log_->log_start_offset();
  const int64_t end = log_->log_end_offset();
  while (offset < end) {
    auto chunk = log_->read_bytes(offset, 1 << 20, true, storage::ReadLimit::log_end);
    if (!chunk.ok())
      return StorageError::make(
          StorageErrorKind::corrupt_batch,
          fmt::format("metadata log at offset {}: {}", offset, chunk.error_message));
    record::BatchIterator batches(chunk.bytes);
    bool progressed = false;
    while (auto batch = batches.next()) {
      record::DecodedRecords records;
      if (auto err = record::decode_records(*batch, records); !err.ok())
        return StorageError::make(StorageErrorKind::corrupt_batch,
                                  fmt::format("metadata log batch at offset {}: {}",
                                              batch->base_offset(), err.message()));
      for (const auto& r : records.records) {
        if (r.offset < offset) continue;
        std::string error;
        auto rec = decode_metadata_record(r.value.value_or(std::span<const uint8_t>{}), error);
        if (!rec)
          return StorageError::make(
              StorageErrorKind::corrupt_batch,
              fmt::format("metadata record at offset {}: {}", r.offset, error));
        if (auto e = visit(r.offset, *rec); !e.ok()) return e;
      }
      offset = batch->next_offset();
      progressed = true;
    }
    if (!progressed)
      return StorageError::make(StorageErrorKind::corrupt_batch,
                                fmt::format("metadata log: no whole batch at offset {}", offset));
  }
  return {};
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
  auto result = log_->append(batch, append_options);
  if (!result.ok())
    return StorageError::make(StorageErrorKind::invalid_argument,
                              fmt::format("metadata log append: {}", result.error_message));
  if (auto e = log_->flush(); !e.ok()) return e;
  return result.last_offset;
}

int64_t MetadataLog::end_offset() const { return log_->log_end_offset(); }

StorageError MetadataLog::close() { return log_->close(); }

}  // namespace kfk::server

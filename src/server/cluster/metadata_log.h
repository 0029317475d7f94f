// The metadata log: the partition __cluster_metadata-0 in metadata.log.dir, where the
// controller appends every change to topics, configs and producer id blocks. A single node
// is a quorum of one voter: an append is committed once it is fsynced. Segments are deleted
// only below a snapshot of the image (metadata_snapshot.h), which then stands for them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "server/cluster/metadata_records.h"
#include "server/storage/file_io.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {
class PartitionLog;
}

namespace kfk::server {

inline constexpr std::string_view kMetadataTopic = storage::kMetadataLogTopic;

// kfk's default segment size for the metadata log (metadata.log.segment.bytes).
inline constexpr int32_t kDefaultMetadataSegmentBytes = 16 << 20;

class MetadataLog {
 public:
  // Opens (creating) <log_dir>/__cluster_metadata-0, recovering a torn tail.
  static storage::Result<std::unique_ptr<MetadataLog>> open(
      const std::filesystem::path& log_dir, int32_t segment_bytes = kDefaultMetadataSegmentBytes);
  ~MetadataLog();
  MetadataLog(const MetadataLog&) = delete;
  MetadataLog& operator=(const MetadataLog&) = delete;

  using Visitor = std::function<storage::StorageError(int64_t offset, const MetadataRecord&)>;
  // Calls `visit` for every record in offset order; stops at the first error it returns.
  // A record that does not decode is an error (corrupt_batch).
  storage::StorageError replay(const Visitor& visit) const;

  struct ReplayStats {
    size_t records = 0;
    uint64_t bytes = 0;  // of the batches read
  };
  // The same from `offset` (at least the log start) to the log end.
  storage::Result<ReplayStats> replay_from(int64_t offset, const Visitor& visit) const;

  // Appends the records as one batch and fsyncs it. Returns the offset of the last record.
  storage::Result<int64_t> append(std::span<const MetadataRecord> records);

  // Deletes the whole segments below `offset` (a snapshot covers them): the log start moves
  // up to, never past, `offset`. Returns the new log start offset.
  storage::Result<int64_t> delete_before(int64_t offset);

  const std::filesystem::path& dir() const;
  int64_t log_start_offset() const;
  int64_t end_offset() const;
  size_t segment_count() const;
  // Bytes appended since the log was opened.
  uint64_t bytes_appended() const { return bytes_appended_; }
  storage::StorageError close();

 private:
  explicit MetadataLog(std::unique_ptr<storage::PartitionLog> log);
  std::unique_ptr<storage::PartitionLog> log_;
  uint64_t bytes_appended_ = 0;
};

}  // namespace kfk::server

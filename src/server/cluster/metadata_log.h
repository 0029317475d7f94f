// The metadata log: the partition __cluster_metadata-0 in metadata.log.dir, where the
// controller appends every change to topics, configs and producer id blocks. A single node
// is a quorum of one voter: an append is committed once it is fsynced.
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

class MetadataLog {
 public:
  // Opens (creating) <log_dir>/__cluster_metadata-0, recovering a torn tail.
  static storage::Result<std::unique_ptr<MetadataLog>> open(const std::filesystem::path& log_dir);
  ~MetadataLog();
  MetadataLog(const MetadataLog&) = delete;
  MetadataLog& operator=(const MetadataLog&) = delete;

  using Visitor = std::function<storage::StorageError(int64_t offset, const MetadataRecord&)>;
  // Calls `visit` for every record in offset order; stops at the first error it returns.
  // A record that does not decode is an error (corrupt_batch).
  storage::StorageError replay(const Visitor& visit) const;

  // Appends the records as one batch and fsyncs it. Returns the offset of the last record.
  storage::Result<int64_t> append(std::span<const MetadataRecord> records);

  int64_t end_offset() const;
  storage::StorageError close();

 private:
  explicit MetadataLog(std::unique_ptr<storage::PartitionLog> log);
  std::unique_ptr<storage::PartitionLog> log_;
};

}  // namespace kfk::server

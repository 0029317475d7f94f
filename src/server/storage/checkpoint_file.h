// Offset checkpoint files of a log dir (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, replication-offset-checkpoint), in Kafka's text format:
//
//   0                      line 1: the format version, always 0
//   2                      line 2: the number of entries
//   orders 0 1500          then one line per partition: topic, partition, offset,
//   payments 3 42          separated by single spaces, each line ending in '\n'
//
// Topic names cannot hold spaces, so the split is unambiguous. Files are replaced atomically
// (tmp file, fsync, rename, fsync of the directory): a reader sees the old or the new file,
// also after a crash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "server/storage/file_io.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {

using OffsetMap = std::map<TopicPartition, int64_t>;

inline constexpr std::string_view kRecoveryPointCheckpoint = "recovery-point-offset-checkpoint";
inline constexpr std::string_view kLogStartOffsetCheckpoint = "log-start-offset-checkpoint";
inline constexpr std::string_view kReplicationOffsetCheckpoint = "replication-offset-checkpoint";

std::string format_checkpoint(const OffsetMap& offsets);
// corrupt_checkpoint with the line number and what is wrong: another version, a count that
// does not match the lines, a malformed line, a negative partition, a repeated partition.
Result<OffsetMap> parse_checkpoint(std::string_view text);

class OffsetCheckpointFile {
 public:
  explicit OffsetCheckpointFile(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }
  StorageError write(const OffsetMap& offsets) const;
  // A missing file reads as no entries (a new log dir).
  Result<OffsetMap> read() const;

 private:
  std::filesystem::path path_;
};

}  // namespace kfk::storage

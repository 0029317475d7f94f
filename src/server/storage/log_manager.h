// The partition logs of a broker across its log dirs.
//
// Each log dir holds partition directories (<topic>-<partition>), the checkpoint files
// recovery-point-offset-checkpoint and log-start-offset-checkpoint, and, between a clean
// shutdown and the next start, the marker file .kafka_cleanshutdown, whose presence lets
// every segment be trusted without a scan. Directories named <topic>-<partition>.<id>-delete
// are partitions whose deletion was interrupted: they are removed at start.
//
// Thread-safety: all methods may be called from any thread. The manager's mutex guards only
// its map; each PartitionLog has its own. Logs are handed out as shared_ptr, so a log stays
// usable by a request in flight while the partition is deleted (its calls then fail with
// `closed`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "server/storage/checkpoint_file.h"
#include "server/storage/log_config.h"
#include "server/storage/partition_log.h"

namespace kfk::storage {

inline constexpr std::string_view kCleanShutdownFile = ".kafka_cleanshutdown";

struct LogManagerOptions {
  std::vector<fs::path> log_dirs;
  // The settings of a partition found on disk; the default config when unset.
  std::function<LogConfig(const TopicPartition&)> config_for;
  LogConfig default_config;
  bool strict_new_producers = false;
  int64_t now_ms = -1;
  // Threads opening (and after a crash, recovering) the partitions of one log dir at start:
  // num.recovery.threads.per.data.dir. config_for is called from them.
  int recovery_threads = 1;
};

class LogManager {
 public:
  // Creates missing log dirs, removes interrupted deletions, and opens every partition.
  static Result<std::unique_ptr<LogManager>> open(LogManagerOptions options);

  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // The partition's log; nullptr when this broker has none.
  std::shared_ptr<PartitionLog> partition(const TopicPartition& tp) const;
  std::vector<TopicPartition> partitions() const;
  // Creates the partition in the log dir holding the fewest partitions (or returns the log
  // when it exists already).
  Result<std::shared_ptr<PartitionLog>> create_partition(const TopicPartition& tp,
                                                         const LogConfig& config);
  // Forgets the partition and deletes its directory.
  StorageError delete_partition(const TopicPartition& tp);

  // Writes both checkpoint files of every log dir.
  StorageError checkpoint();
  // Flushes each log whose flush.ms has passed, and the segments every log rolled since its
  // last flush; returns how many logs moved their recovery point.
  Result<size_t> flush_due(int64_t now_ms);
  // Applies retention to every log; returns the segments deleted.
  Result<size_t> apply_retention(int64_t now_ms);

  // Closes (flushes) every log, writes the checkpoints and the clean-shutdown markers.
  StorageError shutdown();

  const std::vector<fs::path>& log_dirs() const { return options_.log_dirs; }
  // Which log dir holds the partition; -1 when none.
  int dir_index(const TopicPartition& tp) const;

 private:
  explicit LogManager(LogManagerOptions options) : options_(std::move(options)) {}
  StorageError load_dir(size_t index, int64_t now_ms);

  struct Entry {
    std::shared_ptr<PartitionLog> log;
    size_t dir = 0;
  };

  LogManagerOptions options_;
  mutable std::mutex mu_;
  std::map<TopicPartition, Entry> logs_;
  bool shut_down_ = false;
};

}  // namespace kfk::storage

// The log cleaner threads of a broker: which compacted log to clean next, the cleaner
// checkpoints, and what the last cleaning of each partition did.
//
// Each log dir keeps `cleaner-offset-checkpoint` (the offset checkpoint format of
// checkpoint_file.h): per compacted partition, where its dirty section starts. A thread takes
// the log with the highest dirty ratio among those worth cleaning (log_cleaner.h), cleans it,
// writes the checkpoint, and otherwise waits log.cleaner.backoff.ms. Two threads never clean
// the same log. A log whose cleaning fails (a corrupt segment, an I/O error) is left alone
// until the broker restarts, with an error in the log, as Kafka marks it uncleanable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "server/storage/log_cleaner.h"
#include "server/storage/log_manager.h"

namespace kfk::storage {

inline constexpr std::string_view kCleanerOffsetCheckpoint = "cleaner-offset-checkpoint";

struct LogCleanerConfig {
  int threads = 1;                                          // log.cleaner.threads
  int64_t dedupe_buffer_bytes = int64_t{128} << 20;         // log.cleaner.dedupe.buffer.size
  double dedupe_load_factor = 0.9;                          // log.cleaner.io.buffer.load.factor
  int64_t io_buffer_bytes = int64_t{512} << 10;             // log.cleaner.io.buffer.size
  double io_max_bytes_per_second = 1.7976931348623157e308;  // log.cleaner.io.max.bytes.per.second
  int64_t backoff_ms = 15000;                               // log.cleaner.backoff.ms
};

// A compacted partition as the cleaner sees it, for `kfk topic describe`.
struct CleanerStatus {
  double dirty_ratio = 0;
  int64_t first_dirty_offset = 0;
  uint64_t clean_bytes = 0;
  uint64_t dirty_bytes = 0;
  int64_t last_cleaning_ms = -1;  // wall clock at its end; -1: not cleaned since start
  CleaningResult last;
  bool uncleanable = false;
};

class LogCleanerManager {
 public:
  LogCleanerManager(LogManager& logs, LogCleanerConfig config);
  ~LogCleanerManager();
  LogCleanerManager(const LogCleanerManager&) = delete;
  LogCleanerManager& operator=(const LogCleanerManager&) = delete;

  // Reads the checkpoints; starts the threads unless `start_threads` is false (tests then
  // call clean_once).
  StorageError start(bool start_threads = true);
  // Stops the threads, abandoning a cleaning in progress (its output is removed).
  void stop();
  // Cleans the dirtiest log worth cleaning; false when there was none.
  Result<bool> clean_once(int64_t now_ms = -1);
  // Forgets a deleted partition.
  void forget(const TopicPartition& tp);

  std::optional<CleanerStatus> status(const TopicPartition& tp, int64_t now_ms = -1) const;
  // The checkpoint of a partition; the log start when it has none.
  int64_t checkpoint_of(const TopicPartition& tp) const;

 private:
  void run_thread();
  // Rolls active segments that hold a record older than max.compaction.lag.ms, then picks a
  // log; marks it in progress.
  std::optional<TopicPartition> pick(int64_t now_ms, std::shared_ptr<PartitionLog>& log,
                                     CleanerView& view, CleanableRange& range,
                                     bool& expire_tombstones);
  StorageError write_checkpoints();

  LogManager& logs_;
  LogCleanerConfig config_;
  IoThrottler throttler_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<TopicPartition, int64_t> checkpoints_;
  std::set<TopicPartition> in_progress_;
  std::set<TopicPartition> uncleanable_;
  std::map<TopicPartition, std::pair<int64_t, CleaningResult>> last_;
  // When tombstones kept by the last cleaning of a log may go.
  std::map<TopicPartition, int64_t> tombstone_deadlines_;
  // Logs cleaned before this start whose tombstone deadline was lost with the restart: the
  // first look at each gives it delete.retention.ms from now (later than the lost deadline,
  // never earlier, so tombstones are kept at least as long as promised).
  std::set<TopicPartition> deadline_unknown_;
  std::mutex checkpoint_file_mu_;  // one writer of the files at a time
  std::vector<std::thread> threads_;
};

}  // namespace kfk::storage

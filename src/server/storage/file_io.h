// Thin, error-returning wrappers over the POSIX file calls the storage engine uses, and the
// file naming rules of Kafka's log directories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/storage/storage_error.h"

namespace kfk::storage {

namespace fs = std::filesystem;

// An open file descriptor, closed when the last owner lets go. Segments share it with the
// file slices handed to fetch responses, so a segment deleted while a response is being sent
// stays readable until the response is done with it.
class FileHandle {
 public:
  // open(2) with O_CLOEXEC added.
  static Result<std::shared_ptr<FileHandle>> open(const fs::path& path, int flags, int mode = 0644);

  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  int fd() const { return fd_; }
  // The path the file was opened at (for messages; not updated by renames, so that holders
  // on other threads can read it safely).
  const fs::path& path() const { return path_; }

 private:
  FileHandle(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  fs::path path_;
};

// Reads up to out.size() bytes at `position`; fewer only at end of file. Retries EINTR and
// short reads.
Result<size_t> pread_some(int fd, std::span<uint8_t> out, uint64_t position,
                          const fs::path& path_for_errors);
// Reads exactly out.size() bytes or fails (not_found-free: a short file is an io_error with
// sys_errno 0).
StorageError pread_exact(int fd, std::span<uint8_t> out, uint64_t position,
                         const fs::path& path_for_errors);
StorageError pwrite_all(int fd, std::span<const uint8_t> data, uint64_t position,
                        const fs::path& path_for_errors);
StorageError fsync_file(int fd, const fs::path& path_for_errors);
StorageError truncate_file(int fd, uint64_t size, const fs::path& path_for_errors);
Result<uint64_t> file_size(int fd, const fs::path& path_for_errors);
// fsync on the directory itself, so that created, renamed and removed entries are durable.
StorageError fsync_dir(const fs::path& dir);
// syncfs(2) of the file system holding `dir`: everything written there, data and names, is
// durable when it returns. One call instead of an fsync per file at shutdown.
StorageError sync_file_system(const fs::path& dir);

// How a flush makes what it wrote durable: an fsync of each file and directory it touched,
// or none, because the caller syncs the whole file system afterwards (sync_file_system).
enum class SyncMode : uint8_t { each_file, by_caller };

// Reads a whole (small) file; fails when it is larger than max_bytes.
Result<std::vector<uint8_t>> read_file(const fs::path& path, size_t max_bytes);
// tmp file + write + fsync + rename over `path` + fsync of the directory: readers see either
// the old or the new content, also after a crash. Without `durable` the two fsyncs are
// skipped: for files whose loss or damage is detected and tolerated (producer snapshots).
StorageError write_file_atomically(const fs::path& path, std::span<const uint8_t> data,
                                   bool durable = true);

// The entries of a directory; an error value where std::filesystem would throw.
Result<std::vector<fs::directory_entry>> list_dir(const fs::path& dir);

StorageError rename_file(const fs::path& from, const fs::path& to);
// Removes a file; a missing file is not an error.
StorageError remove_file(const fs::path& path);

// Milliseconds since the epoch from the system clock.
int64_t wall_clock_ms();

// --- names ---------------------------------------------------------------------------

inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
inline constexpr std::string_view kSnapshotSuffix = ".snapshot";
// The damaged ranges found in a segment, kept beside it (Segment::save_damage).
inline constexpr std::string_view kDamagedSuffix = ".damaged";
inline constexpr std::string_view kDeletedSuffix = ".deleted";
inline constexpr std::string_view kCleanedSuffix = ".cleaned";
inline constexpr std::string_view kSwapSuffix = ".swap";
inline constexpr std::string_view kTmpSuffix = ".tmp";
inline constexpr std::string_view kDeleteDirSuffix = "-delete";

// "00000000000000000042" + suffix: the 20-digit zero-padded offset Kafka names files by.
std::string offset_file_name(int64_t offset, std::string_view suffix);
// The offset of a name made by offset_file_name with this suffix; nullopt otherwise.
std::optional<int64_t> parse_offset_file_name(std::string_view name, std::string_view suffix);

// The metadata log's topic: its partition directory sits in a log dir, but the controller, not
// the LogManager, opens it.
inline constexpr std::string_view kMetadataLogTopic = "__cluster_metadata";

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
  bool operator<(const TopicPartition& o) const {
    return topic != o.topic ? topic < o.topic : partition < o.partition;
  }
};

std::string to_string(const TopicPartition& tp);
// "<topic>-<partition>"
std::string partition_dir_name(const TopicPartition& tp);
// The inverse; the partition is after the last '-'. nullopt for other names (including the
// "-delete", "-future" and "-stray" directories).
std::optional<TopicPartition> parse_partition_dir_name(std::string_view name);
// "<topic>-<partition>.<32 hex digits>-delete": the name a partition directory gets when it
// is deleted, as Kafka names it.
std::string delete_dir_name(const TopicPartition& tp);

}  // namespace kfk::storage

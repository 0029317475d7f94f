// An exclusive lock on a data directory for the life of the process, as Kafka's `.lock`:
// flock(2) LOCK_EX | LOCK_NB on `<dir>/.lock`, which holds the pid of the holder. A second
// broker started on the same directory fails at once, naming the directory and the pid,
// instead of writing the same logs and losing acknowledged records. The kernel drops the
// lock when the process ends, however it ends, so a crash leaves no stale lock behind.
#pragma once

#include <filesystem>
#include <string>

namespace kfk::storage {

inline constexpr std::string_view kDirLockFile = ".lock";

class DirLock {
 public:
  // Locks `dir` (created if missing). On failure returns an invalid lock and sets `error`.
  static DirLock acquire(const std::filesystem::path& dir, std::string& error);

  DirLock() = default;
  ~DirLock();
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  bool locked() const { return fd_ >= 0; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
};

}  // namespace kfk::storage

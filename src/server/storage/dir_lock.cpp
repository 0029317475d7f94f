#include "server/storage/dir_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace kfk::storage {

namespace {
// The pid written by the holder, or "" when the file says nothing usable.
std::string read_holder(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char c : text)
    if (c < '0' || c > '9') return {};
  return text;
}
}  // namespace

DirLock DirLock::acquire(const std::filesystem::path& dir, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = fmt::format("cannot create the directory {}: {}", dir.string(), ec.message());
    return {};
  }
  const auto path = dir / kDirLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = fmt::format("cannot open the lock file {}: {}", path.string(), std::strerror(errno));
    return {};
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      const std::string holder = read_holder(fd);
      error = fmt::format(
          "the directory {} is in use by another broker ({}holding {}); a directory can be "
          "served by one broker at a time",
          dir.string(), holder.empty() ? "" : "pid " + holder + ", ", path.string());
    } else {
      error = fmt::format("cannot lock {}: {}", path.string(), std::strerror(err));
    }
    ::close(fd);
    return {};
  }
  // Ours now: record who holds it, for the message a second broker prints.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second broker is poorer.
  }
  DirLock lock;
  lock.dir_ = dir;
  lock.fd_ = fd;
  return lock;
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

DirLock::DirLock(DirLock&& other) noexcept : dir_(std::move(other.dir_)), fd_(other.fd_) {
  other.fd_ = -1;
}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    dir_ = std::move(other.dir_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

}  // namespace kfk::storage

#include "server/storage/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <random>

namespace kfk::storage {

Result<std::shared_ptr<FileHandle>> FileHandle::open(const fs::path& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    StorageError e = StorageError::io(fmt::format("open {}", path.string()), err);
    if (err == ENOENT) e.kind = StorageErrorKind::not_found;
    return e;
  }
  return std::shared_ptr<FileHandle>(new FileHandle(fd, path));
}

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t> pread_some(int fd, std::span<uint8_t> out, uint64_t position,
                          const fs::path& path_for_errors) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return StorageError::io(
          fmt::format("read {} at {}", path_for_errors.string(), position + done), errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

StorageError pread_exact(int fd, std::span<uint8_t> out, uint64_t position,
                         const fs::path& path_for_errors) {
  auto got = pread_some(fd, out, position, path_for_errors);
  if (!got) return got.error();
  if (*got != out.size())
    return StorageError::make(StorageErrorKind::io_error,
                              fmt::format("read {}: {} bytes at {} but the file ends after {}",
                                          path_for_errors.string(), out.size(), position, *got));
  return {};
}

StorageError pwrite_all(int fd, std::span<const uint8_t> data, uint64_t position,
                        const fs::path& path_for_errors) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return StorageError::io(
          fmt::format("write {} at {}", path_for_errors.string(), position + done), errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

StorageError fsync_file(int fd, const fs::path& path_for_errors) {
  if (::fsync(fd) != 0)
    return StorageError::io(fmt::format("fsync {}", path_for_errors.string()), errno);
  return {};
}

StorageError truncate_file(int fd, uint64_t size, const fs::path& path_for_errors) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0)
    return StorageError::io(fmt::format("truncate {} to {}", path_for_errors.string(), size),
                            errno);
  return {};
}

Result<uint64_t> file_size(int fd, const fs::path& path_for_errors) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return StorageError::io(fmt::format("stat {}", path_for_errors.string()), errno);
  return static_cast<uint64_t>(st.st_size);
}

StorageError fsync_dir(const fs::path& dir) {
  auto handle = FileHandle::open(dir, O_RDONLY | O_DIRECTORY);
  if (!handle) return handle.error();
  return fsync_file((*handle)->fd(), dir);
}

StorageError sync_file_system(const fs::path& dir) {
  auto handle = FileHandle::open(dir, O_RDONLY | O_DIRECTORY);
  if (!handle) return handle.error();
  if (::syncfs((*handle)->fd()) != 0)
    return StorageError::io(fmt::format("syncfs {}", dir.string()), errno);
  return {};
}

Result<std::vector<uint8_t>> read_file(const fs::path& path, size_t max_bytes) {
  auto handle = FileHandle::open(path, O_RDONLY);
  if (!handle) return handle.error();
  auto size = file_size((*handle)->fd(), path);
  if (!size) return size.error();
  if (*size > max_bytes)
    return StorageError::make(
        StorageErrorKind::invalid_argument,
        fmt::format("{} has {} bytes, more than the {} expected", path.string(), *size, max_bytes));
  std::vector<uint8_t> data(*size);
  auto got = pread_some((*handle)->fd(), data, 0, path);
  if (!got) return got.error();
  data.resize(*got);
  return data;
}

StorageError write_file_atomically(const fs::path& path, std::span<const uint8_t> data,
                                   bool durable) {
  fs::path tmp = path;
  tmp += kTmpSuffix;
  {
    auto handle = FileHandle::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!handle) return handle.error();
    if (auto e = pwrite_all((*handle)->fd(), data, 0, tmp); !e.ok()) return e;
    if (durable) {
      if (auto e = fsync_file((*handle)->fd(), tmp); !e.ok()) return e;
    }
  }
  if (auto e = rename_file(tmp, path); !e.ok()) return e;
  if (!durable) return {};
  return fsync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Result<std::vector<fs::directory_entry>> list_dir(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  std::vector<fs::directory_entry> out;
  while (!ec && it != fs::directory_iterator()) {
    out.push_back(*it);
    it.increment(ec);
  }
  if (ec) {
    StorageError e = StorageError::io(fmt::format("list {}", dir.string()), ec.value());
    if (ec == std::errc::no_such_file_or_directory) e.kind = StorageErrorKind::not_found;
    return e;
  }
  return out;
}

StorageError rename_file(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return StorageError::io(fmt::format("rename {} to {}", from.string(), to.string()), errno);
  return {};
}

StorageError remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return StorageError::io(fmt::format("remove {}", path.string()), errno);
  return {};
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string offset_file_name(int64_t offset, std::string_view suffix) {
  return fmt::format("{:020d}{}", offset, suffix);
}

std::optional<int64_t> parse_offset_file_name(std::string_view name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return std::nullopt;
  int64_t offset = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + 20, offset);
  if (ec != std::errc() || ptr != name.data() + 20 || offset < 0) return std::nullopt;
  return offset;
}

std::string to_string(const TopicPartition& tp) {
  return fmt::format("{}-{}", tp.topic, tp.partition);
}

std::string partition_dir_name(const TopicPartition& tp) { return to_string(tp); }

std::optional<TopicPartition> parse_partition_dir_name(std::string_view name) {
  auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= name.size()) return std::nullopt;
  std::string_view digits = name.substr(dash + 1);
  int32_t partition = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || partition < 0)
    return std::nullopt;
  // A topic name has no '.'-suffix with '-delete' style markers; those end in letters and
  // never parse as a partition number, so reaching here means a plain partition directory.
  return TopicPartition{std::string(name.substr(0, dash)), partition};
}

std::string delete_dir_name(const TopicPartition& tp) {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(wall_clock_ms()));
  return fmt::format("{}.{:016x}{:016x}{}", to_string(tp), rng(), rng(), kDeleteDirSuffix);
}

}  // namespace kfk::storage

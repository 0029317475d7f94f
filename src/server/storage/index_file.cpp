#include "server/storage/index_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "server/storage/file_io.h"

namespace kfk::storage {

IndexFile::IndexFile(std::filesystem::path path, size_t entry_size, StorageErrorKind corrupt_kind)
    : path_(std::move(path)), entry_size_(entry_size), corrupt_kind_(corrupt_kind) {}

IndexFile::~IndexFile() { close(); }

StorageError IndexFile::ensure_fd() {
  if (fd_ >= 0) return {};
  int fd;
  do {
    fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return StorageError::io(fmt::format("open {}", path_.string()), errno);
  fd_ = fd;
  return {};
}

void IndexFile::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StorageError IndexFile::map(size_t length, bool writable) {
  unmap();
  if (length == 0) return {};
  const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* p = ::mmap(nullptr, length, prot, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return StorageError::io(fmt::format("mmap {}", path_.string()), errno);
  map_ = static_cast<uint8_t*>(p);
  map_len_ = length;
  return {};
}

void IndexFile::unmap() {
  if (map_ != nullptr) ::munmap(map_, map_len_);
  map_ = nullptr;
  map_len_ = 0;
}

StorageError IndexFile::open(size_t max_bytes, bool writable) {
  close();
  if (auto e = ensure_fd(); !e.ok()) return e;
  auto size = file_size(fd_, path_);
  if (!size) {
    close_fd();
    return size.error();
  }
  if (*size % entry_size_ != 0) {
    close_fd();
    return StorageError::make(corrupt_kind_,
                              fmt::format("{} has {} bytes, not a multiple of the {}-byte entry",
                                          path_.string(), *size, entry_size_));
  }
  entries_ = *size / entry_size_;
  open_ = true;
  writable_ = false;
  // The mapping covers the whole file (the current length) until resize() changes it.
  if (auto e = map(*size, false); !e.ok()) {
    close();
    return e;
  }
  max_entries_ = entries_;
  if (writable) return resize(max_bytes, true);
  close_fd();
  return {};
}

StorageError IndexFile::resize(size_t max_bytes, bool writable) {
  if (!open_) return StorageError::make(StorageErrorKind::closed, path_.string());
  size_t length = std::max(max_bytes / entry_size_ * entry_size_, entries_ * entry_size_);
  if (auto e = ensure_fd(); !e.ok()) return e;
  if (length != map_len_ || writable != writable_) {
    const bool length_changes = length != map_len_;
    unmap();
    if (length_changes) {
      if (auto e = truncate_file(fd_, length, path_); !e.ok()) return e;
      dirty_ = true;
    }
    if (auto e = map(length, writable); !e.ok()) return e;
  }
  max_entries_ = length / entry_size_;
  writable_ = writable;
  // The used entries were written, so their blocks exist; the rest may be a hole.
  reserved_bytes_ = entries_ * entry_size_;
  if (!writable_ && !dirty_) close_fd();
  return {};
}

StorageError IndexFile::reserve_through(size_t index) {
  const size_t end = (index + 1) * entry_size_;
  if (end <= reserved_bytes_) return {};
  if (auto e = ensure_fd(); !e.ok()) return e;
  // A chunk at a time: one fallocate for thousands of entries, and no more of the disk
  // taken than a few pages beyond what is used.
  constexpr size_t kReserveChunk = 64 << 10;
  const size_t want = std::min(std::max(end, reserved_bytes_ + kReserveChunk), map_len_);
  int rc;
  do {
    rc = ::fallocate(fd_, 0, static_cast<off_t>(reserved_bytes_),
                     static_cast<off_t>(want - reserved_bytes_));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EOPNOTSUPP || errno == ENOSYS) {
      pwrite_entries_ = true;
      return {};
    }
    return StorageError::io(fmt::format("fallocate {}", path_.string()), errno);
  }
  reserved_bytes_ = want;
  return {};
}

StorageError IndexFile::push(const uint8_t* entry) {
  if (writable_ && !pwrite_entries_ && entries_ < max_entries_) {
    if (auto e = reserve_through(entries_); !e.ok()) return e;
  }
  if (writable_ && !pwrite_entries_ && entries_ < max_entries_) {
    std::memcpy(map_ + entries_ * entry_size_, entry, entry_size_);
  } else {
    if (auto e = ensure_fd(); !e.ok()) return e;
    if (auto e = pwrite_all(fd_, std::span(entry, entry_size_), entries_ * entry_size_, path_);
        !e.ok())
      return e;
  }
  ++entries_;
  dirty_ = true;
  return {};
}

StorageError IndexFile::truncate_entries(size_t count) {
  if (count >= entries_) return {};
  if (auto e = ensure_fd(); !e.ok()) return e;
  size_t length = map_len_;
  if (writable_) {
    // Cutting the file and growing it back zeroes the dropped entries without writing them.
    if (auto e = truncate_file(fd_, count * entry_size_, path_); !e.ok()) return e;
    if (auto e = truncate_file(fd_, length, path_); !e.ok()) return e;
    // The cut freed the blocks past the kept entries: reserve them again before storing.
    reserved_bytes_ = std::min(reserved_bytes_, count * entry_size_);
  } else {
    // A trimmed index's length is its entry count: keep it so.
    unmap();
    length = count * entry_size_;
    if (auto e = truncate_file(fd_, length, path_); !e.ok()) return e;
    if (auto e = map(length, false); !e.ok()) return e;
    max_entries_ = count;
  }
  entries_ = count;
  dirty_ = true;
  return {};
}

StorageError IndexFile::flush(SyncMode mode) {
  if (!dirty_) return {};
  if (mode == SyncMode::each_file)
    if (auto e = fsync_file(fd_, path_); !e.ok()) return e;
  dirty_ = false;
  if (!writable_) close_fd();
  return {};
}

void IndexFile::close() {
  unmap();
  close_fd();
  open_ = false;
  writable_ = false;
  dirty_ = false;
  entries_ = 0;
  max_entries_ = 0;
  reserved_bytes_ = 0;
}

StorageError IndexFile::remove() {
  close();
  return remove_file(path_);
}

StorageError IndexFile::rename(const std::filesystem::path& to) {
  if (auto e = rename_file(path_, to); !e.ok()) return e;
  path_ = to;
  return {};
}

}  // namespace kfk::storage

// A memory-mapped file of fixed-size entries: what the offset and time indexes share.
//
// While its segment is active an index is preallocated to segment.index.bytes (rounded down
// to whole entries, sparse) and mapped; the used count is kept in memory. Lookups read the
// mapping. Entries are stored into the mapping, but only into blocks reserved ahead with
// fallocate(2) a chunk at a time, so a full disk is an error value (ENOSPC) from fallocate
// rather than the SIGBUS a store into a sparse hole would raise; appending an entry is then
// no system call at all. Where the file system cannot fallocate, entries are written with
// pwrite(2) into the same page cache instead. When the segment
// rolls or closes the file is trimmed to the used entries, so a trimmed file's length tells how
// many entries it has. After a crash an active index may keep its preallocated length with zeroed
// entries at the end; indexes of segments that were being written are always rebuilt by recovery,
// so that is never trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "server/storage/file_io.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {

class IndexFile {
 public:
  // corrupt_kind names the error for a file whose length is not whole entries.
  IndexFile(std::filesystem::path path, size_t entry_size, StorageErrorKind corrupt_kind);
  ~IndexFile();
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  // Opens the file, creating it when missing. The entries already there are the file length
  // divided by the entry size (the length must be a multiple of it). A writable index is
  // extended to max_bytes (sparse); a read-only one is mapped at its length. The descriptor
  // is kept while the index is writable or has unflushed changes.
  StorageError open(size_t max_bytes, bool writable);
  // Changes the file length to max_bytes (never below the used entries) and re-maps it: used
  // when a segment becomes active again (writable) or stops being active (trim).
  StorageError resize(size_t max_bytes, bool writable);
  // Shrinks the file to the used entries and makes it read-only.
  StorageError trim() { return resize(entries_ * entry_size_, false); }
  // fsync of entries written and length changes since the last flush (none with
  // SyncMode::by_caller: the caller syncs the file system).
  StorageError flush(SyncMode mode = SyncMode::each_file);
  // Unmaps and closes; the entries stay on disk.
  void close();
  // Unmaps, closes and unlinks.
  StorageError remove();
  StorageError rename(const std::filesystem::path& to);

  const std::filesystem::path& path() const { return path_; }
  size_t entry_size() const { return entry_size_; }
  size_t entries() const { return entries_; }
  size_t max_entries() const { return max_entries_; }
  bool is_open() const { return open_; }
  bool writable() const { return writable_; }
  size_t file_bytes() const { return map_len_; }

  const uint8_t* entry(size_t i) const { return map_ + i * entry_size_; }
  // Writes the next entry; the caller has checked there is room (entries() < max_entries()).
  StorageError push(const uint8_t* entry);
  // Forgets the entries from `count` on, zeroing them on disk so a crash leaves no stale tail.
  StorageError truncate_entries(size_t count);

 private:
  StorageError ensure_fd();
  // Makes sure the blocks under entry `index` are allocated (fallocate a chunk ahead).
  StorageError reserve_through(size_t index);
  StorageError map(size_t length, bool writable);
  void unmap();
  void close_fd();

  std::filesystem::path path_;
  size_t entry_size_;
  StorageErrorKind corrupt_kind_;
  int fd_ = -1;
  uint8_t* map_ = nullptr;
  size_t map_len_ = 0;
  size_t entries_ = 0;
  size_t max_entries_ = 0;
  bool open_ = false;
  bool writable_ = false;
  bool dirty_ = false;
  // Bytes from the file start whose blocks are known to be allocated (stores there cannot
  // fault for lack of space); only meaningful while writable.
  size_t reserved_bytes_ = 0;
  // fallocate(2) is not supported here: entries go through pwrite(2).
  bool pwrite_entries_ = false;
};

// The number of leading entries of [0, n) for which `holds(i)` is true, where `holds` is true
// up to some entry and false after it (index entries are sorted): a binary search.
template <class Holds>
size_t count_leading(size_t n, Holds&& holds) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (holds(mid))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

}  // namespace kfk::storage

// The part every index of a segment shares: a file of fixed-size entries (IndexFile) read
// and written through an entry codec, sorted so that it can be binary-searched.
//
// The entry type is a codec (a struct of static members), one per file format:
//
//   using Value                          the decoded entry (absolute offsets)
//   kSize                                bytes per entry on disk
//   kCorruptKind                         the error for a damaged file of this kind
//   decode(p, base_offset) -> Value      the entry at p (relative offsets made absolute)
//   encode(value, base_offset, p)        the reverse; the caller has checked it fits
//   key(value)                           what lookup() searches by (increasing)
//   offset(value)                        what truncate_to() cuts by (non-decreasing)
//   before_first(base_offset) -> Value   what lookup() returns when no entry is <= the key
//   follows(prev, next)                  whether `next` may come after `prev` in the file
//   disorder(prev, next)                 when it may not, what is out of order ("offset 5
//                                        after 7"), for messages
//   text(value)                          the entry's fields for messages: "(5, 4096)"
//
// OffsetIndexEntry (offset_index.h) and TimeIndexEntry (time_index.h) are the codecs of
// `.index` and `.timeindex`; OffsetIndex and TimeIndex add their own append rules. Tools that
// read untrusted index files (kfk debug dump-log) use the codecs directly. The members are
// defined in segment_index.cpp for the entry types instantiated there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "server/storage/index_file.h"

namespace kfk::storage {

template <class Entry>
class SegmentIndex {
 public:
  using Value = typename Entry::Value;
  static constexpr size_t kEntrySize = Entry::kSize;

  SegmentIndex(std::filesystem::path path, int64_t base_offset);

  StorageError open(size_t max_bytes, bool writable) { return file_.open(max_bytes, writable); }

  // The last entry whose key is <= key; Entry::before_first(base_offset) when there is none.
  Value lookup(int64_t key) const;
  // Removes the entries whose offset is >= offset.
  StorageError truncate_to(int64_t offset);
  StorageError truncate_all() { return file_.truncate_entries(0); }

  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return file_.entries(); }
  Value entry(size_t i) const { return Entry::decode(file_.entry(i), base_offset_); }
  std::optional<Value> last_entry() const;

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }

 protected:
  // Cheap checks of an index about to be trusted: the first and last entries are not below
  // the base offset and the last follows the first.
  StorageError sanity_check_entries() const;
  // invalid_index_entry unless offset - base_offset fits the int32 relative offset.
  StorageError check_relative_offset(int64_t offset) const;
  // index_full, naming the file and its entries.
  StorageError full_error() const;
  // Writes the next entry; the caller has checked it fits and follows the last one.
  StorageError push(const Value& value);
  // `kind` with a message prefixed by the file's path.
  StorageError error(StorageErrorKind kind, std::string what) const;

  int64_t base_offset_;
  IndexFile file_;
};

}  // namespace kfk::storage

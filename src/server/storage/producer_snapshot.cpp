#include "server/storage/producer_snapshot.h"

#include <fmt/format.h>

#include "core/record/crc32c.h"
#include "core/util/big_endian.h"
#include "server/storage/file_io.h"

namespace kfk::storage {

namespace {

constexpr size_t kHeaderSize = 10;  // version + crc + count
constexpr size_t kCrcStart = 6;     // the CRC covers everything from the count on
constexpr size_t kEntrySize = 46;
// Snapshots hold one entry per live producer; this bounds what a damaged length can ask for.
constexpr size_t kMaxSnapshotBytes = size_t{256} << 20;

}  // namespace

std::vector<uint8_t> encode_producer_snapshot(const std::vector<ProducerStateEntry>& entries) {
  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + entries.size() * kEntrySize);
  append_be<int16_t>(out, kProducerSnapshotVersion);
  append_be<uint32_t>(out, 0);  // CRC, filled below
  append_be<uint32_t>(out, static_cast<uint32_t>(entries.size()));
  for (const ProducerStateEntry& e : entries) {
    const BatchMetadata* last = e.batches.empty() ? nullptr : &e.batches.back();
    append_be<int64_t>(out, e.producer_id);
    append_be<int16_t>(out, e.epoch);
    append_be<int32_t>(out, last ? last->last_seq : record::kNoSequence);
    append_be<int64_t>(out, last ? last->last_offset : -1);
    append_be<uint32_t>(out,
                        static_cast<uint32_t>(last ? last->last_offset - last->first_offset : 0));
    append_be<int64_t>(out, e.last_timestamp);
    append_be<int32_t>(out, e.coordinator_epoch);
    append_be<int64_t>(out, e.current_txn_first_offset);
  }
  uint32_t crc = record::crc32c(std::span(out).subspan(kCrcStart));
  store_be<uint32_t>(out.data() + 2, crc);
  return out;
}

Result<std::vector<ProducerStateEntry>> decode_producer_snapshot(std::span<const uint8_t> bytes) {
  auto corrupt = [](std::string what) {
    return StorageError::make(StorageErrorKind::corrupt_snapshot, std::move(what));
  };
  if (bytes.size() < kHeaderSize)
    return corrupt(
        fmt::format("{} bytes, less than the {}-byte header", bytes.size(), kHeaderSize));
  auto version = load_be<int16_t>(bytes.data());
  if (version != kProducerSnapshotVersion) return corrupt(fmt::format("version {}", version));
  uint32_t stored = load_be<uint32_t>(bytes.data() + 2);
  uint32_t computed = record::crc32c(bytes.subspan(kCrcStart));
  if (stored != computed)
    return corrupt(fmt::format("stored CRC {:#010x}, computed {:#010x}", stored, computed));
  auto count = load_be<int32_t>(bytes.data() + 6);
  if (count < 0 || (bytes.size() - kHeaderSize) != static_cast<size_t>(count) * kEntrySize)
    return corrupt(fmt::format("{} entries in {} bytes", count, bytes.size() - kHeaderSize));

  std::vector<ProducerStateEntry> entries;
  entries.reserve(static_cast<size_t>(count));
  const uint8_t* p = bytes.data() + kHeaderSize;
  for (int32_t i = 0; i < count; ++i, p += kEntrySize) {
    ProducerStateEntry e;
    e.producer_id = load_be<int64_t>(p);
    e.epoch = load_be<int16_t>(p + 8);
    auto last_seq = load_be<int32_t>(p + 10);
    auto last_offset = load_be<int64_t>(p + 14);
    auto offset_delta = load_be<int32_t>(p + 22);
    e.last_timestamp = load_be<int64_t>(p + 26);
    e.coordinator_epoch = load_be<int32_t>(p + 34);
    e.current_txn_first_offset = load_be<int64_t>(p + 38);
    if (offset_delta < 0 || (last_offset >= 0 && last_offset < offset_delta))
      return corrupt(fmt::format("entry {}: offset delta {} for last offset {}", i, offset_delta,
                                 last_offset));
    if (last_offset >= 0) {
      BatchMetadata b;
      b.last_seq = last_seq;
      b.first_seq = first_sequence(last_seq, offset_delta);
      b.last_offset = last_offset;
      b.first_offset = last_offset - offset_delta;
      b.timestamp = e.last_timestamp;
      e.batches.push_back(b);
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

StorageError write_producer_snapshot(const std::filesystem::path& path,
                                     const std::vector<ProducerStateEntry>& entries, bool durable) {
  std::vector<uint8_t> bytes = encode_producer_snapshot(entries);
  return write_file_atomically(path, bytes, durable);
}

Result<std::vector<ProducerStateEntry>> read_producer_snapshot(const std::filesystem::path& path) {
  auto bytes = read_file(path, kMaxSnapshotBytes);
  if (!bytes) return bytes.error();
  auto entries = decode_producer_snapshot(*bytes);
  if (!entries) {
    StorageError e = entries.error();
    e.detail = fmt::format("{}: {}", path.string(), e.detail);
    return e;
  }
  return entries;
}

}  // namespace kfk::storage

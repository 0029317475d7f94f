// Snapshots of the metadata image, so that the metadata log need not be kept (and replayed)
// from offset 0: <metadata log dir>/<20-digit end offset>-<10-digit epoch>.checkpoint.
//
// A snapshot at end offset S holds the records that rebuild the image as it was after the
// record at offset S - 1; replay goes on from offset S. File layout: record batches of the
// log's format (magic 2, CRC32C, uncompressed), metadata records as the log frames them
// (metadata_records.h), offsets 0..n-1 across the batches in order. The first record carries
// the header "kfk.snapshot.records" (n in decimal), so a file cut at a batch boundary is
// not taken as whole. Written to <name>.tmp, fsynced, renamed, the directory fsynced.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_records.h"
#include "server/storage/storage_error.h"

namespace kfk::server {

inline constexpr std::string_view kSnapshotSuffix = ".checkpoint";

struct SnapshotFile {
  std::filesystem::path path;
  int64_t end_offset = 0;
  int32_t epoch = 0;
};

std::string snapshot_file_name(int64_t end_offset, int32_t epoch);
std::optional<SnapshotFile> parse_snapshot_file_name(const std::filesystem::path& path);
// The snapshots in `dir`, oldest (lowest end offset) first.
storage::Result<std::vector<SnapshotFile>> list_snapshots(const std::filesystem::path& dir);

// The records that rebuild `image` on top of a base image (cluster id, brokers): topics with
// their configs and partitions, dynamic broker configs, the producer id block, brokers.
std::vector<MetadataRecord> image_records(const MetadataImage& image);

struct SnapshotWritten {
  SnapshotFile file;
  size_t records = 0;
  uint64_t bytes = 0;
};
// Writes the snapshot of `image` at end offset image.offset + 1.
storage::Result<SnapshotWritten> write_snapshot(const std::filesystem::path& dir,
                                                const MetadataImage& image, int32_t epoch = 0);

// The records of a snapshot file; corrupt_batch when a batch fails its CRC, a record does
// not decode, or records are missing.
storage::Result<std::vector<MetadataRecord>> read_snapshot(const std::filesystem::path& path);

// Deletes the temporary files of snapshots whose writing was interrupted (a crash before
// the rename), with a log line each. A missing directory is not an error.
storage::StorageError remove_unfinished_snapshots(const std::filesystem::path& dir);

struct LoadedSnapshot {
  SnapshotFile file;
  size_t records = 0;
};
// Applies the newest snapshot that reads whole to `image`, setting image.offset to its end
// offset - 1. An unusable snapshot is renamed to <name>.unusable with a warning naming it.
// nullopt when no snapshot is usable. Unfinished snapshots are gone by then:
// MetadataLog::open removes them.
storage::Result<std::optional<LoadedSnapshot>> load_newest_snapshot(
    const std::filesystem::path& dir, MetadataImage& image);

// Deletes all but the newest `keep` snapshots. Returns the end offset of the oldest one kept
// (nullopt when none is left).
storage::Result<std::optional<int64_t>> remove_old_snapshots(const std::filesystem::path& dir,
                                                             size_t keep);

}  // namespace kfk::server

// Producer state snapshot files: <20-digit offset>.snapshot in the partition directory,
// holding the producer state as of that offset (every batch below it applied). The layout is
// Kafka's (version 1), so Kafka's tools read our files and we read theirs (big-endian):
//
//    0  version               int16   1
//    2  crc                   uint32  CRC32C of every byte after this field
//    6  count                 int32   number of entries
//   10  entries, 46 bytes each:
//         0  producerId            int64
//         8  epoch                 int16
//        10  lastSequence          int32   of the producer's last batch (-1: none)
//        14  lastOffset            int64   of that batch (-1: none)
//        22  offsetDelta           int32   lastOffset - firstOffset of that batch
//        26  timestamp             int64   maxTimestamp of the last batch
//        34  coordinatorEpoch      int32
//        38  currentTxnFirstOffset int64   -1 when no transaction is open
//
// Only the last batch of each producer is kept, as in Kafka: after a reload, duplicates of
// the four batches before it are no longer recognised until new batches refill the window
// (the log replay after the snapshot offset refills it for batches written after it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "server/storage/producer_state.h"
#include "server/storage/storage_error.h"

namespace kfk::storage {

inline constexpr int16_t kProducerSnapshotVersion = 1;

std::vector<uint8_t> encode_producer_snapshot(const std::vector<ProducerStateEntry>& entries);
// corrupt_snapshot for a wrong version, length or CRC.
Result<std::vector<ProducerStateEntry>> decode_producer_snapshot(std::span<const uint8_t> bytes);

// Atomic (tmp + rename); fsynced when durable. A snapshot lost or torn by a crash is found by
// its CRC and the state rebuilt from an older one or from the log, so rolls skip the fsync.
StorageError write_producer_snapshot(const std::filesystem::path& path,
                                     const std::vector<ProducerStateEntry>& entries,
                                     bool durable = true);
Result<std::vector<ProducerStateEntry>> read_producer_snapshot(const std::filesystem::path& path);

}  // namespace kfk::storage

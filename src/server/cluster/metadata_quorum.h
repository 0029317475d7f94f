// The metadata quorum: the metadata log and its replication. The active controller hands it
// batches of records; once a batch is committed the quorum passes it to its listener (the
// metadata loader), in offset order. A single node is a quorum of one voter, so a batch is
// committed when it is fsynced; the Raft protocol (Vote, BeginQuorumEpoch, replication
// through Fetch) will live here, below the same interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/cluster/metadata_log.h"

namespace kfk::server {

// A batch of metadata records the quorum committed.
struct CommittedBatch {
  int64_t last_offset = -1;
  uint64_t bytes = 0;  // of the batch in the log
  std::vector<MetadataRecord> records;
};

class MetadataQuorum {
 public:
  explicit MetadataQuorum(std::unique_ptr<MetadataLog> log) : log_(std::move(log)) {}
  MetadataQuorum(const MetadataQuorum&) = delete;
  MetadataQuorum& operator=(const MetadataQuorum&) = delete;

  // Called with each committed batch, in offset order, on the thread that appended it; it
  // must only hand the batch over.
  using Listener = std::function<void(CommittedBatch)>;
  void set_listener(Listener listener);

  // Appends `records` as one batch and commits it; returns the offset of its last record.
  // Appends are serialized.
  storage::Result<int64_t> append(std::vector<MetadataRecord> records);

  // The log, for replay at start and trimming below snapshots.
  MetadataLog& log() { return *log_; }

  storage::StorageError close();

 private:
  std::unique_ptr<MetadataLog> log_;
  mutable std::mutex mu_;
  Listener listener_;
};

}  // namespace kfk::server

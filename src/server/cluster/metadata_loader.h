// The metadata loader, which every node runs: at start it loads the newest usable snapshot
// and replays the metadata log after it; then it applies each batch the quorum commits, in
// offset order, on a thread of its own, and publishes the resulting image to the broker
// (which creates and deletes partition logs from it and then serves it). Requests that
// changed metadata wait for the publication of their records (wait_published), through the
// delayed-operation queue under the key (__cluster_metadata, 0, offset + 1).
//
// Snapshots: when the bytes committed since the last snapshot reach
// metadata.log.max.record.bytes.between.snapshots, or the last one is older than
// metadata.log.max.snapshot.interval.ms, the loaded image (immutable, so no copy is taken)
// goes to a writer thread, which writes it (metadata_snapshot.h), keeps the newest two
// snapshots and deletes the log segments below the older of them.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config/broker_config.h"
#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_quorum.h"

namespace kfk::server {

class DelayedOperations;

// What the broker could not carry out of an image it was handed.
struct PublishOutcome {
  // Topics whose partition logs could not all be created (out of file descriptors, a full or
  // failed disk), with why. The broker does not serve them in that state.
  std::map<std::string, std::string> failed_topics;
};

class MetadataLoader {
 public:
  using Publish = std::function<PublishOutcome(std::shared_ptr<const MetadataImage>)>;

  // Loads the newest usable snapshot in the log's directory, replays the log after it on top
  // of `base` (cluster id, brokers), publishes the result, and listens to the quorum from
  // then on. Fails when the log starts above offset 0 and no usable snapshot covers the
  // offsets below its start.
  static storage::Result<std::unique_ptr<MetadataLoader>> open(const config::BrokerConfig& config,
                                                               MetadataQuorum& quorum,
                                                               MetadataImage base, Publish publish,
                                                               DelayedOperations& delayed);
  ~MetadataLoader();
  MetadataLoader(const MetadataLoader&) = delete;
  MetadataLoader& operator=(const MetadataLoader&) = delete;

  // The newest image loaded and published.
  std::shared_ptr<const MetadataImage> image() const;

  // Waits until the image holding the record at `offset` is published, and returns the
  // outcome of the publication that first held it; nullopt at the deadline or when the loader
  // stops first.
  asio::awaitable<std::optional<PublishOutcome>> wait_published(
      int64_t offset, std::chrono::steady_clock::time_point deadline) const;

  // Blocks until every committed batch handed over so far is published and the snapshot
  // writer has written every snapshot handed to it.
  void wait_for_snapshots();
  size_t snapshots_written() const;

  // Publishes the batches already handed over, then stops the publisher and the snapshot
  // writer (after a snapshot under way).
  void stop();

 private:
  MetadataLoader(const config::BrokerConfig& config, MetadataQuorum& quorum, Publish publish,
                 DelayedOperations& delayed);
  void handle_commit(CommittedBatch batch);
  void publisher_loop();
  // Records a publication and wakes the requests waiting for it.
  void published(std::shared_ptr<const MetadataImage> image, PublishOutcome outcome);
  std::optional<PublishOutcome> publication_holding(int64_t offset) const;
  // After applying batches (publisher thread): hands the image to the snapshot writer when a
  // snapshot is due.
  void maybe_snapshot(const std::shared_ptr<const MetadataImage>& image, uint64_t bytes);
  void snapshot_writer_loop();
  void write_snapshot_and_trim(const MetadataImage& image);

  const config::BrokerConfig& config_;
  MetadataQuorum& quorum_;
  Publish publish_;
  DelayedOperations& delayed_;

  // Committed batches waiting to be applied, and what is published, under mu_.
  mutable std::mutex mu_;
  std::condition_variable pending_cv_;
  std::vector<CommittedBatch> pending_;
  bool applying_ = false;
  bool stop_ = false;
  std::shared_ptr<const MetadataImage> image_;
  // The outcomes of recent publications, by the offset of the image published.
  std::deque<std::pair<int64_t, PublishOutcome>> recent_;
  std::thread publisher_;

  // Snapshot policy (publisher thread): log bytes not yet covered by a snapshot request.
  uint64_t bytes_since_snapshot_ = 0;
  std::chrono::steady_clock::time_point last_snapshot_time_;

  // The snapshot writer, under snapshot_mu_.
  mutable std::mutex snapshot_mu_;
  std::condition_variable snapshot_cv_;
  std::shared_ptr<const MetadataImage> snapshot_pending_;
  bool snapshot_busy_ = false;
  bool snapshot_stop_ = false;
  size_t snapshots_written_ = 0;
  std::thread snapshot_thread_;
};

}  // namespace kfk::server

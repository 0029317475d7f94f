#include "server/cluster/metadata_loader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/cluster/image_apply.h"
#include "server/cluster/metadata_snapshot.h"
#include "server/delayed/delayed_operations.h"
#include "server/delayed/waiter.h"

namespace kfk::server {

namespace {

// Publications remembered for the requests waiting on them: far more than can be in flight.
constexpr size_t kRecentPublications = 256;

}  // namespace

MetadataLoader::MetadataLoader(const config::BrokerConfig& config, MetadataQuorum& quorum,
                               Publish publish, DelayedOperations& delayed)
    : config_(config), quorum_(quorum), publish_(std::move(publish)), delayed_(delayed) {}

MetadataLoader::~MetadataLoader() { stop(); }

storage::Result<std::unique_ptr<MetadataLoader>> MetadataLoader::open(
    const config::BrokerConfig& config, MetadataQuorum& quorum, MetadataImage base, Publish publish,
    DelayedOperations& delayed) {
  std::unique_ptr<MetadataLoader> loader(
      new MetadataLoader(config, quorum, std::move(publish), delayed));
  const auto started = std::chrono::steady_clock::now();
  MetadataLog& log = quorum.log();
  const std::filesystem::path& dir = log.dir();
  auto image = std::make_shared<MetadataImage>(std::move(base));
  auto snapshot = load_newest_snapshot(dir, *image);
  if (!snapshot) return snapshot.error();
  const int64_t log_start = log.log_start_offset();
  const int64_t log_end = log.end_offset();
  const int64_t snapshot_end = *snapshot ? (*snapshot)->file.end_offset : 0;
  if (log_start > snapshot_end)
    return storage::StorageError::make(
        storage::StorageErrorKind::not_found,
        fmt::format("the metadata log in {} starts at offset {}, but no usable snapshot "
                    "(*{}) there covers the offsets before it; starting would lose metadata. "
                    "Restore the directory from a backup, or remove it to start empty",
                    dir.string(), log_start, kSnapshotSuffix));
  if (snapshot_end > log_end)
    return storage::StorageError::make(
        storage::StorageErrorKind::corrupt_batch,
        fmt::format("the metadata snapshot {} goes past the end of the metadata log in {} "
                    "(offset {}): the log lost records that were committed",
                    (*snapshot)->file.path.filename().string(), dir.string(), log_end));
  auto replayed = log.replay_from(snapshot_end, [&](int64_t offset, const MetadataRecord& record) {
    if (auto problem = apply_metadata_record(*image, record); !problem.empty())
      spdlog::warn("metadata log offset {}: skipping a record: {}", offset, problem);
    image->offset = offset;
    return storage::StorageError{};
  });
  if (!replayed) return replayed.error();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  if (*snapshot)
    spdlog::info(
        "metadata loaded in {} ms: snapshot {} ({} records), then {} log records from offset "
        "{}; {} topics",
        ms, (*snapshot)->file.path.filename().string(), (*snapshot)->records, replayed->records,
        snapshot_end, image->topics.size());
  else
    spdlog::info("metadata log replayed in {} ms: {} records from offset {}, {} topics", ms,
                 replayed->records, log_start, image->topics.size());
  // The tail replayed counts toward the next snapshot, so a long tail is not replayed again.
  loader->bytes_since_snapshot_ = replayed->bytes;
  loader->last_snapshot_time_ = std::chrono::steady_clock::now();
  loader->published(image, loader->publish_(image));
  MetadataLoader* self = loader.get();
  loader->snapshot_thread_ = std::thread([self] { self->snapshot_writer_loop(); });
  loader->publisher_ = std::thread([self] { self->publisher_loop(); });
  quorum.set_listener([self](CommittedBatch batch) { self->handle_commit(std::move(batch)); });
  return loader;
}

std::shared_ptr<const MetadataImage> MetadataLoader::image() const {
  std::lock_guard lock(mu_);
  return image_;
}

void MetadataLoader::handle_commit(CommittedBatch batch) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(batch));
  }
  pending_cv_.notify_all();
}

void MetadataLoader::publisher_loop() {
  for (;;) {
    std::vector<CommittedBatch> batches;
    std::shared_ptr<const MetadataImage> current;
    {
      std::unique_lock lock(mu_);
      pending_cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;
      batches.swap(pending_);
      applying_ = true;
      current = image_;
    }
    // Every batch committed meanwhile is applied to one copy and published once.
    auto next = std::make_shared<MetadataImage>(*current);
    uint64_t bytes = 0;
    for (const CommittedBatch& batch : batches) {
      for (const auto& r : batch.records)
        if (auto problem = apply_metadata_record(*next, r); !problem.empty())
          spdlog::error("metadata record not applied: {}", problem);
      next->offset = batch.last_offset;
      bytes += batch.bytes;
    }
    maybe_snapshot(next, bytes);
    published(next, publish_(next));
  }
}

void MetadataLoader::published(std::shared_ptr<const MetadataImage> image, PublishOutcome outcome) {
  const int64_t offset = image->offset;
  {
    std::lock_guard lock(mu_);
    image_ = std::move(image);
    recent_.emplace_back(offset, std::move(outcome));
    if (recent_.size() > kRecentPublications) recent_.pop_front();
    applying_ = false;
  }
  pending_cv_.notify_all();
  delayed_.notify(kMetadataTopic, 0, offset + 1);
}

std::optional<PublishOutcome> MetadataLoader::publication_holding(int64_t offset) const {
  std::lock_guard lock(mu_);
  if (!image_ || image_->offset < offset) return std::nullopt;
  for (const auto& [published, outcome] : recent_)
    if (published >= offset) return outcome;
  return PublishOutcome{};
}

asio::awaitable<std::optional<PublishOutcome>> MetadataLoader::wait_published(
    int64_t offset, std::chrono::steady_clock::time_point deadline) const {
  Waiter waiter;
  const auto watch =
      delayed_.watch(waiter, {PartitionOffset{std::string(kMetadataTopic), 0, offset + 1}});
  for (;;) {
    if (auto outcome = publication_holding(offset)) co_return outcome;
    {
      std::lock_guard lock(mu_);
      if (stop_ && pending_.empty() && !applying_) co_return std::nullopt;
    }
    if (!co_await waiter.wait_until(deadline)) co_return publication_holding(offset);
  }
}

void MetadataLoader::maybe_snapshot(const std::shared_ptr<const MetadataImage>& image,
                                    uint64_t bytes) {
  bytes_since_snapshot_ += bytes;
  const auto now = std::chrono::steady_clock::now();
  const int64_t interval = config_.metadata_log_max_snapshot_interval_ms;
  const bool by_bytes =
      bytes_since_snapshot_ >=
      static_cast<uint64_t>(config_.metadata_log_max_record_bytes_between_snapshots);
  const bool by_time =
      interval > 0 && now - last_snapshot_time_ >= std::chrono::milliseconds(interval);
  if (!by_bytes && !by_time) return;
  bytes_since_snapshot_ = 0;
  last_snapshot_time_ = now;
  {
    std::lock_guard lock(snapshot_mu_);
    // A snapshot still waiting is replaced: the newer image covers it.
    snapshot_pending_ = image;
  }
  snapshot_cv_.notify_all();
}

void MetadataLoader::snapshot_writer_loop() {
  for (;;) {
    std::shared_ptr<const MetadataImage> image;
    {
      std::unique_lock lock(snapshot_mu_);
      snapshot_cv_.wait(lock, [this] { return snapshot_stop_ || snapshot_pending_ != nullptr; });
      if (!snapshot_pending_) return;
      image = std::move(snapshot_pending_);
      snapshot_pending_.reset();
      snapshot_busy_ = true;
    }
    write_snapshot_and_trim(*image);
    {
      std::lock_guard lock(snapshot_mu_);
      snapshot_busy_ = false;
    }
    snapshot_cv_.notify_all();
  }
}

void MetadataLoader::write_snapshot_and_trim(const MetadataImage& image) {
  MetadataLog& log = quorum_.log();
  const std::filesystem::path& dir = log.dir();
  const auto started = std::chrono::steady_clock::now();
  auto written = write_snapshot(dir, image);
  if (!written) {
    spdlog::error("metadata snapshot at offset {} not written: {}", image.offset + 1,
                  written.error().message());
    return;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  {
    std::lock_guard lock(snapshot_mu_);
    ++snapshots_written_;
  }
  spdlog::info("metadata snapshot {} written: end offset {}, {} records, {} bytes, {} ms",
               written->file.path.filename().string(), written->file.end_offset, written->records,
               written->bytes, ms);
  // The newest two are kept, and the log from the older one on, so that a damaged newest
  // snapshot still leaves a complete image to start from.
  auto oldest = remove_old_snapshots(dir, 2);
  if (!oldest) {
    spdlog::error("old metadata snapshots not removed: {}", oldest.error().message());
    return;
  }
  if (!*oldest) return;
  const size_t segments = log.segment_count();
  auto start = log.delete_before(**oldest);
  if (!start) {
    spdlog::error("metadata log not trimmed below offset {}: {}", **oldest,
                  start.error().message());
    return;
  }
  if (const size_t left = log.segment_count(); left < segments)
    spdlog::info("metadata log trimmed: {} segments deleted, log start offset {}", segments - left,
                 *start);
}

void MetadataLoader::wait_for_snapshots() {
  {
    std::unique_lock lock(mu_);
    pending_cv_.wait(lock, [this] { return (pending_.empty() && !applying_) || stop_; });
  }
  std::unique_lock lock(snapshot_mu_);
  snapshot_cv_.wait(
      lock, [this] { return !snapshot_busy_ && (snapshot_pending_ == nullptr || snapshot_stop_); });
}

size_t MetadataLoader::snapshots_written() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshots_written_;
}

void MetadataLoader::stop() {
  quorum_.set_listener(nullptr);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  pending_cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_stop_ = true;
  }
  snapshot_cv_.notify_all();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  // Requests still waiting learn that nothing more is published.
  delayed_.notify(kMetadataTopic, 0, INT64_MAX);
}

}  // namespace kfk::server

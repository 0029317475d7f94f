#include "server/cluster/controller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/config/topic_config.h"
#include "server/cluster/image_apply.h"
#include "server/cluster/metadata_snapshot.h"

namespace kfk::server {

using protocol::ErrorCode;

namespace {

constexpr int32_t kMaxPartitionsPerTopic = 100'000;
constexpr int64_t kProducerIdBlockSize = 1000;

ControllerResult fail(ErrorCode code, std::string message) {
  return ControllerResult{code, std::move(message)};
}

// '.' and '_' may collide in metric names, so Kafka refuses topics that differ only there.
std::string collision_key(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

// Checks a manual replica assignment against the registered brokers.
ControllerResult check_replicas(const std::vector<int32_t>& replicas, int32_t partition,
                                const MetadataImage& image) {
  if (replicas.empty())
    return fail(
        ErrorCode::invalid_replica_assignment,
        fmt::format("The manual partition assignment for partition {} is empty.", partition));
  std::set<int32_t> seen;
  for (int32_t r : replicas) {
    if (!seen.insert(r).second)
      return fail(ErrorCode::invalid_replica_assignment,
                  fmt::format("The manual partition assignment for partition {} includes broker {} "
                              "more than once.",
                              partition, r));
    const bool known = std::any_of(image.brokers.begin(), image.brokers.end(),
                                   [&](const BrokerEndpoint& b) { return b.node_id == r; });
    if (!known)
      return fail(
          ErrorCode::invalid_replica_assignment,
          fmt::format("The manual partition assignment for partition {} includes broker {}, "
                      "which is not registered.",
                      partition, r));
  }
  return {};
}

size_t broker_count(const MetadataImage& image) {
  std::set<int32_t> ids;
  for (const auto& b : image.brokers) ids.insert(b.node_id);
  return ids.size();
}

}  // namespace

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "Topic name is illegal, it can't be empty";
  if (name == "." || name == "..") return "Topic name cannot be \".\" or \"..\"";
  if (name.size() > 249)
    return fmt::format(
        "Topic name is illegal, it can't be longer than 249 characters, topic name: {}", name);
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return fmt::format(
          "Topic name \"{}\" is illegal, it contains a character other than ASCII alphanumerics, "
          "'.', '_' and '-'",
          name);
  }
  return {};
}

Controller::Controller(const config::BrokerConfig& config, std::unique_ptr<MetadataLog> log,
                       Publish publish)
    : config_(config), log_(std::move(log)), publish_(std::move(publish)) {}

Controller::~Controller() { stop_snapshot_writer(); }

storage::Result<std::unique_ptr<Controller>> Controller::open(const config::BrokerConfig& config,
                                                              std::unique_ptr<MetadataLog> log,
                                                              MetadataImage base, Publish publish) {
  std::unique_ptr<Controller> c(new Controller(config, std::move(log), std::move(publish)));
  const auto started = std::chrono::steady_clock::now();
  const std::filesystem::path& dir = c->log_->dir();
  auto image = std::make_shared<MetadataImage>(std::move(base));
  auto snapshot = load_newest_snapshot(dir, *image);
  if (!snapshot) return snapshot.error();
  const int64_t log_start = c->log_->log_start_offset();
  const int64_t log_end = c->log_->end_offset();
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
  auto replayed =
      c->log_->replay_from(snapshot_end, [&](int64_t offset, const MetadataRecord& record) {
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
  c->bytes_since_snapshot_ = replayed->bytes;
  c->bytes_appended_seen_ = c->log_->bytes_appended();
  c->last_snapshot_time_ = std::chrono::steady_clock::now();
  c->image_ = image;
  c->last_publish_ = c->publish_(image);
  c->published_offset_ = image->offset;
  Controller* self = c.get();
  c->snapshot_thread_ = std::thread([self] { self->snapshot_writer_loop(); });
  return c;
}

std::shared_ptr<const MetadataImage> Controller::image() const {
  std::lock_guard lock(mu_);
  return image_;
}

config::BrokerLayers Controller::broker_layers(const MetadataImage& image) const {
  return server::broker_layers(image, config_);
}

ControllerResult Controller::commit(std::vector<MetadataRecord> records) {
  auto offset = log_->append(records);
  if (!offset)
    return fail(ErrorCode::kafka_storage_error,
                fmt::format("The metadata log could not be written: {}", offset.error().message()));
  auto next = std::make_shared<MetadataImage>(*image_);
  for (const auto& r : records)
    if (auto problem = apply_metadata_record(*next, r); !problem.empty())
      spdlog::error("metadata record not applied: {}", problem);
  next->offset = *offset;
  image_ = next;
  maybe_snapshot();
  return {};
}

PublishOutcome Controller::publish_committed() {
  std::lock_guard publishing(publish_mu_);
  std::shared_ptr<const MetadataImage> image;
  {
    std::lock_guard lock(mu_);
    image = image_;
  }
  // Whoever publishes first publishes the newest image, which covers every commit before it;
  // a caller whose commit is covered already gets that publication's outcome.
  if (image->offset > published_offset_) {
    last_publish_ = publish_(image);
    published_offset_ = image->offset;
  }
  return last_publish_;
}

void Controller::maybe_snapshot() {
  const uint64_t appended = log_->bytes_appended();
  bytes_since_snapshot_ += appended - bytes_appended_seen_;
  bytes_appended_seen_ = appended;
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
    snapshot_pending_ = image_;
  }
  snapshot_cv_.notify_all();
}

void Controller::snapshot_writer_loop() {
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

void Controller::write_snapshot_and_trim(const MetadataImage& image) {
  const std::filesystem::path& dir = log_->dir();
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
  const size_t segments = log_->segment_count();
  auto start = log_->delete_before(**oldest);
  if (!start) {
    spdlog::error("metadata log not trimmed below offset {}: {}", **oldest,
                  start.error().message());
    return;
  }
  if (const size_t left = log_->segment_count(); left < segments)
    spdlog::info("metadata log trimmed: {} segments deleted, log start offset {}", segments - left,
                 *start);
}

void Controller::stop_snapshot_writer() {
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_stop_ = true;
  }
  snapshot_cv_.notify_all();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
}

void Controller::wait_for_snapshots() {
  std::unique_lock lock(snapshot_mu_);
  snapshot_cv_.wait(
      lock, [this] { return !snapshot_busy_ && (snapshot_pending_ == nullptr || snapshot_stop_); });
}

size_t Controller::snapshots_written() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshots_written_;
}

ControllerResult Controller::check_topic_name(const std::string& name,
                                              const MetadataImage& image) const {
  if (auto problem = topic_name_problem(name); !problem.empty())
    return fail(ErrorCode::invalid_topic_exception, problem);
  if (name == kMetadataTopic)
    return fail(ErrorCode::invalid_topic_exception,
                fmt::format("The topic name {} is reserved for the metadata log.", name));
  if (image.find_topic(name))
    return fail(ErrorCode::topic_already_exists, fmt::format("Topic '{}' already exists.", name));
  const std::string key = collision_key(name);
  for (const auto& [other, topic] : image.topics)
    if (collision_key(other) == key)
      return fail(ErrorCode::invalid_topic_exception,
                  fmt::format("Topic '{}' collides with existing topic: {}", name, other));
  return {};
}

CreatedTopic Controller::create_topic(const NewTopic& req, bool validate_only) {
  CreatedTopic out;
  {
    std::lock_guard lock(mu_);
    out = validate_and_commit_topic(req, validate_only);
  }
  if (validate_only || !out.result.ok()) return out;
  const PublishOutcome published = publish_committed();
  if (auto it = published.failed_topics.find(req.name); it != published.failed_topics.end()) {
    // The broker cannot serve the topic without its logs: take the topic back, so that it
    // neither lingers without logs nor blocks a retry with TOPIC_ALREADY_EXISTS.
    const std::string why = it->second;
    protocol::MetadataRemoveTopicRecord r;
    r.topic_id = out.topic_id;
    ControllerResult undo;
    {
      std::lock_guard lock(mu_);
      undo = commit({MetadataRecord(r)});
    }
    if (!undo.ok())
      spdlog::error("topic {} has no logs and could not be removed again: {}", req.name,
                    undo.message);
    publish_committed();
    spdlog::error("could not create topic {}: {}", req.name, why);
    out.result = fail(ErrorCode::kafka_storage_error,
                      fmt::format("The logs of topic {} could not be created: {}", req.name, why));
    return out;
  }
  spdlog::info("created topic {} ({} partitions, id {})", req.name, out.num_partitions,
               out.topic_id.to_string());
  return out;
}

CreatedTopic Controller::validate_and_commit_topic(const NewTopic& req, bool validate_only) {
  const MetadataImage& image = *image_;
  CreatedTopic out;
  if (out.result = check_topic_name(req.name, image); !out.result.ok()) return out;

  // Replica assignment: manual, or the leader of every partition is this broker.
  std::vector<std::vector<int32_t>> replicas;
  if (!req.assignments.empty()) {
    if (req.num_partitions != -1 || req.replication_factor != -1) {
      out.result = fail(ErrorCode::invalid_request,
                        "Both numPartitions or replicationFactor and replicasAssignments were set. "
                        "Both cannot be used at the same time.");
      return out;
    }
    int32_t expected = 0;
    for (const auto& [partition, assigned] : req.assignments) {
      if (partition != expected) {
        out.result = fail(ErrorCode::invalid_replica_assignment,
                          "Partitions should be a consecutive 0-based integer sequence");
        return out;
      }
      if (out.result = check_replicas(assigned, partition, image); !out.result.ok()) return out;
      if (!replicas.empty() && assigned.size() != replicas.front().size()) {
        out.result = fail(ErrorCode::invalid_replica_assignment,
                          "All partitions should have the same number of replicas");
        return out;
      }
      replicas.push_back(assigned);
      ++expected;
    }
  } else {
    const int32_t partitions =
        req.num_partitions == -1 ? config_.num_partitions : req.num_partitions;
    const int32_t rf =
        req.replication_factor == -1 ? config_.default_replication_factor : req.replication_factor;
    if (partitions <= 0) {
      out.result = fail(ErrorCode::invalid_partitions,
                        "Number of partitions was set to an invalid non-positive value.");
      return out;
    }
    if (partitions > kMaxPartitionsPerTopic) {
      out.result = fail(ErrorCode::invalid_partitions,
                        fmt::format("Number of partitions {} is above the limit of {} per topic.",
                                    partitions, kMaxPartitionsPerTopic));
      return out;
    }
    if (rf <= 0) {
      out.result =
          fail(ErrorCode::invalid_replication_factor,
               "Replication factor must be larger than 0, or -1 to use the default value.");
      return out;
    }
    const size_t brokers = broker_count(image);
    if (static_cast<size_t>(rf) > brokers) {
      out.result = fail(ErrorCode::invalid_replication_factor,
                        fmt::format("Unable to replicate the partition {} time(s): The target "
                                    "replication factor of {} cannot be reached because only {} "
                                    "broker(s) are registered.",
                                    rf, rf, brokers));
      return out;
    }
    for (int32_t p = 0; p < partitions; ++p) replicas.push_back({config_.node_id});
  }

  std::map<std::string, std::string> overrides;
  for (const auto& [name, value] : req.configs) {
    if (!value) {
      out.result = fail(ErrorCode::invalid_config,
                        fmt::format("Null value not supported for topic configs: {}", name));
      return out;
    }
    if (!overrides.emplace(name, *value).second) {
      out.result = fail(ErrorCode::invalid_request,
                        fmt::format("Duplicate config key {} in the request.", name));
      return out;
    }
  }
  const auto layers = broker_layers(image);
  if (auto status = config::validate_topic_overrides(overrides, layers); !status.ok()) {
    out.result = fail(status.code, status.message);
    return out;
  }
  if (auto resolved = config::resolve_topic_config(layers, overrides); !resolved) {
    out.result = fail(ErrorCode::invalid_config, resolved.error_text());
    return out;
  }

  out.num_partitions = static_cast<int32_t>(replicas.size());
  out.replication_factor = static_cast<int16_t>(replicas.front().size());
  if (validate_only) return out;

  out.topic_id = protocol::Uuid::random();
  std::vector<MetadataRecord> records;
  protocol::MetadataTopicRecord topic;
  topic.name = req.name;
  topic.topic_id = out.topic_id;
  records.emplace_back(topic);
  for (const auto& [name, value] : overrides) {
    protocol::MetadataConfigRecord c;
    c.resource_type = static_cast<int8_t>(ConfigResourceType::topic);
    c.resource_name = req.name;
    c.name = name;
    c.value = value;
    records.emplace_back(c);
  }
  for (size_t p = 0; p < replicas.size(); ++p) {
    protocol::MetadataPartitionRecord pr;
    pr.partition_id = static_cast<int32_t>(p);
    pr.topic_id = out.topic_id;
    pr.replicas = replicas[p];
    pr.isr = replicas[p];
    pr.leader = replicas[p].front();
    pr.leader_epoch = 0;
    pr.partition_epoch = 0;
    records.emplace_back(pr);
  }
  out.result = commit(std::move(records));
  return out;
}

ControllerResult Controller::delete_topic(const std::string& name) {
  ControllerResult result;
  {
    std::lock_guard lock(mu_);
    result = commit_topic_removal(name);
  }
  if (!result.ok()) return result;
  publish_committed();
  spdlog::info("deleted topic {}", name);
  return result;
}

ControllerResult Controller::commit_topic_removal(const std::string& name) {
  if (!config_.delete_topic_enable)
    return fail(ErrorCode::topic_deletion_disabled,
                "Topic deletion is disabled on this broker (delete.topic.enable=false).");
  const TopicState* topic = image_->find_topic(name);
  if (topic == nullptr)
    return fail(ErrorCode::unknown_topic_or_partition,
                fmt::format("This server does not host this topic: {}", name));
  protocol::MetadataRemoveTopicRecord r;
  r.topic_id = topic->id;
  return commit({MetadataRecord(r)});
}

ControllerResult Controller::create_partitions(
    const std::string& name, int32_t total,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only) {
  ControllerResult result;
  {
    std::lock_guard lock(mu_);
    result = validate_and_commit_partitions(name, total, assignments, validate_only);
  }
  if (validate_only || !result.ok()) return result;
  const PublishOutcome published = publish_committed();
  if (auto it = published.failed_topics.find(name); it != published.failed_topics.end()) {
    // Partitions cannot be taken back; the broker keeps serving the topic as it was, and the
    // next metadata change creates the missing logs again.
    return fail(ErrorCode::kafka_storage_error,
                fmt::format("The logs of the new partitions of {} could not be created: {}; the "
                            "topic is served with its old partitions until they can be",
                            name, it->second));
  }
  spdlog::info("topic {} now has {} partitions", name, total);
  return result;
}

ControllerResult Controller::validate_and_commit_partitions(
    const std::string& name, int32_t total,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only) {
  const TopicState* topic = image_->find_topic(name);
  if (topic == nullptr)
    return fail(ErrorCode::unknown_topic_or_partition,
                fmt::format("This server does not host this topic: {}", name));
  const auto current = static_cast<int32_t>(topic->partitions.size());
  if (total < current)
    return fail(
        ErrorCode::invalid_partitions,
        fmt::format("The topic {} currently has {} partition(s); {} would not be an increase.",
                    name, current, total));
  if (total == current)
    return fail(ErrorCode::invalid_partitions,
                fmt::format("Topic already has {} partition(s).", current));
  if (total > kMaxPartitionsPerTopic)
    return fail(ErrorCode::invalid_partitions,
                fmt::format("Number of partitions {} is above the limit of {} per topic.", total,
                            kMaxPartitionsPerTopic));
  const size_t rf = topic->partitions.empty() ? 1 : topic->partitions.front().replicas.size();
  std::vector<std::vector<int32_t>> replicas;
  if (assignments) {
    if (static_cast<int32_t>(assignments->size()) != total - current)
      return fail(
          ErrorCode::invalid_replica_assignment,
          fmt::format("Attempted to add {} additional partition(s), but only {} assignment(s) "
                      "were specified.",
                      total - current, assignments->size()));
    for (size_t i = 0; i < assignments->size(); ++i) {
      const auto& a = (*assignments)[i];
      const int32_t partition = current + static_cast<int32_t>(i);
      if (auto r = check_replicas(a, partition, *image_); !r.ok()) return r;
      if (a.size() != rf)
        return fail(ErrorCode::invalid_replica_assignment,
                    fmt::format("The manual partition assignment for partition {} has {} replicas, "
                                "but the topic's replication factor is {}.",
                                partition, a.size(), rf));
      replicas.push_back(a);
    }
  } else {
    if (rf > broker_count(*image_))
      return fail(ErrorCode::invalid_replication_factor,
                  "Not enough registered brokers for the topic's replication factor.");
    for (int32_t p = current; p < total; ++p) replicas.push_back({config_.node_id});
  }
  if (validate_only) return {};
  std::vector<MetadataRecord> records;
  for (size_t i = 0; i < replicas.size(); ++i) {
    protocol::MetadataPartitionRecord pr;
    pr.partition_id = current + static_cast<int32_t>(i);
    pr.topic_id = topic->id;
    pr.replicas = replicas[i];
    pr.isr = replicas[i];
    pr.leader = replicas[i].front();
    pr.leader_epoch = 0;
    pr.partition_epoch = 0;
    records.emplace_back(pr);
  }
  return commit(std::move(records));
}

ControllerResult Controller::alter_configs(ConfigResourceType type, const std::string& resource,
                                           std::span<const ConfigChange> changes, bool replace,
                                           bool validate_only) {
  ControllerResult result;
  {
    std::lock_guard lock(mu_);
    result = validate_and_commit_configs(type, resource, changes, replace, validate_only);
  }
  if (!validate_only && result.ok()) publish_committed();
  return result;
}

ControllerResult Controller::validate_and_commit_configs(ConfigResourceType type,
                                                         const std::string& resource,
                                                         std::span<const ConfigChange> changes,
                                                         bool replace, bool validate_only) {
  const MetadataImage& image = *image_;
  std::map<std::string, std::string> current;
  const config::ConfigDef* def = nullptr;
  if (type == ConfigResourceType::topic) {
    const TopicState* topic = image.find_topic(resource);
    if (topic == nullptr)
      return fail(ErrorCode::unknown_topic_or_partition,
                  fmt::format("The topic '{}' does not exist.", resource));
    current = topic->configs;
    def = &config::topic_config_def();
  } else if (type == ConfigResourceType::broker) {
    if (!resource.empty() && resource != std::to_string(config_.node_id))
      return fail(ErrorCode::invalid_request,
                  fmt::format("Broker {} is not registered in this cluster.", resource));
    if (resource.empty()) {
      current = image.cluster_configs;
    } else if (auto it = image.broker_configs.find(config_.node_id);
               it != image.broker_configs.end()) {
      current = it->second;
    }
    def = &config::broker_config_def();
  } else {
    return fail(
        ErrorCode::invalid_request,
        fmt::format("Config resource type {} cannot be altered here.", static_cast<int>(type)));
  }

  std::map<std::string, std::string> next =
      replace ? std::map<std::string, std::string>{} : current;
  std::set<std::string> named;
  for (const auto& change : changes) {
    if (!named.insert(change.name).second)
      return fail(ErrorCode::invalid_request,
                  fmt::format("Error due to duplicate config keys: {}", change.name));
    switch (change.op) {
      case ConfigOp::set:
        if (change.value)
          next[change.name] = *change.value;
        else
          next.erase(change.name);
        break;
      case ConfigOp::remove:
        next.erase(change.name);
        break;
      case ConfigOp::append:
      case ConfigOp::subtract: {
        const config::ConfigKey* key = def->find(change.name);
        if (key == nullptr || key->type != config::ConfigType::list)
          return fail(
              ErrorCode::invalid_config,
              fmt::format("Config value {} is not allowed for config key: {}",
                          change.op == ConfigOp::append ? "append" : "subtract", change.name));
        std::vector<std::string> items;
        if (auto it = next.find(change.name); it != next.end()) {
          items = split_list(it->second);
        } else if (type == ConfigResourceType::topic) {
          for (const auto& entry : config::describe_topic_config(broker_layers(image), {}))
            if (entry.name == change.name && entry.value) items = split_list(*entry.value);
        }
        for (const auto& item : split_list(change.value.value_or(""))) {
          auto found = std::find(items.begin(), items.end(), item);
          if (change.op == ConfigOp::append && found == items.end()) items.push_back(item);
          if (change.op == ConfigOp::subtract && found != items.end()) items.erase(found);
        }
        next[change.name] = join_list(items);
        break;
      }
    }
  }

  if (type == ConfigResourceType::topic) {
    const auto layers = broker_layers(image);
    if (auto status = config::validate_topic_overrides(next, layers); !status.ok())
      return fail(status.code, status.message);
    if (auto resolved = config::resolve_topic_config(layers, next); !resolved)
      return fail(ErrorCode::invalid_config, resolved.error_text());
  } else {
    std::map<std::string, std::optional<std::string>> delta;
    for (const auto& [k, v] : next)
      if (auto it = current.find(k); it == current.end() || it->second != v) delta[k] = v;
    for (const auto& [k, v] : current)
      if (!next.contains(k)) delta[k] = std::nullopt;
    if (auto status = config::validate_dynamic_broker_update(delta, resource.empty()); !status.ok())
      return fail(status.code, status.message);
  }
  if (validate_only) return {};

  std::vector<MetadataRecord> records;
  auto record = [&](const std::string& name, std::optional<std::string> value) {
    protocol::MetadataConfigRecord c;
    c.resource_type = static_cast<int8_t>(type);
    c.resource_name = resource;
    c.name = name;
    c.value = std::move(value);
    records.emplace_back(std::move(c));
  };
  for (const auto& [k, v] : next)
    if (auto it = current.find(k); it == current.end() || it->second != v) record(k, v);
  for (const auto& [k, v] : current)
    if (!next.contains(k)) record(k, std::nullopt);
  if (records.empty()) return {};
  return commit(std::move(records));
}

std::optional<int64_t> Controller::next_producer_id(std::string& error) {
  std::unique_lock lock(mu_);
  if (producer_ids_next_ >= producer_ids_end_) {
    const int64_t start = image_->next_producer_id;
    protocol::MetadataProducerIdsRecord r;
    r.broker_id = config_.node_id;
    r.broker_epoch = 0;
    r.next_producer_id = start + kProducerIdBlockSize;
    if (auto result = commit({MetadataRecord(r)}); !result.ok()) {
      error = result.message;
      return std::nullopt;
    }
    producer_ids_next_ = start;
    producer_ids_end_ = start + kProducerIdBlockSize;
    const int64_t id = producer_ids_next_++;
    lock.unlock();
    publish_committed();
    return id;
  }
  return producer_ids_next_++;
}

storage::StorageError Controller::close() {
  stop_snapshot_writer();
  std::lock_guard lock(mu_);
  return log_->close();
}

}  // namespace kfk::server

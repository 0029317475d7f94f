#include "server/broker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "core/config/topic_config.h"
#include "server/cluster/controller.h"
#include "server/cluster/controller_client.h"
#include "server/cluster/image_apply.h"
#include "server/cluster/meta_properties.h"
#include "server/cluster/metadata_loader.h"
#include "server/cluster/metadata_quorum.h"
#include "server/coordinator/internal_topic_store.h"
#include "server/delayed/delayed_operations.h"
#include "server/fetch/fetch_manager.h"
#include "server/group/group_coordinator.h"
#include "server/handlers/authorizer.h"
#include "server/handlers/handlers.h"
#include "server/network/connection_quotas.h"
#include "server/network/request_memory_pool.h"
#include "server/partition/partition_manager.h"
#include "server/storage/log_cleaner_manager.h"
#include "server/storage/log_manager.h"

namespace kfk::server {

namespace {
// What an advertised listener without a host stands for, as Kafka does.
std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

constexpr std::string_view kPartitionMetadataFile = "partition.metadata";

// partition.metadata, as Kafka writes it: which topic id the directory belongs to, so that a
// directory left from a deleted topic is not mistaken for a new topic of the same name.
void write_partition_metadata(const storage::PartitionLog& log, const protocol::Uuid& id) {
  const std::string text = fmt::format("version: 0\ntopic_id: {}\n", id.to_string());
  auto err = storage::write_file_atomically(
      log.dir() / kPartitionMetadataFile,
      std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  if (!err.ok()) spdlog::warn("could not write {}: {}", kPartitionMetadataFile, err.message());
}

std::optional<protocol::Uuid> read_partition_metadata(const storage::PartitionLog& log) {
  auto bytes = storage::read_file(log.dir() / kPartitionMetadataFile, 4096);
  if (!bytes) return std::nullopt;
  std::string text(bytes->begin(), bytes->end());
  const std::string_view key = "topic_id: ";
  auto pos = text.find(key);
  if (pos == std::string::npos) return std::nullopt;
  auto end = text.find('\n', pos);
  return protocol::Uuid::parse(std::string_view(text).substr(
      pos + key.size(), end == std::string::npos ? end : end - pos - key.size()));
}

// A request must arrive whole within this time of its first byte (or connections.max.idle.ms
// when shorter): clients give up on a request after request.timeout.ms (30 s by default), so
// a request still arriving after that is a client trickling bytes to hold the connection.
constexpr int64_t kRequestReadTimeoutMs = 30000;

// max.connections.per.ip.overrides names hosts; connections are counted by address.
std::map<std::string, int32_t> resolve_overrides(const std::map<std::string, int32_t>& by_host) {
  std::map<std::string, int32_t> out;
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  for (const auto& [host, limit] : by_host) {
    asio::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (!ec) {
      out[address.to_string()] = limit;
      continue;
    }
    auto results = resolver.resolve(host, "", ec);
    if (ec || results.empty()) {
      spdlog::warn(
          "max.connections.per.ip.overrides: cannot resolve {}: {}; its limit is not applied", host,
          ec ? ec.message() : "no address");
      continue;
    }
    for (const auto& r : results) out[r.endpoint().address().to_string()] = limit;
  }
  return out;
}

}  // namespace

Broker::Broker(config::BrokerConfig config)
    : config_(std::move(config)),
      authorizer_(std::make_unique<AllowAllAuthorizer>()),
      partitions_(std::make_unique<PartitionManager>(config_)) {}

Broker::~Broker() { stop(); }

std::string Broker::start() {
  // sendfile(2) has no MSG_NOSIGNAL: a consumer that hangs up while its fetch response is
  // being written must cost the broker an EPIPE on that connection, not its life.
  std::signal(SIGPIPE, SIG_IGN);
  for (const auto& l : config_.listeners) {
    if (l.protocol != config::SecurityProtocol::plaintext)
      return fmt::format(
          "listener {} uses {}, which kfk does not serve yet: only PLAINTEXT listeners are "
          "served (TLS and SASL are still to come)",
          l.to_string(), config::to_string(l.protocol));
  }
  if (auto err = lock_dirs(); !err.empty()) return err;
  std::string error;
  cluster_id_ =
      ensure_formatted(config_.log_dirs, config_.node_id, config_.cluster_id.value_or(""), error);
  if (!error.empty()) return error;

  reactors_ = std::make_unique<ReactorPool>(static_cast<size_t>(config_.reactor_threads()));
  dispatcher_ = std::make_unique<BrokerDispatcher>(*this);
  fetch_ = std::make_unique<FetchManager>(config_);
  delayed_ = std::make_unique<DelayedOperations>();
  if (auto err = start_listeners(); !err.empty()) {
    abandon_start();
    return err;
  }

  MetadataImage base;
  base.cluster_id = cluster_id_;
  base.controller_id = config_.node_id;
  for (const auto& adv : config_.advertised_listeners) {
    BrokerEndpoint ep;
    ep.node_id = config_.node_id;
    ep.listener = adv.name;
    ep.host = adv.host.empty() ? local_host_name() : adv.host;
    ep.port = adv.port;
    ep.rack = config_.broker_rack;
    // Port 0 is resolved to the port the matching listener got.
    if (ep.port == 0) {
      for (const auto& l : listeners_)
        if (l->spec().name == ep.listener) ep.port = l->bound_port();
    }
    base.brokers.push_back(ep);
  }
  if (auto err = open_storage(std::move(base)); !err.empty()) {
    abandon_start();
    return err;
  }
  if (auto err = open_group_coordinator(); !err.empty()) {
    abandon_start();
    return err;
  }
  start_log_cleaner();
  maintenance_ = std::thread([this] { maintenance_loop(); });
  reactors_->start();
  started_ = true;
  return {};
}

std::string Broker::lock_dirs() {
  std::vector<std::filesystem::path> dirs(config_.log_dirs.begin(), config_.log_dirs.end());
  dirs.emplace_back(config_.metadata_log_dir);
  for (const auto& dir : dirs) {
    // The metadata log dir is usually the first log dir: lock each directory once.
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(dir, ec);
    const bool held = std::any_of(dir_locks_.begin(), dir_locks_.end(),
                                  [&](const auto& l) { return l.dir() == (ec ? dir : canonical); });
    if (held) continue;
    std::string error;
    auto lock = storage::DirLock::acquire(ec ? dir : canonical, error);
    if (!lock.locked()) {
      dir_locks_.clear();
      return error;
    }
    dir_locks_.push_back(std::move(lock));
  }
  return {};
}

std::string Broker::start_listeners() {
  ConnectionLimits limits;
  limits.max_request_bytes = config_.socket_request_max_bytes;
  limits.idle_ms = config_.connections_max_idle_ms;
  limits.request_read_timeout_ms =
      limits.idle_ms > 0 ? std::min(limits.idle_ms, kRequestReadTimeoutMs) : kRequestReadTimeoutMs;
  request_memory_ = std::make_shared<RequestMemoryPool>(config_.queued_max_request_bytes);
  // The static limits until the metadata image (with any dynamic ones) is published.
  connection_quotas_ = std::make_shared<ConnectionQuotas>(connection_quota_config(nullptr));
  for (const auto& l : config_.listeners) {
    ListenerSpec spec{l.name, l.host, l.port};
    listeners_.push_back(std::make_unique<Listener>(spec, *reactors_, *dispatcher_, limits,
                                                    request_memory_, connection_quotas_));
    if (auto err = listeners_.back()->start(); !err.empty()) return err;
  }
  return {};
}

void Broker::abandon_start() {
  // A listener uses its reactor until it is destroyed, so it goes first.
  listeners_.clear();
  reactors_.reset();
}

void Broker::start_log_cleaner() {
  if (!config_.log_cleaner_enable || config_.log_cleaner_threads < 1) {
    spdlog::info("log cleaner disabled: compacted topics grow until it is enabled");
    return;
  }
  storage::LogCleanerConfig c;
  c.threads = config_.log_cleaner_threads;
  c.dedupe_buffer_bytes = config_.log_cleaner_dedupe_buffer_size;
  c.dedupe_load_factor = config_.log_cleaner_io_buffer_load_factor;
  c.io_buffer_bytes = config_.log_cleaner_io_buffer_size;
  c.io_max_bytes_per_second = config_.log_cleaner_io_max_bytes_per_second;
  c.backoff_ms = config_.log_cleaner_backoff_ms;
  cleaner_ = std::make_unique<storage::LogCleanerManager>(*logs_, c);
  if (auto err = cleaner_->start(); !err.ok()) spdlog::error("log cleaner: {}", err.message());
}

std::string Broker::open_group_coordinator() {
  InternalTopic offsets;
  offsets.name = "__consumer_offsets";
  offsets.partitions = config_.offsets_topic_num_partitions;
  offsets.replication_factor = config_.offsets_topic_replication_factor;
  offsets.configs = {{"cleanup.policy", "compact"},
                     {"compression.type", "producer"},
                     {"segment.bytes", std::to_string(config_.offsets_topic_segment_bytes)}};
  offsets.damage_consequence =
      "the commits and group metadata stored there are lost: a group whose last commit of a "
      "partition was there resumes from its commit before, or from its consumers' "
      "auto.offset.reset when there is none";
  offsets_store_ = std::make_unique<InternalTopicStore>(std::move(offsets), *partitions_,
                                                        *controller_client_, *delayed_);
  group::CoordinatorConfig c;
  c.min_session_timeout_ms = config_.group_min_session_timeout_ms;
  c.max_session_timeout_ms = config_.group_max_session_timeout_ms;
  c.initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms;
  c.max_group_size = config_.group_max_size;
  c.offsets_retention_ms = config_.offsets_retention_ms;
  c.offsets_retention_check_interval_ms = config_.offsets_retention_check_interval_ms;
  c.offset_metadata_max_bytes = config_.offset_metadata_max_bytes;
  coordinator_ = std::make_unique<group::GroupCoordinator>(c, *offsets_store_);
  const auto t0 = std::chrono::steady_clock::now();
  if (auto err = coordinator_->load(); err != protocol::ErrorCode::none)
    return fmt::format("cannot load the consumer groups from __consumer_offsets: {}",
                       protocol::error_name(static_cast<int16_t>(err)));
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (coordinator_->group_count() > 0)
    spdlog::info("loaded {} consumer groups in {:.3f} s", coordinator_->group_count(), took);
  coordinator_->start();
  return {};
}

std::string Broker::open_storage(MetadataImage base) {
  auto metadata_log =
      MetadataLog::open(config_.metadata_log_dir, config_.metadata_log_segment_bytes);
  if (!metadata_log)
    return fmt::format("cannot open the metadata log: {}", metadata_log.error().message());
  quorum_ = std::make_unique<MetadataQuorum>(std::move(metadata_log).value());
  auto loader = MetadataLoader::open(
      config_, *quorum_, std::move(base),
      [this](std::shared_ptr<const MetadataImage> next) { return apply_image(std::move(next)); },
      *delayed_);
  if (!loader) {
    // Damage is the one failure a retry cannot fix: it gets its own exit code.
    start_found_damage_ = loader.error().kind == storage::StorageErrorKind::corrupt_batch;
    if (start_found_damage_)
      return fmt::format("the metadata log is damaged: {}", loader.error().detail);
    return fmt::format("cannot replay the metadata log: {}", loader.error().message());
  }
  loader_ = std::move(loader).value();
  controller_ = std::make_unique<Controller>(config_, *quorum_, loader_->image());
  controller_client_ = std::make_unique<ControllerClient>(*controller_, *loader_);

  // The image is known now, so every partition found on disk opens with its topic's settings.
  const auto table = partitions_->table();
  storage::LogManagerOptions options;
  for (const auto& d : config_.log_dirs) options.log_dirs.emplace_back(d);
  options.default_config =
      storage::log_config_from(config_.log_defaults, config_.producer_id_expiration_ms);
  options.recovery_threads = config_.num_recovery_threads_per_data_dir;
  options.config_for = [this, table](const storage::TopicPartition& tp) {
    if (const TopicSettings* settings = table->settings(tp.topic)) return settings->log;
    return storage::log_config_from(config_.log_defaults, config_.producer_id_expiration_ms);
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto logs = storage::LogManager::open(std::move(options));
  if (!logs) return fmt::format("cannot open the log dirs: {}", logs.error().message());
  std::lock_guard lock(apply_mutex_);
  logs_ = std::move(logs).value();
  // The table holds the settings of every topic since the replay: none changed.
  const PartitionManager::SettingsMap unchanged;
  if (auto failed = reconcile_logs(nullptr, table->image(), unchanged); !failed.empty())
    return fmt::format("cannot create the logs of topic {}: {}", failed.begin()->first,
                       failed.begin()->second);
  partitions_->publish(table->shared_image(), unchanged, logs_.get());
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  spdlog::info("loaded {} partitions in {} ms", logs_->partitions().size(), ms);
  return {};
}

PublishOutcome Broker::apply_image(std::shared_ptr<const MetadataImage> next) {
  std::lock_guard lock(apply_mutex_);
  const auto current = partitions_->table();
  const MetadataImage& previous = current->image();
  const bool layers_changed = !same_layers(previous, *next, config_.node_id);
  auto settings = partitions_->resolve_settings(*next, layers_changed);
  PublishOutcome outcome;
  // Before the log manager is open (replay at start) the image is only recorded.
  if (logs_) outcome.failed_topics = reconcile_logs(&previous, *next, settings);
  if (!outcome.failed_topics.empty()) {
    // Never serve a partition without its log: those topics stay as they were. The next
    // image is compared with what is served, so its publication tries their logs again.
    auto served = std::make_shared<MetadataImage>(*next);
    for (const auto& [name, why] : outcome.failed_topics) {
      settings.erase(name);
      if (previous.find_topic(name) != nullptr)
        served->topics[name] = previous.topics.at(name);
      else
        served->topics.erase(name);
    }
    next = std::move(served);
  }
  if (connection_quotas_ && layers_changed)
    connection_quotas_->update(connection_quota_config(next.get()));
  partitions_->publish(std::move(next), settings, logs_.get());
  return outcome;
}

ConnectionQuotaConfig Broker::connection_quota_config(const MetadataImage* image) const {
  // Dynamic values were validated when set; one that does not parse leaves the static value.
  auto parse_int = [](const std::string& text) -> std::optional<int32_t> {
    int32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
  };
  // A dynamic value of this broker, else the cluster-wide one.
  auto dynamic = [&](const std::string& name) -> const std::string* {
    if (image == nullptr) return nullptr;
    if (auto b = image->broker_configs.find(config_.node_id); b != image->broker_configs.end())
      if (auto v = b->second.find(name); v != b->second.end()) return &v->second;
    if (auto v = image->cluster_configs.find(name); v != image->cluster_configs.end())
      return &v->second;
    return nullptr;
  };
  auto int_setting = [&](const std::string& name, int32_t static_value) {
    const std::string* text = dynamic(name);
    if (text == nullptr) return static_value;
    if (auto value = parse_int(*text)) return *value;
    spdlog::warn("{}: dynamic value '{}' is not a number; {} applies", name, *text, static_value);
    return static_value;
  };
  ConnectionQuotaConfig q;
  q.max_connections = int_setting("max.connections", config_.max_connections);
  q.max_connections_per_ip = int_setting("max.connections.per.ip", config_.max_connections_per_ip);
  auto overrides = config_.max_connections_per_ip_overrides;
  if (const std::string* text = dynamic("max.connections.per.ip.overrides")) {
    if (auto parsed = config::parse_per_ip_overrides(*text))
      overrides = parsed.value();
    else
      spdlog::warn("max.connections.per.ip.overrides: {}", parsed.error_text());
  }
  q.per_ip_overrides = resolve_overrides(overrides);
  // listener.name.<listener>.max.connections: static, then cluster-wide, then this broker's.
  for (const auto& [listener, settings] : config_.listener_settings)
    if (auto it = settings.find("max.connections"); it != settings.end())
      if (auto limit = parse_int(it->second)) q.per_listener[listener] = *limit;
  auto dynamic_listener_limit = [&](const std::string& name, const std::string& value) {
    auto n = config::split_listener_setting(name);
    if (!n || n->setting != "max.connections") return;
    if (auto limit = parse_int(value)) q.per_listener[n->listener] = *limit;
  };
  if (image != nullptr) {
    for (const auto& [name, value] : image->cluster_configs) dynamic_listener_limit(name, value);
    if (auto b = image->broker_configs.find(config_.node_id); b != image->broker_configs.end())
      for (const auto& [name, value] : b->second) dynamic_listener_limit(name, value);
  }
  return q;
}

std::map<std::string, std::string> Broker::reconcile_logs(
    const MetadataImage* previous, const MetadataImage& next,
    const std::unordered_map<std::string, std::shared_ptr<const TopicSettings>>& settings) {
  std::map<std::string, std::string> failed;
  // Logs of topics that are gone, or whose directory belongs to an older topic of that name.
  for (const auto& tp : logs_->partitions()) {
    const TopicState* topic = next.find_topic(tp.topic);
    bool keep = topic != nullptr &&
                std::any_of(topic->partitions.begin(), topic->partitions.end(),
                            [&](const PartitionState& p) { return p.partition == tp.partition; });
    if (keep && previous == nullptr) {
      auto log = logs_->partition(tp);
      auto id = log ? read_partition_metadata(*log) : std::nullopt;
      if (id && *id != topic->id) keep = false;
    } else if (keep && previous != nullptr) {
      const TopicState* before = previous->find_topic(tp.topic);
      if (before != nullptr && before->id != topic->id) keep = false;
    }
    if (keep) continue;
    if (cleaner_) cleaner_->forget(tp);
    if (auto err = logs_->delete_partition(tp); !err.ok())
      spdlog::error("could not delete partition {}: {}", storage::to_string(tp), err.message());
    else
      spdlog::info("deleted the log of partition {}", storage::to_string(tp));
  }
  const bool layers_changed = previous != nullptr && !same_layers(*previous, next, config_.node_id);
  for (const auto& [name, topic] : next.topics) {
    const TopicState* before = previous ? previous->find_topic(name) : nullptr;
    if (before != nullptr && before == topic.get() && !layers_changed) continue;
    const bool settings_changed =
        layers_changed || before == nullptr || before->configs != topic->configs;
    const auto topic_settings = partitions_->settings_of(settings, name);
    const storage::LogConfig cfg =
        topic_settings ? topic_settings->log : partitions_->resolve(next, *topic).log;
    for (const auto& p : topic->partitions) {
      if (std::find(p.replicas.begin(), p.replicas.end(), config_.node_id) == p.replicas.end())
        continue;
      const storage::TopicPartition tp{name, p.partition};
      if (auto log = logs_->partition(tp)) {
        if (settings_changed && previous != nullptr) {
          if (auto err = log->update_config(cfg); !err.ok())
            spdlog::error("partition {}: {}", storage::to_string(tp), err.message());
        }
        continue;
      }
      auto created = logs_->create_partition(tp, cfg);
      if (!created) {
        spdlog::error("could not create the log of partition {}: {}", storage::to_string(tp),
                      created.error().message());
        failed.emplace(name, fmt::format("partition {}: {}", storage::to_string(tp),
                                         created.error().message()));
        break;
      }
      write_partition_metadata(**created, topic->id);
    }
  }
  return failed;
}

void Broker::maintenance_loop() {
  using namespace std::chrono;
  const int64_t retention_every = std::max<int64_t>(config_.log_retention_check_interval_ms, 100);
  const int64_t flush_every =
      std::clamp<int64_t>(config_.log_flush_scheduler_interval_ms, 10, 1000);
  const int64_t checkpoint_every =
      std::max<int64_t>(config_.log_flush_offset_checkpoint_interval_ms, 100);
  const int64_t expiry_every =
      std::max<int64_t>(config_.producer_id_expiration_check_interval_ms, 1000);
  int64_t next_retention = storage::wall_clock_ms() + retention_every;
  int64_t next_checkpoint = storage::wall_clock_ms() + checkpoint_every;
  int64_t next_expiry = storage::wall_clock_ms() + expiry_every;
  std::unique_lock lock(maintenance_mutex_);
  while (!stopping_) {
    maintenance_wake_.wait_for(lock, milliseconds(flush_every), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const int64_t now = storage::wall_clock_ms();
    bool recovery_points_moved = false;
    if (auto flushed = logs_->flush_due(now); !flushed)
      spdlog::error("flush: {}", flushed.error().message());
    else
      recovery_points_moved = *flushed > 0;
    if (now >= next_retention) {
      next_retention = now + retention_every;
      auto deleted = logs_->apply_retention(now);
      if (!deleted)
        spdlog::error("retention: {}", deleted.error().message());
      else if (*deleted > 0)
        spdlog::info("retention deleted {} segment(s)", *deleted);
    }
    // Recovery points are written as soon as they move, so a crash rescans little.
    if (now >= next_checkpoint || recovery_points_moved) {
      next_checkpoint = now + checkpoint_every;
      if (auto err = logs_->checkpoint(); !err.ok()) spdlog::error("checkpoint: {}", err.message());
    }
    if (now >= next_expiry) {
      next_expiry = now + expiry_every;
      for (const auto& tp : logs_->partitions())
        if (auto log = logs_->partition(tp)) log->remove_expired_producers(now);
    }
    lock.lock();
  }
}

void Broker::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& l : listeners_) l->stop();
  delayed_->wake_all();
  // Waiting JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) so connections drain.
  coordinator_->shutdown();
  // In-flight requests finish and get their responses; give them a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& l : listeners_) {
    while (l->open_connections() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reactors_->stop();
  {
    std::lock_guard lock(maintenance_mutex_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  // The controller finishes the operations submitted, and the loader publishes them, before
  // the logs they create or delete shut down.
  controller_->stop();
  loader_->stop();
  // A cleaning in progress is abandoned; its output is removed and the old segments stay.
  if (cleaner_) cleaner_->stop();
  // Flush every log, write the checkpoints and the clean-shutdown markers.
  if (auto err = logs_->shutdown(); !err.ok()) spdlog::error("log shutdown: {}", err.message());
  if (auto err = quorum_->close(); !err.ok())
    spdlog::error("metadata log close: {}", err.message());
  listeners_.clear();
  dispatcher_.reset();
  reactors_.reset();
}

std::vector<uint16_t> Broker::bound_ports() const {
  std::vector<uint16_t> ports;
  for (const auto& l : listeners_) ports.push_back(l->bound_port());
  return ports;
}

std::shared_ptr<const PartitionTable> Broker::partitions() const { return partitions_->table(); }

std::shared_ptr<const MetadataImage> Broker::metadata() const {
  return partitions_->table()->shared_image();
}

asio::awaitable<protocol::ErrorCode> Broker::auto_create_topic(const std::string& name) {
  if (!config_.auto_create_topics_enable) co_return protocol::ErrorCode::unknown_topic_or_partition;
  if (!topic_name_problem(name).empty()) co_return protocol::ErrorCode::invalid_topic_exception;
  NewTopic topic;
  topic.name = name;
  auto created = co_await controller_client_->create_topic(topic, false);
  if (created.result.error == protocol::ErrorCode::topic_already_exists)
    co_return protocol::ErrorCode::none;
  co_return created.result.error;
}

}  // namespace kfk::server

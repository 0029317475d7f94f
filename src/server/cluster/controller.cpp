#include "server/cluster/controller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "core/config/topic_config.h"
#include "server/cluster/image_apply.h"
#include "server/delayed/waiter.h"

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

// The controller's thread: an io_context that runs operations in the order they arrive.
struct Controller::Runner {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
};

Controller::Controller(const config::BrokerConfig& config, MetadataQuorum& quorum,
                       std::shared_ptr<const MetadataImage> image)
    : config_(config), quorum_(quorum), image_(std::move(image)), runner_(new Runner) {
  runner_->thread = std::thread([r = runner_.get()] { r->io.run(); });
}

Controller::~Controller() { stop(); }

void Controller::stop() {
  if (!runner_ || !runner_->thread.joinable()) return;
  runner_->work.reset();
  runner_->thread.join();
}

// The caller waits through a Waiter rather than an asio completion: the controller's thread
// then holds nothing of the caller's executor once it has handed the result over.
template <typename T>
asio::awaitable<T> Controller::run(std::function<T()> operation) {
  struct Handoff {
    std::mutex mu;
    std::optional<T> result;
    Waiter done;
  };
  auto handoff = std::make_shared<Handoff>();
  asio::post(runner_->io, [handoff, op = std::move(operation)] {
    T result = op();
    {
      std::lock_guard lock(handoff->mu);
      handoff->result = std::move(result);
    }
    handoff->done.wake();
  });
  for (;;) {
    {
      std::lock_guard lock(handoff->mu);
      if (handoff->result) {
        T result = std::move(*handoff->result);
        co_return result;
      }
    }
    // The controller runs every operation it was given, also while it stops.
    co_await handoff->done.wait_until(Waiter::Clock::time_point::max());
  }
}

config::BrokerLayers Controller::broker_layers(const MetadataImage& image) const {
  return server::broker_layers(image, config_);
}

ControllerResult Controller::commit(std::vector<MetadataRecord> records) {
  auto next = std::make_shared<MetadataImage>(*image_);
  for (const auto& r : records)
    if (auto problem = apply_metadata_record(*next, r); !problem.empty())
      spdlog::error("metadata record not applied: {}", problem);
  auto offset = quorum_.append(std::move(records));
  if (!offset)
    return fail(ErrorCode::kafka_storage_error,
                fmt::format("The metadata log could not be written: {}", offset.error().message()));
  next->offset = *offset;
  image_ = next;
  ControllerResult out;
  out.offset = *offset;
  return out;
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

asio::awaitable<CreatedTopic> Controller::create_topic(NewTopic topic, bool validate_only) {
  std::function<CreatedTopic()> operation = [&] {
    return validate_and_commit_topic(topic, validate_only);
  };
  CreatedTopic result = co_await run<CreatedTopic>(std::move(operation));
  co_return result;
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

asio::awaitable<ControllerResult> Controller::delete_topic(std::string name,
                                                           protocol::Uuid expected_id) {
  std::function<ControllerResult()> operation = [&] {
    return commit_topic_removal(name, expected_id);
  };
  ControllerResult result = co_await run<ControllerResult>(std::move(operation));
  co_return result;
}

ControllerResult Controller::commit_topic_removal(const std::string& name,
                                                  protocol::Uuid expected_id) {
  if (!config_.delete_topic_enable)
    return fail(ErrorCode::topic_deletion_disabled,
                "Topic deletion is disabled on this broker (delete.topic.enable=false).");
  const TopicState* topic = image_->find_topic(name);
  if (topic == nullptr || (!expected_id.is_zero() && topic->id != expected_id))
    return fail(ErrorCode::unknown_topic_or_partition,
                fmt::format("This server does not host this topic: {}", name));
  protocol::MetadataRemoveTopicRecord r;
  r.topic_id = topic->id;
  return commit({MetadataRecord(r)});
}

asio::awaitable<ControllerResult> Controller::create_partitions(
    std::string name, int32_t total, std::optional<std::vector<std::vector<int32_t>>> assignments,
    bool validate_only) {
  std::function<ControllerResult()> operation = [&] {
    return validate_and_commit_partitions(name, total, assignments, validate_only);
  };
  ControllerResult result = co_await run<ControllerResult>(std::move(operation));
  co_return result;
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

asio::awaitable<ControllerResult> Controller::alter_configs(ConfigResourceType type,
                                                            std::string resource,
                                                            std::vector<ConfigChange> changes,
                                                            bool replace, bool validate_only) {
  std::function<ControllerResult()> operation = [&] {
    return validate_and_commit_configs(type, resource, changes, replace, validate_only);
  };
  ControllerResult result = co_await run<ControllerResult>(std::move(operation));
  co_return result;
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

asio::awaitable<ProducerIdResult> Controller::next_producer_id() {
  std::function<ProducerIdResult()> operation = [this] { return allocate_producer_id(); };
  ProducerIdResult result = co_await run<ProducerIdResult>(std::move(operation));
  co_return result;
}

ProducerIdResult Controller::allocate_producer_id() {
  ProducerIdResult out;
  if (producer_ids_next_ >= producer_ids_end_) {
    const int64_t start = image_->next_producer_id;
    protocol::MetadataProducerIdsRecord r;
    r.broker_id = config_.node_id;
    r.broker_epoch = 0;
    r.next_producer_id = start + kProducerIdBlockSize;
    out.result = commit({MetadataRecord(r)});
    if (!out.result.ok()) return out;
    producer_ids_next_ = start;
    producer_ids_end_ = start + kProducerIdBlockSize;
  }
  out.producer_id = producer_ids_next_++;
  return out;
}

}  // namespace kfk::server

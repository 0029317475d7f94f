#include "core/client/client.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/net/connection.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/metadata.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;

const PartitionMetadata* TopicMetadata::partition(int32_t index) const {
  for (const auto& p : partitions) {
    if (p.partition == index) return &p;
  }
  return nullptr;
}

struct Client::Impl {
  explicit Impl(ClientOptions opts) : options(std::move(opts)) {
    connect_options.client_id = options.client_id;
    connect_options.connect_timeout = options.connect_timeout;
    connect_options.request_timeout = options.request_timeout;
  }

  ClientOptions options;
  net::ConnectOptions connect_options;
  // Declared before the connections: they run on it and must go first.
  net::IoContext io;
  std::map<std::string, std::unique_ptr<net::Connection>> connections;  // by "host:port"
  std::unique_ptr<net::Connection> coordinator;                         // see Client::coordinator()
  int32_t coordinator_node = -1;
  ClusterMetadata cache;
  std::map<std::string, Clock::time_point> fetched_at;  // per topic; absent = refresh
  // For on_connection_change: brokers connected at least once, and those now reported lost.
  std::set<std::string> connected_once;
  std::set<std::string> lost;

  void connection_lost(const std::string& address, std::string_view why) {
    if (!connected_once.count(address) || !lost.insert(address).second) return;
    if (options.on_connection_change) {
      options.on_connection_change(fmt::format("lost the connection to {}{}{}; retrying", address,
                                               why.empty() ? "" : ": ", why));
    }
  }

  net::Connection& connect(const BrokerAddress& address) {
    const std::string key = address.to_string();
    auto it = connections.find(key);
    if (it != connections.end() && it->second->is_open()) return *it->second;
    if (it != connections.end()) connections.erase(it);
    std::unique_ptr<net::Connection> conn;
    try {
      conn = net::Connection::open(io, address.host, address.port, connect_options);
    } catch (const net::NetError& e) {
      connection_lost(key, e.what());
      throw;
    }
    connected_once.insert(key);
    if (lost.erase(key) > 0 && options.on_connection_change) {
      options.on_connection_change(fmt::format("connected to {} again", key));
    }
    return *connections.emplace(key, std::move(conn)).first->second;
  }

  std::vector<BrokerAddress> candidates() const {
    std::vector<BrokerAddress> out;
    for (const auto& [id, b] : cache.brokers) {
      if (b.port > 0 && b.port <= 65535) {
        out.push_back(BrokerAddress{b.host, static_cast<uint16_t>(b.port)});
      }
    }
    for (const auto& a : options.bootstrap) {
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    return out;
  }

  net::Connection& any_broker() {
    // An open connection first.
    for (auto& [key, conn] : connections) {
      if (conn->is_open()) return *conn;
    }
    std::vector<std::string> failures;
    bool all_timeouts = true;
    for (const auto& address : candidates()) {
      try {
        return connect(address);
      } catch (const net::NetError& e) {
        spdlog::debug("{}", e.what());
        if (e.kind() != net::NetErrorKind::timeout) all_timeouts = false;
        failures.push_back(e.what());
      }
    }
    if (failures.empty()) {
      throw ClientError(ClientErrorKind::connection, "no broker address to connect to");
    }
    std::string message = failures.size() == 1 ? failures.front()
                                               : "cannot connect to any broker: " +
                                                     fmt::format("{}", fmt::join(failures, "; "));
    throw ClientError(all_timeouts ? ClientErrorKind::timeout : ClientErrorKind::connection,
                      message);
  }

  void merge(const protocol::MetadataResponse& response, ClusterMetadata& out) {
    out.cluster_id = response.cluster_id;
    out.controller_id = response.controller_id;
    for (const auto& b : response.brokers) {
      out.brokers[b.node_id] = BrokerMetadata{b.node_id, b.host, b.port, b.rack};
    }
    for (const auto& t : response.topics) {
      TopicMetadata topic;
      topic.name = t.name.value_or("");
      topic.error = t.error_code;
      topic.id = t.topic_id;
      topic.internal = t.is_internal;
      for (const auto& p : t.partitions) {
        topic.partitions.push_back(PartitionMetadata{p.partition_index, p.error_code, p.leader_id,
                                                     p.leader_epoch, p.replica_nodes, p.isr_nodes,
                                                     p.offline_replicas});
      }
      std::sort(topic.partitions.begin(), topic.partitions.end(),
                [](const auto& a, const auto& b) { return a.partition < b.partition; });
      out.topics[topic.name] = std::move(topic);
    }
  }

  ClusterMetadata fetch(const std::optional<std::vector<std::string>>& topics,
                        bool allow_auto_create) {
    const auto deadline = Clock::now() + options.api_timeout;
    for (int attempt = 0;; ++attempt) {
      net::Connection& conn = any_broker();
      try {
        const int16_t version = conn.require_version(protocol::MetadataRequest::api_key);
        protocol::MetadataRequest request;
        if (topics) {
          request.topics.emplace();
          for (const auto& name : *topics) {
            request.topics->emplace_back().name = name;
          }
        } else if (version >= 1) {
          request.topics.reset();  // null: every topic
        } else {
          request.topics.emplace();  // v0: empty means every topic
        }
        request.allow_auto_topic_creation = allow_auto_create;
        const auto response = net::call<protocol::MetadataResponse>(conn, request, version);
        ClusterMetadata result;
        merge(response, result);
        // The broker list and controller replace the cached ones; topics merge.
        cache.brokers = result.brokers;
        cache.controller_id = result.controller_id;
        cache.cluster_id = result.cluster_id;
        const auto now = Clock::now();
        for (const auto& [name, topic] : result.topics) {
          cache.topics[name] = topic;
          fetched_at[name] = now;
        }
        return result;
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol ||
            Clock::now() >= deadline) {
          throw;
        }
        spdlog::debug("metadata request failed, retrying: {}", e.what());
        connections.erase(conn.address());
        backoff(attempt);
      }
    }
  }

  std::chrono::milliseconds backoff_for(int attempt) const {
    const int64_t base = options.retry_backoff.count();
    const int64_t max = std::max(options.retry_backoff_max.count(), base);
    int64_t ms = base;
    for (int i = 0; i < attempt && ms < max; ++i) ms *= 2;
    ms = std::min(ms, max);
    // 20% jitter, as the Java client does.
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(ms) * jitter(rng)));
  }

  void backoff(int attempt) const { std::this_thread::sleep_for(backoff_for(attempt)); }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

const ClientOptions& Client::options() const { return impl_->options; }

net::Connection& Client::any_broker() { return impl_->any_broker(); }

namespace {

BrokerAddress address_of(const ClusterMetadata& cache, int32_t node_id) {
  const auto it = cache.brokers.find(node_id);
  if (it == cache.brokers.end()) {
    throw ClientError(ClientErrorKind::protocol,
                      fmt::format("broker {} is not in the cluster metadata", node_id));
  }
  const auto& b = it->second;
  if (b.port <= 0 || b.port > 65535) {
    throw ClientError(
        ClientErrorKind::protocol,
        fmt::format("broker {} has an invalid port {} in the metadata", node_id, b.port));
  }
  return BrokerAddress{b.host, static_cast<uint16_t>(b.port)};
}

}  // namespace

net::Connection& Client::coordinator(int32_t node_id) {
  auto& impl = *impl_;
  if (impl.coordinator && impl.coordinator_node == node_id && impl.coordinator->is_open()) {
    return *impl.coordinator;
  }
  impl.coordinator.reset();
  if (impl.cache.brokers.count(node_id) == 0) fetch_metadata(std::vector<std::string>{});
  const BrokerAddress address = address_of(impl.cache, node_id);
  impl.coordinator =
      net::Connection::open(impl.io, address.host, address.port, impl.connect_options);
  impl.coordinator_node = node_id;
  return *impl.coordinator;
}

net::Connection& Client::broker(int32_t node_id) {
  auto it = impl_->cache.brokers.find(node_id);
  if (it == impl_->cache.brokers.end()) {
    fetch_metadata(std::vector<std::string>{});
    it = impl_->cache.brokers.find(node_id);
    if (it == impl_->cache.brokers.end()) {
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("broker {} is not in the cluster metadata", node_id));
    }
  }
  const auto& b = it->second;
  if (b.port <= 0 || b.port > 65535) {
    throw ClientError(
        ClientErrorKind::protocol,
        fmt::format("broker {} has an invalid port {} in the metadata", node_id, b.port));
  }
  return impl_->connect(BrokerAddress{b.host, static_cast<uint16_t>(b.port)});
}

net::Connection& Client::controller() {
  const int32_t id = impl_->cache.controller_id;
  if (id >= 0 && impl_->cache.brokers.count(id) > 0) {
    try {
      return broker(id);
    } catch (const net::NetError& e) {
      spdlog::debug("controller {} unreachable: {}", id, e.what());
    }
  }
  return any_broker();
}

void Client::drop(net::Connection& conn) {
  impl_->connection_lost(conn.address(), {});
  if (impl_->coordinator.get() == &conn) {
    impl_->coordinator.reset();
    return;
  }
  impl_->connections.erase(conn.address());
}

ClusterMetadata Client::fetch_metadata(const std::optional<std::vector<std::string>>& topics,
                                       bool allow_auto_create) {
  return impl_->fetch(topics, allow_auto_create);
}

const ClusterMetadata& Client::cached_metadata() const { return impl_->cache; }

const TopicMetadata& Client::topic(const std::string& name, bool allow_auto_create) {
  const auto deadline = Clock::now() + impl_->options.api_timeout;
  for (int attempt = 0;; ++attempt) {
    const auto fetched = impl_->fetched_at.find(name);
    const bool fresh = fetched != impl_->fetched_at.end() &&
                       Clock::now() - fetched->second < impl_->options.metadata_max_age;
    if (!fresh) impl_->fetch(std::vector<std::string>{name}, allow_auto_create);
    const auto it = impl_->cache.topics.find(name);
    if (it == impl_->cache.topics.end()) {
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("the broker's metadata response left out topic '{}'", name));
    }
    const TopicMetadata& topic = it->second;
    const bool any_leader = std::any_of(topic.partitions.begin(), topic.partitions.end(),
                                        [](const auto& p) { return p.leader >= 0; });
    if (topic.error == 0 && any_leader) return topic;
    // A topic just created (or auto-created) has no leader for a moment: wait for one.
    const bool retriable =
        topic.error == 0 ||
        (protocol::is_retriable(topic.error) &&
         topic.error != protocol::to_int(protocol::ErrorCode::unknown_topic_or_partition));
    if (!retriable || Clock::now() >= deadline) {
      const int16_t code = topic.error != 0
                               ? topic.error
                               : protocol::to_int(protocol::ErrorCode::leader_not_available);
      throw ClientError(ClientErrorKind::kafka,
                        fmt::format("topic '{}': {}", name, protocol::describe_error(code)), code);
    }
    impl_->fetched_at.erase(name);
    backoff(attempt);
  }
}

void Client::invalidate(const std::string& topic) { impl_->fetched_at.erase(topic); }

void Client::backoff(int attempt) const { impl_->backoff(attempt); }

std::chrono::milliseconds Client::backoff_for(int attempt) const {
  return impl_->backoff_for(attempt);
}

}  // namespace kfk::client

// The shared part of every client: bootstrap from a broker list, one connection per broker
// (opened on first use, API versions negotiated), a metadata cache, and retry backoff.
// Admin, Producer and Consumer are built over one Client. Blocking; one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/address.h"
#include "core/client/client_error.h"
#include "core/client/metadata.h"

namespace kfk::net {
class Connection;
}

namespace kfk::client {

struct ClientOptions {
  std::vector<BrokerAddress> bootstrap;
  std::string client_id = "kfk";
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds api_timeout{60'000};  // an operation's retries end after this
  std::chrono::milliseconds retry_backoff{100};
  std::chrono::milliseconds retry_backoff_max{1'000};
  std::chrono::milliseconds metadata_max_age{300'000};
  // Told, in a sentence, when a broker that was connected stops answering ("lost the
  // connection to HOST:PORT ...") and when it answers again: once per outage, for tools
  // that say what is happening.
  std::function<void(const std::string&)> on_connection_change;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const;

  // A connection to some reachable broker: a known one first, else the bootstrap list.
  // Throws ClientError(connection) naming every address tried.
  net::Connection& any_broker();
  // The connection to a broker known from metadata; connects on first use. Throws
  // net::NetError when it cannot connect, ClientError when the node is unknown.
  net::Connection& broker(int32_t node_id);
  // The controller when metadata names one we can reach, else any broker.
  net::Connection& controller();
  // A connection of its own to the broker that coordinates a group, apart from the one
  // broker() returns: a broker serves a connection's requests one at a time, so heartbeats
  // must not queue behind a fetch waiting for data (the Java client does the same).
  net::Connection& coordinator(int32_t node_id);
  // Forgets a connection after a failure, so the next use reconnects.
  void drop(net::Connection& conn);

  // Sends a Metadata request (all topics when `topics` is nullopt), merges the answer into
  // the cache and returns it. Retries on other brokers when one fails.
  ClusterMetadata fetch_metadata(const std::optional<std::vector<std::string>>& topics,
                                 bool allow_auto_create = false);
  const ClusterMetadata& cached_metadata() const;

  // The topic from the cache, asking the broker when it is missing, stale or marked for
  // refresh. Waits (with backoff, up to api_timeout) while the topic is being created or a
  // leader is unknown. Throws ClientError(kafka) for an unknown topic.
  const TopicMetadata& topic(const std::string& name, bool allow_auto_create = false);
  // Marks the topic stale: the next topic() asks the broker again.
  void invalidate(const std::string& topic);

  // Sleeps for the attempt's exponential backoff (retry.backoff.ms doubling up to
  // retry.backoff.max.ms, with jitter).
  void backoff(int attempt) const;
  std::chrono::milliseconds backoff_for(int attempt) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfk::client

#include "server/broker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server/cluster/meta_properties.h"
#include "server/handlers/handlers.h"

namespace kfk::server {

namespace {
// What an advertised listener without a host stands for, as Kafka does.
std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}
}  // namespace

Broker::Broker(config::BrokerConfig config) : config_(std::move(config)) {}

Broker::~Broker() { stop(); }

std::string Broker::start() {
  std::string error;
  cluster_id_ =
      ensure_formatted(config_.log_dirs, config_.node_id, config_.cluster_id.value_or(""), error);
  if (!error.empty()) return error;

  reactors_ = std::make_unique<ReactorPool>(static_cast<size_t>(config_.reactor_threads()));
  dispatcher_ = std::make_unique<BrokerDispatcher>(*this);
  ConnectionLimits limits;
  limits.max_request_bytes = config_.socket_request_max_bytes;
  for (const auto& l : config_.listeners) {
    ListenerSpec spec{l.name, l.host, l.port};
    auto listener = std::make_unique<Listener>(spec, *reactors_, *dispatcher_, limits);
    if (auto err = listener->start(); !err.empty()) {
      listeners_.clear();
      reactors_.reset();
      return err;
    }
    listeners_.push_back(std::move(listener));
  }

  auto image = std::make_shared<MetadataImage>();
  image->cluster_id = cluster_id_;
  image->controller_id = config_.node_id;
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
    image->brokers.push_back(ep);
  }
  publish(std::move(image));
  reactors_->start();
  started_ = true;
  return {};
}

void Broker::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& l : listeners_) l->stop();
  // In-flight requests finish and get their responses; give them a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& l : listeners_) {
    while (l->open_connections() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reactors_->stop();
  listeners_.clear();
  dispatcher_.reset();
  reactors_.reset();
}

std::vector<uint16_t> Broker::bound_ports() const {
  std::vector<uint16_t> ports;
  for (const auto& l : listeners_) ports.push_back(l->bound_port());
  return ports;
}

std::shared_ptr<const MetadataImage> Broker::metadata() const {
  std::lock_guard lock(image_mutex_);
  return image_;
}

void Broker::publish(std::shared_ptr<const MetadataImage> image) {
  std::lock_guard lock(image_mutex_);
  image_ = std::move(image);
}

asio::awaitable<protocol::ErrorCode> Broker::auto_create_topic(const std::string& /*name*/) {
  // Topics need the controller and the log, which are not part of this broker yet.
  co_return protocol::ErrorCode::unknown_topic_or_partition;
}

}  // namespace kfk::server

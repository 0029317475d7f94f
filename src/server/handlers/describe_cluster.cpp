#include "server/handlers/describe_cluster.h"

#include "server/broker.h"
#include "server/cluster/acl_operations.h"

namespace kfk::server {

namespace {
constexpr int8_t kBrokerEndpoints = 1;
}

asio::awaitable<void> DescribeClusterHandler::handle(RequestContext& ctx, const Request& req,
                                                     Response& resp) {
  resp.throttle_time_ms = 0;
  resp.endpoint_type = req.endpoint_type;
  // Brokers serve their own endpoints; controller endpoints are asked of a controller listener.
  if (ctx.version() >= 1 && req.endpoint_type != kBrokerEndpoints) {
    resp.error_code = static_cast<int16_t>(protocol::ErrorCode::unsupported_endpoint_type);
    resp.error_message = "The broker listeners only describe broker endpoints (endpoint type 1).";
    co_return;
  }
  const auto image = ctx.broker.metadata();
  resp.error_code = 0;
  resp.cluster_id = image->cluster_id;
  resp.controller_id = image->controller_id;
  for (const auto& b : image->brokers) {
    if (b.listener != ctx.connection.listener) continue;
    auto& out = resp.brokers.emplace_back();
    out.broker_id = b.node_id;
    out.host = b.host;
    out.port = b.port;
    out.rack = b.rack;
  }
  if (req.include_cluster_authorized_operations)
    resp.cluster_authorized_operations = kClusterOperations;
  co_return;
}

}  // namespace kfk::server

#include "server/handlers/find_coordinator.h"

#include "server/broker.h"
#include "server/coordinator/internal_topic_store.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;

constexpr int8_t kGroupKey = 0;
constexpr int8_t kTransactionKey = 1;

struct Answer {
  ErrorCode error = ErrorCode::none;
  std::optional<std::string> message;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

// This broker coordinates every group (and would every transaction): a single node leads all
// partitions of the internal topics. The topic is created on the first group lookup.
asio::awaitable<Answer> find(RequestContext& ctx, int8_t key_type) {
  Answer a;
  if (key_type != kGroupKey && key_type != kTransactionKey) {
    a.error = ErrorCode::invalid_request;
    a.message = "Unknown coordinator key type " + std::to_string(key_type) + ".";
    co_return a;
  }
  if (key_type == kGroupKey) {
    if (co_await ctx.broker.offsets_store().ensure_topic() != ErrorCode::none) {
      a.error = ErrorCode::coordinator_not_available;
      a.message = "The offsets topic could not be created.";
      co_return a;
    }
  }
  const auto image = ctx.broker.metadata();
  for (const auto& b : image->brokers) {
    if (b.listener != ctx.connection.listener || b.node_id != ctx.broker.config().node_id) continue;
    a.node_id = b.node_id;
    a.host = b.host;
    a.port = b.port;
    co_return a;
  }
  a.error = ErrorCode::coordinator_not_available;
  a.message = "The coordinator has no endpoint on this listener.";
  co_return a;
}

}  // namespace

asio::awaitable<void> FindCoordinatorHandler::handle(RequestContext& ctx, const Request& req,
                                                     Response& resp) {
  resp.throttle_time_ms = 0;
  if (ctx.version() < 4) {
    Answer a = co_await find(ctx, req.key_type);
    resp.error_code = static_cast<int16_t>(a.error);
    resp.error_message = a.message;
    resp.node_id = a.node_id;
    resp.host = a.host;
    resp.port = a.port;
    co_return;
  }
  for (const auto& key : req.coordinator_keys) {
    Answer a = co_await find(ctx, req.key_type);
    auto& c = resp.coordinators.emplace_back();
    c.key = key;
    c.error_code = static_cast<int16_t>(a.error);
    c.error_message = a.message;
    c.node_id = a.node_id;
    c.host = a.host;
    c.port = a.port;
  }
  co_return;
}

}  // namespace kfk::server

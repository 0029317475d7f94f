#include "server/handlers/heartbeat.h"

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

asio::awaitable<void> HeartbeatHandler::handle(RequestContext& ctx, const Request& req,
                                               Response& resp) {
  resp.throttle_time_ms = 0;
  resp.error_code = static_cast<int16_t>(ctx.broker.group_coordinator().heartbeat(
      req.group_id, req.member_id, req.group_instance_id, req.generation_id));
  co_return;
}

}  // namespace kfk::server

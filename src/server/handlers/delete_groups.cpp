#include "server/handlers/delete_groups.h"

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

asio::awaitable<void> DeleteGroupsHandler::handle(RequestContext& ctx, const Request& req,
                                                  Response& resp) {
  resp.throttle_time_ms = 0;
  for (const auto& id : req.groups_names) {
    auto& out = resp.results.emplace_back();
    out.group_id = id;
    out.error_code = static_cast<int16_t>(ctx.broker.group_coordinator().delete_group(id));
  }
  co_return;
}

}  // namespace kfk::server

#include "server/handlers/sync_group.h"

#include "server/broker.h"
#include "server/delayed/pending_response.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

asio::awaitable<void> SyncGroupHandler::handle(RequestContext& ctx, const Request& req,
                                               Response& resp) {
  group::SyncRequest sync;
  sync.group_id = req.group_id;
  sync.generation_id = req.generation_id;
  sync.member_id = req.member_id;
  sync.group_instance_id = req.group_instance_id;
  sync.protocol_type = req.protocol_type;
  sync.protocol_name = req.protocol_name;
  for (const auto& a : req.assignments) sync.assignments.emplace_back(a.member_id, a.assignment);

  PendingResponse<group::SyncResult> pending;
  ctx.broker.group_coordinator().sync_group(std::move(sync), pending.completer());
  group::SyncResult r = co_await pending.wait();

  resp.throttle_time_ms = 0;
  resp.error_code = static_cast<int16_t>(r.error);
  resp.protocol_type = r.protocol_type;
  resp.protocol_name = r.protocol_name;
  resp.assignment = std::move(r.assignment);
  co_return;
}

}  // namespace kfk::server

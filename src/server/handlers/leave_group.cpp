#include "server/handlers/leave_group.h"

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

asio::awaitable<void> LeaveGroupHandler::handle(RequestContext& ctx, const Request& req,
                                                Response& resp) {
  resp.throttle_time_ms = 0;
  std::vector<group::LeavingMember> leaving;
  if (ctx.version() < 3) {
    leaving.push_back(group::LeavingMember{req.member_id, std::nullopt});
  } else {
    for (const auto& m : req.members)
      leaving.push_back(group::LeavingMember{m.member_id, m.group_instance_id});
  }
  protocol::ErrorCode group_error = protocol::ErrorCode::none;
  auto errors = ctx.broker.group_coordinator().leave_group(req.group_id, leaving, group_error);
  if (ctx.version() < 3) {
    // One member: its error is the response's.
    resp.error_code = static_cast<int16_t>(
        group_error != protocol::ErrorCode::none ? group_error : errors.front());
    co_return;
  }
  resp.error_code = static_cast<int16_t>(group_error);
  if (group_error != protocol::ErrorCode::none) co_return;
  for (size_t i = 0; i < leaving.size(); ++i) {
    auto& out = resp.members.emplace_back();
    out.member_id = leaving[i].member_id;
    out.group_instance_id = leaving[i].group_instance_id;
    out.error_code = static_cast<int16_t>(errors[i]);
  }
  co_return;
}

}  // namespace kfk::server

#include "server/handlers/describe_groups.h"

#include "server/broker.h"
#include "server/cluster/acl_operations.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

asio::awaitable<void> DescribeGroupsHandler::handle(RequestContext& ctx, const Request& req,
                                                    Response& resp) {
  resp.throttle_time_ms = 0;
  for (const auto& id : req.groups) {
    const group::GroupDescription d = ctx.broker.group_coordinator().describe_group(id);
    auto& out = resp.groups.emplace_back();
    out.group_id = id;
    out.error_code = static_cast<int16_t>(d.error);
    // A group the coordinator does not know is reported Dead with no members, as Kafka does.
    out.group_state = std::string(group::state_name(d.state));
    out.protocol_type = d.protocol_type;
    out.protocol_data = d.protocol_name;
    for (const auto& m : d.members) {
      auto& om = out.members.emplace_back();
      om.member_id = m.member_id;
      om.group_instance_id = m.group_instance_id;
      om.client_id = m.client_id;
      om.client_host = m.client_host;
      om.member_metadata = m.metadata;
      om.member_assignment = m.assignment;
    }
    if (req.include_authorized_operations) out.authorized_operations = kGroupOperations;
  }
  co_return;
}

}  // namespace kfk::server

#include "server/handlers/list_groups.h"

#include <algorithm>

#include "server/broker.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

namespace {

// Every group here uses the classic protocol.
constexpr std::string_view kClassic = "classic";

}  // namespace

asio::awaitable<void> ListGroupsHandler::handle(RequestContext& ctx, const Request& req,
                                                Response& resp) {
  resp.throttle_time_ms = 0;
  auto matches = [](const std::vector<std::string>& filter, std::string_view value) {
    return filter.empty() || std::any_of(filter.begin(), filter.end(), [&](const std::string& f) {
             return group::equals_ignore_case(f, value);
           });
  };
  protocol::ErrorCode error = protocol::ErrorCode::none;
  const auto groups = ctx.broker.group_coordinator().list_groups(error);
  resp.error_code = static_cast<int16_t>(error);
  for (const auto& g : groups) {
    const std::string_view state = group::state_name(g.state);
    if (!matches(req.states_filter, state) || !matches(req.types_filter, kClassic)) continue;
    auto& out = resp.groups.emplace_back();
    out.group_id = g.group_id;
    out.protocol_type = g.protocol_type;
    out.group_state = std::string(state);
    out.group_type = std::string(kClassic);
  }
  co_return;
}

}  // namespace kfk::server

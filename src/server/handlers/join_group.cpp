#include "server/handlers/join_group.h"

#include "server/broker.h"
#include "server/delayed/pending_response.h"
#include "server/group/group_coordinator.h"

namespace kfk::server {

namespace {

// Kafka reports a member's host as Java prints an InetAddress: "/127.0.0.1".
std::string client_host(const std::string& peer) {
  std::string host = peer;
  if (auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return "/" + host;
}

}  // namespace

asio::awaitable<void> JoinGroupHandler::handle(RequestContext& ctx, const Request& req,
                                               Response& resp) {
  group::JoinRequest join;
  join.group_id = req.group_id;
  join.member_id = req.member_id;
  join.group_instance_id = req.group_instance_id;
  join.client_id = ctx.header.client_id.value_or("");
  join.client_host = client_host(ctx.connection.peer);
  join.session_timeout_ms = req.session_timeout_ms;
  // v0 has no rebalance timeout: Kafka waits for the members as long as their session lasts.
  join.rebalance_timeout_ms =
      ctx.version() == 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
  join.protocol_type = req.protocol_type;
  for (const auto& p : req.protocols) join.protocols.emplace_back(p.name, p.metadata);
  join.require_known_member_id = ctx.version() >= 4;
  join.supports_skip_assignment = ctx.version() >= 9;

  PendingResponse<group::JoinResult> pending;
  ctx.broker.group_coordinator().join_group(std::move(join), pending.completer());
  group::JoinResult r = co_await pending.wait();

  resp.throttle_time_ms = 0;
  resp.error_code = static_cast<int16_t>(r.error);
  resp.generation_id = r.generation_id;
  resp.protocol_type = r.protocol_type;
  // Before v7 the name is not nullable: an empty string stands for none.
  resp.protocol_name =
      ctx.version() >= 7 ? r.protocol_name : std::optional(r.protocol_name.value_or(""));
  resp.leader = r.leader;
  resp.member_id = r.member_id;
  resp.skip_assignment = r.skip_assignment;
  for (auto& m : r.members) {
    auto& out = resp.members.emplace_back();
    out.member_id = std::move(m.member_id);
    out.group_instance_id = std::move(m.group_instance_id);
    out.metadata = std::move(m.metadata);
  }
  co_return;
}

}  // namespace kfk::server

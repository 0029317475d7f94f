#include "server/handlers/create_partitions.h"

#include <set>

#include "server/broker.h"
#include "server/cluster/controller_client.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<void> CreatePartitionsHandler::handle(RequestContext& ctx, const Request& req,
                                                      Response& resp) {
  resp.throttle_time_ms = 0;
  std::multiset<std::string> names;
  for (const auto& t : req.topics) names.insert(t.name);
  for (const auto& t : req.topics) {
    auto& out = resp.results.emplace_back();
    out.name = t.name;
    if (names.count(t.name) > 1) {
      out.error_code = static_cast<int16_t>(ErrorCode::invalid_request);
      out.error_message = "Duplicate topic in the request: " + t.name;
      continue;
    }
    std::optional<std::vector<std::vector<int32_t>>> assignments;
    if (t.assignments) {
      assignments.emplace();
      for (const auto& a : *t.assignments) assignments->push_back(a.broker_ids);
    }
    const auto result = co_await ctx.broker.controller().create_partitions(
        t.name, t.count, std::move(assignments), req.validate_only);
    out.error_code = static_cast<int16_t>(result.error);
    if (!result.ok()) out.error_message = result.message;
  }
}

}  // namespace kfk::server

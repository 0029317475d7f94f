#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "core/protocol/api_keys.h"
#include "core/protocol/writer.h"
#include "server/broker.h"
#include "server/handlers/alter_configs.h"
#include "server/handlers/api_versions.h"
#include "server/handlers/authorizer.h"
#include "server/handlers/create_partitions.h"
#include "server/handlers/create_topics.h"
#include "server/handlers/delete_groups.h"
#include "server/handlers/delete_records.h"
#include "server/handlers/delete_topics.h"
#include "server/handlers/describe_cluster.h"
#include "server/handlers/describe_configs.h"
#include "server/handlers/describe_groups.h"
#include "server/handlers/describe_log_dirs.h"
#include "server/handlers/describe_topic_partitions.h"
#include "server/handlers/fetch.h"
#include "server/handlers/find_coordinator.h"
#include "server/handlers/handlers.h"
#include "server/handlers/heartbeat.h"
#include "server/handlers/incremental_alter_configs.h"
#include "server/handlers/init_producer_id.h"
#include "server/handlers/join_group.h"
#include "server/handlers/leave_group.h"
#include "server/handlers/list_groups.h"
#include "server/handlers/list_offsets.h"
#include "server/handlers/metadata.h"
#include "server/handlers/offset_commit.h"
#include "server/handlers/offset_delete.h"
#include "server/handlers/offset_fetch.h"
#include "server/handlers/produce.h"
#include "server/handlers/sync_group.h"
#include "server/log_rate_limit.h"

namespace kfk::server {

namespace {

// Every handler. Adding an API is adding its handler here: ApiVersions follows.
using AllHandlers =
    std::tuple<ApiVersionsHandler, MetadataHandler, CreateTopicsHandler, DeleteTopicsHandler,
               CreatePartitionsHandler, DescribeConfigsHandler, AlterConfigsHandler,
               IncrementalAlterConfigsHandler, DescribeClusterHandler,
               DescribeTopicPartitionsHandler, ProduceHandler, FetchHandler, ListOffsetsHandler,
               InitProducerIdHandler, DeleteRecordsHandler, DescribeLogDirsHandler,
               FindCoordinatorHandler, JoinGroupHandler, SyncGroupHandler, HeartbeatHandler,
               LeaveGroupHandler, OffsetCommitHandler, OffsetFetchHandler, ListGroupsHandler,
               DescribeGroupsHandler, DeleteGroupsHandler, OffsetDeleteHandler>;

using Invoke = asio::awaitable<RequestOutcome> (*)(RequestContext&, protocol::Reader&);

struct Entry {
  SupportedApi api;
  Invoke invoke;
};

template <class H>
asio::awaitable<RequestOutcome> invoke(RequestContext& ctx, protocol::Reader& body) {
  RequestOutcome outcome;
  typename H::Request request;
  if (!request.decode(body, ctx.version())) {
    warn_limited(
        fmt::format("{} malformed {}", peer_host(ctx.connection.peer), H::Request::message_name),
        "closing connection from {}: malformed {} v{} request: {}", ctx.connection.peer,
        H::Request::message_name, ctx.version(), body.error().message());
    outcome.respond = false;
    outcome.close = true;
    co_return outcome;
  }
  typename H::Response response;
  co_await H::handle(ctx, request, response);
  outcome.respond = ctx.respond;
  outcome.close = ctx.close;
  if (!outcome.respond) co_return outcome;
  protocol::Writer w(64 + response.encoded_size(ctx.version()));
  w.write_int32(ctx.header.correlation_id);
  if (protocol::response_header_version(H::Request::api_key, ctx.version()) >= 1)
    w.write_uvarint(0);
  response.encode(w, ctx.version());
  outcome.response = w.take();
  // Encoding places the response's file bytes (Fetch) into ctx.splices.
  outcome.splices = std::move(ctx.splices);
  co_return outcome;
}

template <class... H>
constexpr auto make_table(std::tuple<H...>*) {
  std::array<Entry, sizeof...(H)> table{
      Entry{{H::Request::api_key, H::min_version, H::max_version}, &invoke<H>}...};
  std::sort(table.begin(), table.end(),
            [](const Entry& a, const Entry& b) { return a.api.key < b.api.key; });
  return table;
}

const auto kTable = make_table(static_cast<AllHandlers*>(nullptr));

const std::array<SupportedApi, std::tuple_size_v<AllHandlers>> kSupported = [] {
  std::array<SupportedApi, std::tuple_size_v<AllHandlers>> out{};
  for (size_t i = 0; i < kTable.size(); ++i) out[i] = kTable[i].api;
  return out;
}();

const Entry* find_entry(int16_t key) {
  auto it = std::lower_bound(kTable.begin(), kTable.end(), key,
                             [](const Entry& e, int16_t k) { return e.api.key < k; });
  return it != kTable.end() && it->api.key == key ? &*it : nullptr;
}

RequestOutcome close_connection() {
  RequestOutcome outcome;
  outcome.respond = false;
  outcome.close = true;
  return outcome;
}

}  // namespace

std::span<const SupportedApi> supported_apis() { return kSupported; }

asio::awaitable<RequestOutcome> BrokerDispatcher::dispatch(const ConnectionInfo& conn,
                                                           std::span<const uint8_t> frame) {
  protocol::Reader peek(frame);
  const int16_t key = peek.read_int16("api key");
  const int16_t version = peek.read_int16("api version");
  const int32_t correlation_id = peek.read_int32("correlation id");
  const Entry* entry = find_entry(key);
  if (entry == nullptr) {
    warn_limited(fmt::format("{} api key", peer_host(conn.peer)),
                 "closing connection from {}: unsupported api key {}", conn.peer, key);
    co_return close_connection();
  }
  if (version < entry->api.min_version || version > entry->api.max_version) {
    if (key == static_cast<int16_t>(protocol::ApiKey::api_versions)) {
      RequestOutcome outcome;
      outcome.response = ApiVersionsHandler::unsupported_version_response(correlation_id);
      co_return outcome;
    }
    // A response of an unknown version cannot be written, so the client gets no answer: as
    // with Kafka, it should have asked ApiVersions first.
    warn_limited(fmt::format("{} api version", peer_host(conn.peer)),
                 "closing connection from {}: {} version {} is not supported (supported {}..{})",
                 conn.peer, protocol::find_api(key)->name, version, entry->api.min_version,
                 entry->api.max_version);
    co_return close_connection();
  }
  protocol::Reader reader(frame);
  protocol::RequestHeader header;
  if (!header.decode(reader, protocol::request_header_version(key, version))) {
    warn_limited(fmt::format("{} request header", peer_host(conn.peer)),
                 "closing connection from {}: malformed request header: {}", conn.peer,
                 reader.error().message());
    co_return close_connection();
  }
  if (!broker_.authorizer().may_call(conn.session, key)) {
    warn_limited(fmt::format("{} denied", peer_host(conn.peer)),
                 "closing connection from {}: {} may not call {}", conn.peer,
                 conn.session.principal, protocol::find_api(key)->name);
    co_return close_connection();
  }
  RequestContext ctx{conn, header, broker_};
  co_return co_await entry->invoke(ctx, reader);
}

}  // namespace kfk::server

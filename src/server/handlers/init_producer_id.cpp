#include "server/handlers/init_producer_id.h"

#include <spdlog/spdlog.h>

#include "core/protocol/errors.h"
#include "server/broker.h"
#include "server/cluster/controller_client.h"

namespace kfk::server {

using protocol::ErrorCode;

asio::awaitable<void> InitProducerIdHandler::handle(RequestContext& ctx, const Request& req,
                                                    Response& resp) {
  resp.throttle_time_ms = 0;
  resp.producer_id = -1;
  resp.producer_epoch = -1;
  auto fail = [&](ErrorCode code) { resp.error_code = static_cast<int16_t>(code); };
  // v3+ (KIP-360): a producer may name its current id and epoch; both or neither.
  if ((req.producer_id == -1) != (req.producer_epoch == -1)) {
    fail(ErrorCode::invalid_request);
    co_return;
  }
  if (req.transactional_id) {
    if (req.transactional_id->empty()) {
      fail(ErrorCode::invalid_request);
      co_return;
    }
    // No transaction coordinator yet. Kafka refuses a transactional id the client may not
    // use with TRANSACTIONAL_ID_AUTHORIZATION_FAILED; both the Java client and librdkafka
    // treat it as fatal and report it, where the coordinator errors would have them retry
    // until their timeout.
    spdlog::info(
        "connection {} from {}: InitProducerId for transactional id '{}' refused: "
        "transactions are not supported",
        ctx.connection.id, ctx.connection.peer, *req.transactional_id);
    fail(ErrorCode::transactional_id_authorization_failed);
    co_return;
  }
  // Without a transactional id Kafka always hands out a new id with epoch 0, also when the
  // producer names its current one (the epoch bump of KIP-360 is for transactional ids).
  const ProducerIdResult id = co_await ctx.broker.controller().next_producer_id();
  if (!id.result.ok()) {
    spdlog::error("cannot allocate a producer id: {}", id.result.message);
    // Retriable for clients, as Kafka answers while it cannot get a block of ids.
    fail(ErrorCode::coordinator_load_in_progress);
    co_return;
  }
  resp.error_code = 0;
  resp.producer_id = id.producer_id;
  resp.producer_epoch = 0;
  co_return;
}

}  // namespace kfk::server

#pragma once

#include "core/protocol/messages/init_producer_id.h"
#include "server/handlers/handler.h"

namespace kfk::server {

// InitProducerId: a new producer id for an idempotent producer. Transactional ids are
// refused until the transaction coordinator exists (see init_producer_id.cpp).
struct InitProducerIdHandler {
  using Request = protocol::InitProducerIdRequest;
  using Response = protocol::InitProducerIdResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 5;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

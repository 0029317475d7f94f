#pragma once

#include "core/protocol/messages/produce.h"
#include "server/handlers/handler.h"

namespace kfk::server {

// Produce: appends each partition's batch to its log. acks=0 owes no response (an error
// closes the connection instead, so the producer notices); acks=1 and acks=all answer once
// the batch is appended (and flushed, when flush.messages is reached): with one replica the
// two are the same. Transactional batches are refused: this broker has no transaction
// coordinator yet (see produce.cpp).
struct ProduceHandler {
  using Request = protocol::ProduceRequest;
  using Response = protocol::ProduceResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 11;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

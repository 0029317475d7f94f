#pragma once

#include "core/protocol/messages/delete_records.h"
#include "server/handlers/handler.h"

namespace kfk::server {

// DeleteRecords: moves the log start offset of partitions forward.
struct DeleteRecordsHandler {
  using Request = protocol::DeleteRecordsRequest;
  using Response = protocol::DeleteRecordsResponse;
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 2;

  static asio::awaitable<void> handle(RequestContext& ctx, const Request& req, Response& resp);
};

}  // namespace kfk::server

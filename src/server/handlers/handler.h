// What every API handler sees, and the shape of a handler.
//
// A handler is a type with
//   using Request = protocol::<Api>Request;  using Response = protocol::<Api>Response;
//   static constexpr int16_t min_version, max_version;   // the versions it serves
//   static asio::awaitable<void> handle(RequestContext&, const Request&, Response&);
// The dispatcher decodes the request, calls handle, and encodes the response at the
// request's version. Failures are error codes in the response, never exceptions. Before
// that, the dispatcher asks the broker's Authorizer whether the connection's session may
// make the request at all.
// handlers.h lists every handler; ApiVersions advertises exactly that list.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <vector>

#include "core/protocol/messages/request_header.h"
#include "server/network/connection.h"

namespace kfk::server {

class Broker;

// A handler changes its connection only through what it leaves here, which the dispatcher
// hands the connection in the request's outcome.
struct RequestContext {
  const ConnectionInfo& connection;
  const protocol::RequestHeader& header;
  Broker& broker;
  bool respond = true;  // a handler clears it when no response is owed (Produce, acks=0)
  bool close = false;   // close the connection once the response (if any) is written
  // File bytes the response carries (Fetch records), when connection.sends_files.
  std::vector<ResponseSplice> splices;

  int16_t version() const { return header.request_api_version; }
};

}  // namespace kfk::server

// Typed requests over a Connection: encode a generated request message, decode the generated
// response at the same version. A response that does not decode (or leaves bytes over) is a
// NetError(protocol) naming the API, the broker and the field. Include only where requests
// are made: this pulls in the reader and writer.
#pragma once

#include <fmt/core.h>

#include "core/net/connection.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::net {

template <class Request>
int32_t send_request(Connection& conn, const Request& request, int16_t version,
                     bool expect_response = true,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) {
  protocol::Writer w(request.encoded_size(version));
  request.encode(w, version);
  return conn.send(Request::api_key, version, w.bytes(), expect_response, timeout);
}

template <class Response>
Response wait_response(Connection& conn, int32_t correlation_id, int16_t version) {
  const protocol::Bytes body = conn.wait(correlation_id);
  protocol::Reader r(body);
  Response response;
  if (!response.decode(r, version) || !r.expect_end(Response::message_name)) {
    conn.close();
    throw NetError(NetErrorKind::protocol,
                   fmt::format("malformed {} v{} from {}: {}", Response::message_name, version,
                               conn.address(), r.error().message()));
  }
  return response;
}

// Sends `request` at the negotiated version (or `version` when given) and waits for the answer,
// at most `timeout` when it is not zero (else the connection's request timeout).
template <class Response, class Request>
Response call(Connection& conn, const Request& request, int16_t version,
              std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) {
  return wait_response<Response>(conn, send_request(conn, request, version, true, timeout),
                                 version);
}

}  // namespace kfk::net

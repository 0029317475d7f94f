#include "core/net/framing.h"

#include <fmt/core.h>

#include <algorithm>

#include "core/protocol/api_keys.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/messages/response_header.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::net {

protocol::Bytes encode_request_prefix(int16_t api_key, int16_t api_version, int32_t correlation_id,
                                      std::string_view client_id, size_t body_size) {
  protocol::RequestHeader header;
  header.request_api_key = api_key;
  header.request_api_version = api_version;
  header.correlation_id = correlation_id;
  header.client_id = std::string(client_id);
  const int16_t header_version = protocol::request_header_version(api_key, api_version);
  protocol::Writer w(4 + header.encoded_size(header_version));
  w.write_int32(0);  // size, patched below
  header.encode(w, header_version);
  w.patch_int32(0, static_cast<int32_t>(w.size() - 4 + body_size));
  return w.take();
}

std::optional<ResponseHeaderInfo> decode_response_header(std::span<const uint8_t> frame,
                                                         int16_t api_key, int16_t api_version,
                                                         std::string& error) {
  protocol::Reader r(frame);
  protocol::ResponseHeader header;
  if (!header.decode(r, protocol::response_header_version(api_key, api_version))) {
    error = "response header: " + r.error().message();
    return std::nullopt;
  }
  return ResponseHeaderInfo{header.correlation_id, r.position()};
}

namespace {

// The definitions go down to the versions the broker serves for old clients (Produce and
// Fetch from 0, ...); this client is written for record batches v2 and the request shapes of
// Kafka 4.0's minimums (KIP-896), so it never asks for less.
int16_t client_min_version(const protocol::ApiInfo& api) {
  switch (static_cast<protocol::ApiKey>(api.key)) {
    case protocol::ApiKey::produce:
      return 3;
    case protocol::ApiKey::fetch:
      return 4;
    case protocol::ApiKey::join_group:
    case protocol::ApiKey::offset_commit:
    case protocol::ApiKey::create_topics:
      return 2;
    case protocol::ApiKey::offset_fetch:
    case protocol::ApiKey::describe_configs:
    case protocol::ApiKey::delete_topics:
    case protocol::ApiKey::delete_groups:
    case protocol::ApiKey::describe_log_dirs:
      return 1;
    default:
      return api.min_version;
  }
}

}  // namespace

int16_t negotiate_version(int16_t api_key, std::span<const ApiVersionRange> broker) {
  const protocol::ApiInfo* ours = protocol::find_api(api_key);
  if (ours == nullptr) return -1;
  for (const auto& theirs : broker) {
    if (theirs.api_key != api_key) continue;
    const int16_t high = std::min(ours->latest_stable_version, theirs.max_version);
    const int16_t low = std::max(client_min_version(*ours), theirs.min_version);
    return high >= low ? high : int16_t{-1};
  }
  return -1;
}

std::string api_name(int16_t api_key) {
  const protocol::ApiInfo* api = protocol::find_api(api_key);
  return api != nullptr ? std::string(api->name) : fmt::format("api {}", api_key);
}

}  // namespace kfk::net

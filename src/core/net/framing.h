// Kafka request and response framing, without any I/O, so it can be tested alone.
//
//   request frame   int32 size | request header (v0, v1 or v2) | request body
//   response frame  int32 size | response header (v0: correlation id; v1: + tagged fields) | body
//
// The header versions follow the API version (protocol::request_header_version and
// response_header_version); ApiVersions responses always use header v0.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/types.h"

namespace kfk::net {

struct ApiVersionRange {
  int16_t api_key = 0;
  int16_t min_version = 0;
  int16_t max_version = -1;
};

// The size prefix and header for a request whose body (already encoded) follows. The whole
// frame is header_and_prefix + body.
protocol::Bytes encode_request_prefix(int16_t api_key, int16_t api_version, int32_t correlation_id,
                                      std::string_view client_id, size_t body_size);

struct ResponseHeaderInfo {
  int32_t correlation_id = 0;
  size_t header_size = 0;  // bytes of the header; the body follows
};

// Decodes the response header at the start of `frame` (the bytes after the size prefix).
// nullopt with `error` set when the header does not decode.
std::optional<ResponseHeaderInfo> decode_response_header(std::span<const uint8_t> frame,
                                                         int16_t api_key, int16_t api_version,
                                                         std::string& error);

// The highest version both sides support for `key`: our range comes from the generated API
// table; -1 when the ranges do not overlap or either side lacks the API.
int16_t negotiate_version(int16_t api_key, std::span<const ApiVersionRange> broker);

// Kafka's display name of an API ("CreateTopics"), or "api <key>".
std::string api_name(int16_t api_key);

}  // namespace kfk::net

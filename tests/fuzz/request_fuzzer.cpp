// Fuzzes request decoding: a request frame (header + body, without the size prefix) of any API
// and version. Decoding must fail cleanly or succeed; a decoded request re-encodes to bytes that
// decode again to the same encoding (the codec is stable after one normalisation).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/protocol/api_keys.h"
#include "core/protocol/messages/request_header.h"
#include "core/protocol/writer.h"

using namespace kfk::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader peek(data, size);
  const int16_t key = peek.read_int16("api key");
  const int16_t version = peek.read_int16("api version");
  if (!peek.ok() || find_api(key) == nullptr) return 0;
  Reader r(data, size);
  RequestHeader header;
  if (!header.decode(r, request_header_version(key, version))) return 0;
  Bytes once;
  DecodeError err;
  if (!roundtrip_request_body(key, version, r.rest(), once, err)) return 0;
  Bytes twice;
  if (!roundtrip_request_body(key, version, once, twice, err)) abort();
  if (once != twice) abort();
  return 0;
}

// Fuzzes what the broker reads back from its metadata log and snapshots at start: a buffer of
// record batches whose record values are metadata records. Decoding must fail cleanly or
// succeed; a record that decodes must re-encode to bytes that decode to the same encoding;
// applying any decoded record to an image must not crash (a record that does not fit the
// image is an error message, not a failure).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "core/record/record_batch.h"
#include "server/cluster/image_apply.h"
#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_records.h"

using namespace kfk;

namespace {

void check_record(std::span<const uint8_t> value, server::MetadataImage& image) {
  std::string error;
  auto record = server::decode_metadata_record(value, error);
  if (!record) {
    if (error.empty()) abort();  // a refusal always says why
    return;
  }
  const protocol::Bytes encoded = server::encode_metadata_record(*record);
  auto again = server::decode_metadata_record(encoded, error);
  if (!again) abort();
  if (server::encode_metadata_record(*again) != encoded) abort();
  (void)server::apply_metadata_record(image, *record);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  server::MetadataImage image;
  // The whole input as one record value.
  check_record(input, image);
  // The input as batches of records, as the log and the snapshot files hold them.
  record::BatchIterator batches(input, size_t{1} << 20);
  record::DecodeOptions options;
  options.max_uncompressed_bytes = size_t{1} << 20;
  while (auto batch = batches.next()) {
    if (batch->magic() != record::kMagicV2) continue;
    record::DecodedRecords decoded;
    if (!record::decode_records(*batch, decoded, options).ok()) continue;
    for (const auto& r : decoded.records)
      if (r.value) check_record(*r.value, image);
  }
  return 0;
}

// Fuzzes record batch decoding: a buffer of batches as a fetch response or a segment holds
// them. Walking, validating and decoding must fail cleanly or succeed; a batch that decodes is
// rebuilt from its records, and the rebuilt batch must decode to the same records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/record/record_batch.h"

using namespace kfk::record;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BatchIterator it(std::span<const uint8_t>(data, size), size_t{1} << 20);
  DecodeOptions options;
  options.max_uncompressed_bytes = size_t{1} << 20;
  while (auto batch = it.next()) {
    if (batch->magic() != kMagicV2) continue;
    (void)batch->validate();
    DecodedRecords decoded;
    if (!decode_records(*batch, decoded, options).ok() || batch->is_control()) continue;
    std::vector<Record> records;
    for (const auto& view : decoded.records) records.push_back(to_record(view));
    if (records.size() != static_cast<size_t>(batch->records_count())) abort();

    BatchOptions rebuild;
    rebuild.base_offset = batch->base_offset();
    rebuild.compression = batch->compression();
    rebuild.timestamp_type = batch->timestamp_type();
    if (rebuild.timestamp_type == TimestampType::log_append_time) {
      rebuild.log_append_time = batch->max_timestamp();
      for (auto& r : records) r.timestamp = kNoTimestamp;  // taken from the batch on rebuild
    }
    const Bytes again = build_batch(rebuild, records);
    BatchIterator again_it(again);
    auto again_batch = again_it.next();
    if (!again_batch) abort();
    DecodedRecords redecoded;
    if (!decode_records(*again_batch, redecoded, options).ok()) abort();
    if (redecoded.records.size() != records.size()) abort();
    for (size_t i = 0; i < records.size(); ++i) {
      Record r = to_record(redecoded.records[i]);
      if (r.key != records[i].key || r.value != records[i].value ||
          r.headers != records[i].headers || r.offset != records[i].offset)
        abort();
    }
  }
  return 0;
}

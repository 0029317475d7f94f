// Fuzzes the validating pass over a producer's batch (record::RecordScanner), with a window
// size chosen by the input's first byte so that records straddle chunks at every place. The
// scanner must fail cleanly or succeed, never hold a window larger than one chunk or one
// record, and agree with decode_records (the whole-buffer decoder): the same verdict and, on
// success, the same records.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/record/record_batch.h"
#include "core/record/record_scanner.h"

using namespace kfk::record;

namespace {

constexpr size_t kLimit = size_t{1} << 20;

struct Collect final : RecordVisitor {
  std::vector<Record> records;
  bool on_record(int32_t, const RecordView& r) override {
    records.push_back(to_record(r));
    return true;
  }
};

// Codec limits differ between the two decoders (zstd windows, output caps), so a codec
// failure on one side only is not a disagreement.
bool codec_limit(const BatchError& e) {
  return e.kind == BatchErrorKind::too_large || e.kind == BatchErrorKind::decompression_failed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ScanLimits limits;
  limits.chunk_bytes = 1 + (size_t{data[0]} * 61) % 5000;
  limits.max_record_bytes = kLimit;
  limits.max_snappy_block_bytes = kLimit;
  RecordScanner scanner(limits);
  BatchIterator it(std::span<const uint8_t>(data + 1, size - 1), kLimit);
  while (auto batch = it.next()) {
    if (batch->magic() != kMagicV2) continue;
    for (bool client_rules : {false, true}) {
      ScanOptions options;
      options.header.client_rules = client_rules;
      options.collect_headers = true;
      Collect seen;
      const BatchError e = scanner.scan(*batch, options, &seen);
      if (scanner.peak_window_bytes() > std::max(limits.chunk_bytes, kLimit + 5)) abort();
      if (e.ok() && seen.records.size() != static_cast<size_t>(batch->records_count())) abort();
      if (client_rules) continue;

      DecodedRecords decoded;
      DecodeOptions decode_options;
      decode_options.max_uncompressed_bytes = kLimit;
      const BatchError de = decode_records(*batch, decoded, decode_options);
      if (e.ok() != de.ok()) {
        if (codec_limit(e) || codec_limit(de)) continue;
        abort();
      }
      if (!e.ok()) continue;
      if (decoded.records.size() != seen.records.size()) abort();
      for (size_t i = 0; i < seen.records.size(); ++i)
        if (!(to_record(decoded.records[i]) == seen.records[i])) abort();
    }
  }
  return 0;
}

// Fuzzes the conversions between message formats v0/v1 and v2: the input as a produce
// request's legacy message set, and as a log read of v2 batches for an old fetch. Both must
// fail cleanly or succeed; a converted message set must read back as the records it came
// from, and must never pass its byte limit except by one whole first message when allowed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/record/legacy_conversion.h"
#include "core/record/legacy_records.h"

using namespace kfk::record;

namespace {

std::vector<Record> records_of(std::span<const uint8_t> buffer, const DecodeOptions& options) {
  std::vector<Record> out;
  BatchIterator it(buffer);
  while (auto entry = it.next()) {
    DecodedRecords d;
    if (!decode_any_records(*entry, d, options).ok()) abort();
    for (const auto& r : d.records) out.push_back(to_record(r));
  }
  if (!it.error().ok()) abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  DecodeOptions options;
  options.max_uncompressed_bytes = size_t{1} << 20;

  UpConversion up = up_convert_message_set(input, options);
  if (up.error.ok()) {
    if (!BatchView(up.batch).validate().ok()) abort();
    const auto v2 = records_of(up.batch, options);
    // Legacy entries are larger than v2 records: read the converted wrappers back uncapped.
    DecodeOptions readback;
    readback.max_uncompressed_bytes = size_t{64} << 20;
    for (int8_t magic : {kMagicV0, kMagicV1}) {
      DownConversionOptions down;
      down.magic = magic;
      down.max_bytes = size_t{8} << 20;
      down.max_uncompressed_bytes = options.max_uncompressed_bytes;
      DownConversion d = down_convert_batches(up.batch, down);
      if (!d.error.ok()) abort();
      const auto legacy = records_of(d.message_set, readback);
      if (legacy.size() != v2.size()) abort();
      for (size_t i = 0; i < v2.size(); ++i)
        if (legacy[i].key != v2[i].key || legacy[i].value != v2[i].value ||
            legacy[i].offset != v2[i].offset)
          abort();
    }
  }

  DownConversionOptions down;
  down.magic = size % 2 == 0 ? kMagicV0 : kMagicV1;
  down.max_bytes = size;
  down.max_uncompressed_bytes = options.max_uncompressed_bytes;
  DownConversion d = down_convert_batches(input, down);
  if (d.error.ok() && d.message_set.size() > down.max_bytes) abort();
  return 0;
}

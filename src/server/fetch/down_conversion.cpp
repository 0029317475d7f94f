#include "server/fetch/down_conversion.h"

#include <spdlog/spdlog.h>

#include "core/record/legacy_conversion.h"

namespace kfk::server {

int8_t fetch_message_format(int16_t version) {
  if (version <= 1) return record::kMagicV0;
  if (version <= 3) return record::kMagicV1;
  return record::kMagicV2;
}

DownConvertedRecords down_convert_for_fetch(int16_t version,
                                            const std::vector<storage::FileSlice>& slices,
                                            int64_t fetch_offset, size_t max_bytes,
                                            bool allow_oversized_first) {
  DownConvertedRecords out;
  protocol::Bytes batches;
  for (const auto& s : slices) {
    if (auto e = s.read_into(batches); !e.ok()) {
      spdlog::error("fetch: reading records to convert failed: {}", e.message());
      if (batches.empty()) out.error = e.kafka_error_code();
      break;
    }
  }
  if (out.error != protocol::ErrorCode::none) return out;
  record::DownConversionOptions options;
  options.magic = fetch_message_format(version);
  options.first_offset = fetch_offset;
  options.max_bytes = max_bytes;
  options.allow_oversized_first = allow_oversized_first;
  record::DownConversion converted = record::down_convert_batches(batches, options);
  if (!converted.error.ok()) {
    out.error = converted.error.kafka_error_code();
    return out;
  }
  out.records = std::move(converted.message_set);
  return out;
}

}  // namespace kfk::server

// Fetch v0-3: old clients read message format v0 (Fetch v0-1) or v1 (Fetch v2-3) only, so
// the v2 batches a read returned are converted in memory (record/legacy_conversion.h)
// instead of being sent from the files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/protocol/errors.h"
#include "core/protocol/types.h"
#include "server/storage/segment.h"

namespace kfk::server {

struct DownConvertedRecords {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  protocol::Bytes records;
};

// The message format a fetch version reads: 0 for v0-1, 1 for v2-3, 2 after.
int8_t fetch_message_format(int16_t version);

// The records of `slices` from fetch_offset on, in the format of `version`, at most
// max_bytes of them; a first message larger than that is kept whole when
// allow_oversized_first (Fetch v3's first partition), else cut (v0-2 had a hard limit).
DownConvertedRecords down_convert_for_fetch(int16_t version,
                                            const std::vector<storage::FileSlice>& slices,
                                            int64_t fetch_offset, size_t max_bytes,
                                            bool allow_oversized_first);

}  // namespace kfk::server

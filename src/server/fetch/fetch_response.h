// Encoding a Fetch response whose records stay in the segment files.
//
// The records of a partition are the file slices a read returned. With a splice sink (a
// plaintext connection), the response is encoded without them and each records field
// becomes a ResponseSplice: the connection sends the file bytes with sendfile(2) where the
// field's bytes go. The framing is exactly what the generated encoder writes for the same
// response with the bytes in memory. Without a sink the bytes are read into the response.
//
// How the splice points are found: the response is encoded twice, once with every spliced
// records field empty and once with each holding one byte. The two encodings are equal up
// to the first field's length prefix, which is where they first differ (the last byte of
// an int32 length, or a compact length's one byte); past it they are equal again, shifted by
// one byte per field. The first encoding, with each empty length prefix replaced by the
// real length, is the framing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/protocol/messages/fetch.h"
#include "server/network/connection.h"
#include "server/storage/segment.h"

namespace kfk::protocol {
class Writer;
}

namespace kfk::server {

// The records of responses[topic].partitions[partition], in file slices.
struct PartitionFileRecords {
  size_t topic = 0;
  size_t partition = 0;
  std::vector<storage::FileSlice> slices;

  uint64_t length() const;
};

// A Fetch response and the file records of some of its partitions (in encoding order:
// by topic, then partition). Those partitions' `records` must be present and empty.
struct FetchResponseWithFiles {
  protocol::FetchResponse body;
  std::vector<PartitionFileRecords> files;
  // Where splices go; null: copy the file bytes into the response.
  std::vector<ResponseSplice>* splices = nullptr;

  // The interface the dispatcher encodes a response through.
  size_t encoded_size(int16_t version) const;
  void encode(protocol::Writer& w, int16_t version) const;
};

}  // namespace kfk::server

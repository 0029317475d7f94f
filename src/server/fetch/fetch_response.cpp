#include "server/fetch/fetch_response.h"

#include <spdlog/spdlog.h>

#include "core/protocol/writer.h"
#include "server/storage/file_io.h"

namespace kfk::server {

namespace {

constexpr uint8_t kMarker = 0xA5;

// The slices' bytes, as many as the files still have (a truncated file gives fewer).
protocol::Bytes read_slices(const PartitionFileRecords& f) {
  protocol::Bytes out;
  out.reserve(f.length());
  for (const auto& s : f.slices) {
    const size_t old = out.size();
    out.resize(old + s.length);
    auto n = storage::pread_some(s.file->fd(), std::span(out.data() + old, s.length), s.position,
                                 s.file->path());
    const size_t got = n ? *n : 0;
    out.resize(old + got);
    if (got < s.length) break;
  }
  return out;
}

protocol::FetchResponse::PartitionData& partition_of(protocol::FetchResponse& r,
                                                     const PartitionFileRecords& f) {
  return r.responses[f.topic].partitions[f.partition];
}

bool valid_positions(const protocol::FetchResponse& r,
                     const std::vector<PartitionFileRecords>& fs) {
  for (const auto& f : fs) {
    if (f.topic >= r.responses.size() || f.partition >= r.responses[f.topic].partitions.size())
      return false;
    const auto& records = r.responses[f.topic].partitions[f.partition].records;
    if (!records || !records->empty()) return false;
  }
  return true;
}

void encode_copied(const FetchResponseWithFiles& r, protocol::Writer& w, int16_t version) {
  protocol::FetchResponse copy = r.body;
  for (const auto& f : r.files) partition_of(copy, f).records = read_slices(f);
  copy.encode(w, version);
}

void write_length(protocol::Writer& w, uint64_t length, bool flexible) {
  if (flexible)
    w.write_uvarint(length + 1);
  else
    w.write_int32(static_cast<int32_t>(length));
}

}  // namespace

uint64_t PartitionFileRecords::length() const {
  uint64_t n = 0;
  for (const auto& s : slices) n += s.length;
  return n;
}

size_t FetchResponseWithFiles::encoded_size(int16_t version) const {
  return body.encoded_size(version);  // the framing; the file bytes are not in memory
}

void FetchResponseWithFiles::encode(protocol::Writer& w, int16_t version) const {
  if (files.empty()) {
    body.encode(w, version);
    return;
  }
  if (splices == nullptr || !valid_positions(body, files)) {
    encode_copied(*this, w, version);
    return;
  }
  const bool flexible = version >= protocol::FetchResponse::first_flexible_version;
  protocol::Writer a;
  body.encode(a, version);
  protocol::FetchResponse marked = body;
  for (const auto& f : files) partition_of(marked, f).records = protocol::Bytes{kMarker};
  protocol::Writer b;
  marked.encode(b, version);
  const auto& A = a.bytes();
  const auto& B = b.bytes();
  const size_t prefix_len = flexible ? 1 : 4;
  if (B.size() != A.size() + files.size()) {
    spdlog::error("fetch response splice: unexpected encoding sizes; copying the records");
    encode_copied(*this, w, version);
    return;
  }
  // Find each field's length prefix in A (see the header), then write A with real lengths.
  std::vector<size_t> prefix_at;
  prefix_at.reserve(files.size());
  size_t i = 0;
  for (size_t k = 0; k < files.size(); ++k) {
    // B runs k bytes ahead of A past the k fields already found.
    while (i < A.size() && A[i] == B[i + k]) ++i;
    const size_t start = flexible ? i : i - 3;
    const bool ok = i < A.size() && i >= prefix_len - 1 &&
                    (flexible ? A[i] == 1 && B[i + k] == 2 && B[i + k + 1] == kMarker
                              : A[i] == 0 && B[i + k] == 1 && B[i + k + 1] == kMarker &&
                                    A[start] == 0 && A[start + 1] == 0 && A[start + 2] == 0);
    if (!ok) {
      spdlog::error("fetch response splice: records field {} not found; copying the records", k);
      encode_copied(*this, w, version);
      return;
    }
    prefix_at.push_back(start);
    i = start + prefix_len;
  }
  size_t pos = 0;
  for (size_t k = 0; k < files.size(); ++k) {
    w.write_raw(std::span(A.data() + pos, prefix_at[k] - pos));
    const uint64_t length = files[k].length();
    write_length(w, length, flexible);
    ResponseSplice splice;
    splice.at = w.size();
    splice.length = length;
    for (const auto& s : files[k].slices)
      splice.regions.push_back(FileRegion{s.file, s.file->fd(), s.position, s.length});
    splices->push_back(std::move(splice));
    pos = prefix_at[k] + prefix_len;
  }
  w.write_raw(std::span(A.data() + pos, A.size() - pos));
}

}  // namespace kfk::server

#include "server/handlers/fetch.h"

#include <algorithm>
#include <array>
#include <asio/this_coro.hpp>
#include <chrono>

#include "core/protocol/errors.h"
#include "core/record/record_batch.h"
#include "server/broker.h"
#include "server/delayed/delayed_operations.h"
#include "server/fetch/down_conversion.h"
#include "server/fetch/fetch_manager.h"
#include "server/partition/partition.h"
#include "server/storage/file_io.h"
#include "server/storage/partition_log.h"

namespace kfk::server {

namespace {

using protocol::ErrorCode;
using Clock = std::chrono::steady_clock;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

struct PartitionRead {
  ErrorCode error = ErrorCode::none;
  const TopicState* topic = nullptr;  // resolved, or null
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::vector<storage::FileSlice> slices;
  uint64_t bytes = 0;
};

struct ReadPass {
  // Holds the image the partitions' topics point into.
  std::shared_ptr<const PartitionTable> table;
  std::vector<PartitionRead> partitions;
  uint64_t bytes = 0;
  bool any_error = false;
};

ReadPass read_all(Broker& broker, const FetchContext& fctx, int64_t max_bytes) {
  ReadPass pass;
  pass.table = broker.partitions();
  const PartitionTable& partitions = *pass.table;
  uint64_t remaining = static_cast<uint64_t>(std::max<int64_t>(max_bytes, 0));
  // As Kafka does, the first partition with records gets at least one whole batch even when
  // it exceeds the limits, so that a consumer always makes progress.
  bool min_one = true;
  pass.partitions.resize(fctx.partitions.size());
  for (size_t i = 0; i < fctx.partitions.size(); ++i) {
    const FetchPartitionState& p = fctx.partitions[i];
    PartitionRead& out = pass.partitions[i];
    const PartitionLookup found =
        fctx.uses_topic_ids
            ? partitions.leader(p.key.topic_id, p.key.partition, p.current_leader_epoch)
            : partitions.leader(p.key.topic, p.key.partition, p.current_leader_epoch);
    out.topic = found.topic;
    if (!found.ok()) {
      out.error = found.error;
    } else {
      const uint64_t limit =
          std::min<uint64_t>(remaining, static_cast<uint64_t>(std::max<int32_t>(p.max_bytes, 0)));
      storage::ReadResult r =
          found.partition->log().read(p.fetch_offset, static_cast<size_t>(limit), min_one);
      out.error = r.error;
      if (r.ok()) {
        out.high_watermark = r.high_watermark;
        out.log_start_offset = r.log_start_offset;
        out.bytes = r.size_bytes();
        out.slices = std::move(r.slices);
        if (out.bytes > 0) min_one = false;
        remaining -= std::min(remaining, out.bytes);
        pass.bytes += out.bytes;
      }
    }
    if (out.error != ErrorCode::none) pass.any_error = true;
  }
  return pass;
}

// Kafka refuses zstd batches to fetchers older than v10 (which predate KIP-110) rather than
// send what they cannot decompress: the partition gets UNSUPPORTED_COMPRESSION_TYPE when its
// data holds one. Only the batch headers are read.
bool holds_zstd(const std::vector<storage::FileSlice>& slices) {
  std::array<uint8_t, record::batch_pos::attributes + 2> head{};
  for (const auto& slice : slices) {
    uint64_t pos = slice.position;
    const uint64_t end = slice.position + slice.length;
    while (pos + head.size() <= end) {
      if (!storage::pread_exact(slice.file->fd(), head, pos, slice.file->path()).ok()) break;
      const record::BatchView batch(head);
      if (batch.magic() == record::kMagicV2 && batch.compression() == record::Compression::zstd)
        return true;
      if (batch.batch_length() <= 0) break;
      pos += record::kLogOverhead + static_cast<uint32_t>(batch.batch_length());
    }
  }
  return false;
}

void refuse_zstd(ReadPass& pass) {
  for (PartitionRead& r : pass.partitions) {
    if (r.error != ErrorCode::none || r.bytes == 0 || !holds_zstd(r.slices)) continue;
    pass.bytes -= r.bytes;
    r = PartitionRead{ErrorCode::unsupported_compression_type, r.topic};
    pass.any_error = true;
  }
}

// Consecutive partitions of one topic share a topic entry, as Kafka writes them.
protocol::FetchResponse::FetchableTopicResponse& topic_entry(protocol::FetchResponse& resp,
                                                             const FetchPartitionKey& key,
                                                             bool by_id, const TopicState* topic) {
  if (!resp.responses.empty()) {
    auto& last = resp.responses.back();
    if (by_id ? last.topic_id == key.topic_id : last.topic == key.topic) return last;
  }
  auto& t = resp.responses.emplace_back();
  if (by_id) {
    t.topic_id = key.topic_id;
    if (topic) t.topic = topic->name;
  } else {
    t.topic = key.topic;
  }
  return t;
}

void fill_partition(protocol::FetchResponse::PartitionData& out, const FetchPartitionState& p,
                    const PartitionRead& r, bool read_committed) {
  out.partition_index = p.key.partition;
  out.error_code = static_cast<int16_t>(r.error);
  out.records = protocol::Bytes{};
  out.preferred_read_replica = -1;
  if (r.error != ErrorCode::none) {
    out.high_watermark = -1;
    out.last_stable_offset = -1;
    out.log_start_offset = -1;
    out.aborted_transactions.reset();
    return;
  }
  out.high_watermark = r.high_watermark;
  out.last_stable_offset = r.high_watermark;  // no transactions: nothing is pending
  out.log_start_offset = r.log_start_offset;
  if (read_committed)
    out.aborted_transactions.emplace();
  else
    out.aborted_transactions.reset();
}

}  // namespace

asio::awaitable<void> FetchHandler::handle(RequestContext& ctx, const Request& req, Response& out) {
  const int16_t version = ctx.version();
  Broker& broker = ctx.broker;
  FetchManager& manager = broker.fetch_manager();
  out.splices = ctx.connection.sends_files ? &ctx.splices : nullptr;
  protocol::FetchResponse& resp = out.body;
  resp.throttle_time_ms = 0;
  const bool by_id = version >= 13;

  FetchSessionRequest sreq;
  sreq.session_id = req.session_id;
  sreq.session_epoch = req.session_epoch;
  sreq.uses_topic_ids = by_id;
  for (const auto& t : req.topics) {
    for (const auto& p : t.partitions) {
      FetchPartitionState s;
      s.key = by_id ? FetchPartitionKey{t.topic_id, {}, p.partition}
                    : FetchPartitionKey{{}, t.topic, p.partition};
      s.fetch_offset = p.fetch_offset;
      s.max_bytes = p.partition_max_bytes;
      s.current_leader_epoch = p.current_leader_epoch;
      s.fetcher_log_start_offset = p.log_start_offset;
      sreq.partitions.push_back(std::move(s));
    }
  }
  for (const auto& t : req.forgotten_topics_data)
    for (int32_t p : t.partitions)
      sreq.forgotten.push_back(by_id ? FetchPartitionKey{t.topic_id, {}, p}
                                     : FetchPartitionKey{{}, t.topic, p});
  const FetchContext fctx = manager.sessions().new_context(std::move(sreq), steady_ms());
  if (fctx.kind == FetchContextKind::error) {
    resp.error_code = static_cast<int16_t>(fctx.error);
    resp.session_id = kInvalidSessionId;
    co_return;
  }

  const int64_t max_bytes = std::min<int64_t>(req.max_bytes, broker.config().fetch_max_bytes > 0
                                                                 ? broker.config().fetch_max_bytes
                                                                 : int64_t{INT32_MAX});
  ReadPass pass = read_all(broker, fctx, max_bytes);
  const auto enough = [&](const ReadPass& p) {
    return p.any_error || p.bytes >= static_cast<uint64_t>(std::max(req.min_bytes, 0));
  };
  if (req.max_wait_ms > 0 && !fctx.partitions.empty() && !enough(pass)) {
    // Long poll: watch the partitions, then read again until enough has arrived or the wait
    // is over. The read after watching catches an append that came before the watch.
    const auto deadline = Clock::now() + std::chrono::milliseconds(req.max_wait_ms);
    Waiter waiter;
    // Each partition wakes the fetch once its end passes the fetch offset.
    std::vector<PartitionOffset> watched;
    for (size_t i = 0; i < fctx.partitions.size(); ++i) {
      const FetchPartitionState& p = fctx.partitions[i];
      if (pass.partitions[i].topic)
        watched.push_back({pass.partitions[i].topic->name, p.key.partition,
                           p.fetch_offset < INT64_MAX ? p.fetch_offset + 1 : p.fetch_offset});
    }
    auto watch = broker.delayed_operations().watch(waiter, std::move(watched));
    for (;;) {
      pass = read_all(broker, fctx, max_bytes);
      if (enough(pass) || Clock::now() >= deadline) break;
      co_await waiter.wait_until(deadline);
    }
  }

  if (version < 10) refuse_zstd(pass);

  std::vector<FetchPartitionOutcome> outcomes(fctx.partitions.size());
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const PartitionRead& r = pass.partitions[i];
    outcomes[i].error_code = static_cast<int16_t>(r.error);
    outcomes[i].high_watermark = r.error == ErrorCode::none ? r.high_watermark : -1;
    outcomes[i].log_start_offset = r.error == ErrorCode::none ? r.log_start_offset : -1;
    outcomes[i].records_bytes = r.bytes;
  }
  std::vector<size_t> selected;
  switch (fctx.kind) {
    case FetchContextKind::incremental:
      selected = manager.sessions().complete_incremental(fctx, outcomes);
      resp.session_id = fctx.session_id;
      break;
    case FetchContextKind::full:
      resp.session_id = manager.sessions().complete_full(fctx, outcomes, steady_ms());
      [[fallthrough]];
    default:
      selected.resize(fctx.partitions.size());
      for (size_t i = 0; i < selected.size(); ++i) selected[i] = i;
  }
  resp.error_code = 0;
  const bool read_committed = req.isolation_level == 1;
  // Fetch v0-3 get legacy message sets, converted in memory, within the same limits.
  const bool down_convert = fetch_message_format(version) < record::kMagicV2;
  uint64_t converted_room = static_cast<uint64_t>(std::max<int64_t>(max_bytes, 0));
  bool any_converted = false;
  for (size_t i : selected) {
    const FetchPartitionState& p = fctx.partitions[i];
    PartitionRead& r = pass.partitions[i];
    auto& topic = topic_entry(resp, p.key, by_id, r.topic);
    auto& part = topic.partitions.emplace_back();
    fill_partition(part, p, r, read_committed);
    if (r.error == ErrorCode::none && r.bytes > 0 && down_convert) {
      const uint64_t limit = std::min<uint64_t>(
          converted_room, static_cast<uint64_t>(std::max<int32_t>(p.max_bytes, 0)));
      // v3 keeps Kafka's "at least one message" for the first partition with records; v0-2
      // had a hard limit.
      const bool oversized_first = version == 3 && !any_converted;
      DownConvertedRecords converted = down_convert_for_fetch(
          version, r.slices, p.fetch_offset, static_cast<size_t>(limit), oversized_first);
      if (converted.error != ErrorCode::none) {
        part.error_code = static_cast<int16_t>(converted.error);
        part.high_watermark = -1;
        part.log_start_offset = -1;
      }
      converted_room -= std::min<uint64_t>(converted_room, converted.records.size());
      any_converted = any_converted || !converted.records.empty();
      part.records = std::move(converted.records);
    } else if (r.error == ErrorCode::none && r.bytes > 0) {
      out.files.push_back(PartitionFileRecords{resp.responses.size() - 1,
                                               topic.partitions.size() - 1, std::move(r.slices)});
    }
  }
  co_return;
}

}  // namespace kfk::server

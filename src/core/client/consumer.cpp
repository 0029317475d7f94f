#include "core/client/consumer.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "core/client/client.h"
#include "core/client/offset_lookup.h"
#include "core/client/offset_reset.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/fetch.h"

namespace kfk::client {

using protocol::ErrorCode;

namespace {

// The last Fetch version that names topics; later ones use topic ids.
constexpr int16_t kLastFetchVersionWithNames = 12;

std::string name_of(const TopicPartition& tp) {
  return fmt::format("{}-{}", tp.topic, tp.partition);
}

struct FetchFlight {
  net::Connection* conn = nullptr;
  int32_t correlation = 0;
  int16_t version = 0;
};

}  // namespace

std::optional<StartOffset> parse_start_offset(std::string_view text) {
  if (text == "earliest" || text == "beginning" || text == "start") return StartOffset::earliest();
  if (text == "latest" || text == "end") return StartOffset::latest();
  const bool negative = !text.empty() && text.front() == '-';
  const bool positive = !text.empty() && text.front() == '+';
  if (negative || positive) text.remove_prefix(1);
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  if (positive) return StartOffset::after_start(value);
  return negative ? StartOffset::before_end(value) : StartOffset::at(value);
}

std::optional<int64_t> parse_time_point(std::string_view text, int64_t now_ms) {
  if (text.empty()) return std::nullopt;
  if (text == "now") return now_ms;
  if (text.front() == '-' || text.front() == '+') {
    // Relative: a sign, then one or more NUMBER UNIT pairs.
    const int64_t sign = text.front() == '-' ? -1 : 1;
    text.remove_prefix(1);
    if (text.empty()) return std::nullopt;
    int64_t total = 0;
    while (!text.empty()) {
      int64_t n = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || ptr == text.data() || n < 0) return std::nullopt;
      text.remove_prefix(static_cast<size_t>(ptr - text.data()));
      int64_t unit = 0;
      if (text.starts_with("ms")) {
        unit = 1;
        text.remove_prefix(2);
      } else if (!text.empty()) {
        switch (text.front()) {
          case 's':
            unit = 1000;
            break;
          case 'm':
            unit = 60'000;
            break;
          case 'h':
            unit = 3'600'000;
            break;
          case 'd':
            unit = 86'400'000;
            break;
          case 'w':
            unit = 7 * 86'400'000LL;
            break;
          default:
            return std::nullopt;
        }
        text.remove_prefix(1);
      } else {
        return std::nullopt;  // a number without a unit
      }
      if (n > INT64_MAX / unit / 2) return std::nullopt;
      total += n * unit;
    }
    return now_ms + sign * total;
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t ms = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return ms;
  }
  return parse_iso_datetime_ms(text);
}

std::optional<OffsetRange> parse_offset_range(std::string_view text, int64_t now_ms) {
  OffsetRange range;
  auto parse_end = [&](std::string_view end, bool after_time) -> bool {
    if (end.empty()) return true;
    if (end == "end") {
      range.end = EndOffset{EndOffset::Kind::end, 0};
      return true;
    }
    if (end.front() == '@' || after_time) {
      if (end.front() == '@') end.remove_prefix(1);
      const auto t = parse_time_point(end, now_ms);
      if (!t) return false;
      range.end = EndOffset{EndOffset::Kind::time, *t};
      return true;
    }
    int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(end.data(), end.data() + end.size(), n);
    if (ec != std::errc() || ptr != end.data() + end.size() || n < 0) return false;
    range.end = EndOffset{EndOffset::Kind::exact, n};
    return true;
  };
  if (!text.empty() && text.front() == '@') {
    const auto body = text.substr(1);
    if (const auto t = parse_time_point(body, now_ms)) {
      range.start = StartOffset::at_time(*t);
      return range;
    }
    // RFC 3339 times hold ':' too: take the first split where both sides are valid.
    for (size_t colon = body.find(':'); colon != std::string_view::npos;
         colon = body.find(':', colon + 1)) {
      const auto left = body.substr(0, colon);
      range = OffsetRange{};
      if (left.empty()) {
        range.start = StartOffset::earliest();
      } else if (const auto t = parse_time_point(left, now_ms)) {
        range.start = StartOffset::at_time(*t);
      } else {
        continue;
      }
      if (parse_end(body.substr(colon + 1), true)) return range;
    }
    return std::nullopt;
  }
  const auto colon = text.find(':');
  const auto start_text = text.substr(0, colon);
  if (colon != std::string_view::npos && start_text.empty()) {
    range.start = StartOffset::earliest();
  } else if (const auto start = parse_start_offset(start_text)) {
    range.start = *start;
  } else {
    return std::nullopt;
  }
  if (colon != std::string_view::npos && !parse_end(text.substr(colon + 1), false)) {
    return std::nullopt;
  }
  return range;
}

struct Consumer::Impl {
  Impl(Client& c, ConsumerOptions opts) : client(c), options(opts) {}

  Client& client;
  ConsumerOptions options;
  std::vector<PartitionProgress> parts;
  int failures_in_row = 0;

  int32_t leader_of(const TopicPartition& tp) {
    const TopicMetadata& topic = client.topic(tp.topic);
    const PartitionMetadata* p = topic.partition(tp.partition);
    return p != nullptr ? p->leader : -1;
  }

  PartitionProgress* find(const std::string& topic, int32_t partition) {
    for (auto& p : parts) {
      if (p.tp.partition == partition && p.tp.topic == topic) return &p;
    }
    return nullptr;
  }

  std::map<TopicPartition, int64_t> list_offsets(const std::vector<TopicPartition>& tps,
                                                 int64_t timestamp) {
    return client::list_offsets(client, tps, timestamp, options.isolation_level);
  }

  void add(const std::vector<std::pair<TopicPartition, StartOffset>>& wanted) {
    std::vector<TopicPartition> all;
    std::vector<TopicPartition> need_earliest;
    std::map<int64_t, std::vector<TopicPartition>> need_time;
    for (const auto& [tp, start] : wanted) {
      const TopicMetadata& topic = client.topic(tp.topic);
      if (topic.partition(tp.partition) == nullptr) {
        throw ClientError(
            ClientErrorKind::kafka,
            fmt::format("partition {} does not exist: topic '{}' has {} partition{}", tp.partition,
                        tp.topic, topic.partition_count(), topic.partition_count() == 1 ? "" : "s"),
            protocol::to_int(ErrorCode::unknown_topic_or_partition));
      }
      all.push_back(tp);
      if (start.kind != StartOffset::Kind::latest) need_earliest.push_back(tp);
      if (start.kind == StartOffset::Kind::time) need_time[start.value].push_back(tp);
    }
    const auto latest = list_offsets(all, kLatestTimestamp);
    const auto earliest = need_earliest.empty() ? std::map<TopicPartition, int64_t>{}
                                                : list_offsets(need_earliest, kEarliestTimestamp);
    std::map<TopicPartition, int64_t> by_time;
    for (const auto& [time, tps] : need_time) by_time.merge(list_offsets(tps, time));
    std::erase_if(parts, [&](const PartitionProgress& p) {
      return std::any_of(wanted.begin(), wanted.end(),
                         [&](const auto& w) { return w.first == p.tp; });
    });
    for (const auto& [tp, start] : wanted) {
      PartitionProgress p;
      p.tp = tp;
      p.high_watermark = latest.at(tp);
      if (auto it = earliest.find(tp); it != earliest.end()) p.log_start_offset = it->second;
      switch (start.kind) {
        case StartOffset::Kind::earliest:
          p.position = p.log_start_offset;
          break;
        case StartOffset::Kind::latest:
          p.position = p.high_watermark;
          break;
        case StartOffset::Kind::exact:
          p.position = start.value;
          // Outside the log: what a fetch would answer with OFFSET_OUT_OF_RANGE, handled now
          // so that a consumer stopping at the end does not stop before the reset.
          if (p.position > p.high_watermark ||
              (p.log_start_offset >= 0 && p.position < p.log_start_offset)) {
            reset_offset(p);
          }
          break;
        case StartOffset::Kind::from_end:
          p.position = std::max(p.high_watermark - start.value, p.log_start_offset);
          break;
        case StartOffset::Kind::from_start:
          p.position = std::min(p.log_start_offset + start.value, p.high_watermark);
          break;
        case StartOffset::Kind::time: {
          const int64_t found = by_time.count(tp) > 0 ? by_time.at(tp) : -1;
          p.position = found >= 0 ? found : p.high_watermark;
          break;
        }
      }
      spdlog::debug("{}: starting at offset {} (high watermark {})", name_of(tp), p.position,
                    p.high_watermark);
      parts.push_back(std::move(p));
    }
  }

  void reset_offset(PartitionProgress& p) {
    if (options.reset == ConsumerOptions::Reset::none) {
      throw ClientError(
          ClientErrorKind::kafka,
          fmt::format("fetching {} at offset {}: {}", name_of(p.tp), p.position,
                      protocol::describe_error(protocol::to_int(ErrorCode::offset_out_of_range))),
          protocol::to_int(ErrorCode::offset_out_of_range));
    }
    const bool earliest = options.reset == ConsumerOptions::Reset::earliest;
    const auto offsets = list_offsets({p.tp}, earliest ? kEarliestTimestamp : kLatestTimestamp);
    const std::string what =
        fmt::format("{}: offset {} is out of range, moving to the {} offset {}", name_of(p.tp),
                    p.position, earliest ? "earliest" : "latest", offsets.at(p.tp));
    spdlog::info("{}", what);
    if (options.on_offset_reset) options.on_offset_reset(what);
    p.position = offsets.at(p.tp);
  }

  // Decodes a partition's records into `out`, advancing its position.
  void take_records(PartitionProgress& p, const protocol::Bytes& bytes,
                    std::vector<ConsumerRecord>& out) {
    record::BatchIterator it(bytes);
    bool any_batch = false;
    while (auto batch = it.next()) {
      any_batch = true;
      if (batch->magic() != record::kMagicV2) {
        throw ClientError(ClientErrorKind::protocol,
                          fmt::format("{} at offset {}: message format v{} is not supported by "
                                      "this client",
                                      name_of(p.tp), batch->base_offset(), batch->magic()));
      }
      if (batch->next_offset() <= p.position) continue;
      if (batch->is_control()) {
        p.position = batch->next_offset();
        continue;
      }
      record::DecodedRecords decoded;
      record::DecodeOptions decode_options;
      decode_options.verify_crc = options.check_crcs;
      const auto error = record::decode_records(*batch, decoded, decode_options);
      if (!error.ok()) {
        throw ClientError(ClientErrorKind::protocol,
                          fmt::format("corrupt record batch in {} at offset {}: {}", name_of(p.tp),
                                      batch->base_offset(), error.message()));
      }
      for (const auto& r : decoded.records) {
        if (r.offset < p.position) continue;
        record::Record owned = record::to_record(r);
        ConsumerRecord rec;
        rec.topic = p.tp.topic;
        rec.partition = p.tp.partition;
        rec.offset = r.offset;
        rec.timestamp = r.timestamp;
        rec.timestamp_type = batch->timestamp_type();
        rec.key = std::move(owned.key);
        rec.value = std::move(owned.value);
        rec.headers = std::move(owned.headers);
        out.push_back(std::move(rec));
      }
      p.position = batch->next_offset();
    }
    if (!it.error().ok()) {
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("malformed records from {} at offset {}: {}", name_of(p.tp),
                                    p.position, it.error().message()));
    }
    if (!any_batch && it.has_partial_batch()) {
      throw ClientError(ClientErrorKind::protocol,
                        fmt::format("{}: the record batch at offset {} is larger than "
                                    "max.partition.fetch.bytes ({}); raise it with -X "
                                    "max.partition.fetch.bytes=N",
                                    name_of(p.tp), p.position, options.max_partition_fetch_bytes));
    }
  }

  protocol::FetchRequest make_request(const std::vector<PartitionProgress*>& list, int16_t version,
                                      int32_t max_wait_ms) {
    protocol::FetchRequest request;
    request.replica_id = -1;
    request.max_wait_ms = max_wait_ms;
    request.min_bytes = options.fetch_min_bytes;
    request.max_bytes = options.fetch_max_bytes;
    request.isolation_level = options.isolation_level;
    request.session_id = 0;
    request.session_epoch = -1;  // no fetch session
    for (const auto* p : list) {
      auto it = std::find_if(request.topics.begin(), request.topics.end(),
                             [&](const auto& t) { return t.topic == p->tp.topic; });
      if (it == request.topics.end()) {
        it = request.topics.emplace(request.topics.end());
        it->topic = p->tp.topic;
        if (version > kLastFetchVersionWithNames) it->topic_id = client.topic(p->tp.topic).id;
      }
      auto& fp = it->partitions.emplace_back();
      fp.partition = p->tp.partition;
      fp.fetch_offset = p->position;
      fp.partition_max_bytes = options.max_partition_fetch_bytes;
    }
    return request;
  }

  // The version to fetch with: topic ids need metadata v10+; without them stay at v12.
  int16_t fetch_version(net::Connection& conn, const std::vector<PartitionProgress*>& list) {
    int16_t version = conn.require_version(protocol::FetchRequest::api_key);
    if (version > kLastFetchVersionWithNames) {
      for (const auto* p : list) {
        if (client.topic(p->tp.topic).id.is_zero()) version = kLastFetchVersionWithNames;
      }
    }
    return version;
  }

  std::vector<ConsumerRecord> poll(int32_t max_wait_ms) {
    std::vector<ConsumerRecord> out;
    bool trouble = false;
    std::map<int32_t, std::vector<PartitionProgress*>> by_leader;
    for (auto& p : parts) {
      const int32_t leader = leader_of(p.tp);
      if (leader < 0) {
        trouble = true;
        client.invalidate(p.tp.topic);
      } else {
        by_leader[leader].push_back(&p);
      }
    }
    std::vector<std::pair<FetchFlight, std::vector<PartitionProgress*>>> flights;
    for (auto& [leader, list] : by_leader) {
      FetchFlight flight;
      try {
        flight.conn = &client.broker(leader);
        flight.version = fetch_version(*flight.conn, list);
        flight.correlation = net::send_request(
            *flight.conn, make_request(list, flight.version, max_wait_ms), flight.version);
        flights.emplace_back(flight, list);
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::unsupported) throw;
        spdlog::debug("fetch from broker {} failed: {}", leader, e.what());
        if (flight.conn != nullptr) client.drop(*flight.conn);
        trouble = true;
      }
    }
    for (auto& [flight, list] : flights) {
      try {
        const auto response = net::wait_response<protocol::FetchResponse>(
            *flight.conn, flight.correlation, flight.version);
        if (response.error_code != 0) {
          if (!protocol::is_retriable(response.error_code)) {
            throw ClientError(ClientErrorKind::kafka,
                              fmt::format("fetch from {}: {}", flight.conn->address(),
                                          protocol::describe_error(response.error_code)),
                              response.error_code);
          }
          trouble = true;
          continue;
        }
        for (const auto& t : response.responses) {
          std::string topic = t.topic;
          if (flight.version > kLastFetchVersionWithNames) {
            for (const auto* p : list) {
              if (client.topic(p->tp.topic).id == t.topic_id) topic = p->tp.topic;
            }
          }
          for (const auto& pd : t.partitions) {
            PartitionProgress* p = find(topic, pd.partition_index);
            if (p == nullptr) continue;  // not asked for
            if (pd.error_code == protocol::to_int(ErrorCode::offset_out_of_range)) {
              reset_offset(*p);
              continue;
            }
            if (pd.error_code != 0) {
              if (!protocol::is_retriable(pd.error_code)) {
                throw ClientError(ClientErrorKind::kafka,
                                  fmt::format("fetching {}: {}", name_of(p->tp),
                                              protocol::describe_error(pd.error_code)),
                                  pd.error_code);
              }
              spdlog::debug("fetching {}: {}", name_of(p->tp), protocol::error_name(pd.error_code));
              client.invalidate(p->tp.topic);
              trouble = true;
              continue;
            }
            p->high_watermark = pd.high_watermark;
            if (pd.log_start_offset >= 0) p->log_start_offset = pd.log_start_offset;
            if (pd.records && !pd.records->empty()) take_records(*p, *pd.records, out);
          }
        }
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::protocol) throw;
        spdlog::debug("fetch from {} failed: {}", flight.conn->address(), e.what());
        client.drop(*flight.conn);
        trouble = true;
      }
    }
    if (trouble) {
      client.backoff(failures_in_row++);
    } else {
      failures_in_row = 0;
    }
    return out;
  }
};

Consumer::Consumer(Client& client, ConsumerOptions options)
    : impl_(std::make_unique<Impl>(client, options)) {}
Consumer::~Consumer() = default;

void Consumer::assign(const std::vector<std::pair<TopicPartition, StartOffset>>& partitions) {
  impl_->parts.clear();
  impl_->add(partitions);
}

void Consumer::add(const std::vector<std::pair<TopicPartition, StartOffset>>& partitions) {
  impl_->add(partitions);
}

void Consumer::remove(const std::vector<TopicPartition>& partitions) {
  std::erase_if(impl_->parts, [&](const PartitionProgress& p) {
    return std::find(partitions.begin(), partitions.end(), p.tp) != partitions.end();
  });
}

std::vector<ConsumerRecord> Consumer::poll() {
  return impl_->poll(impl_->options.fetch_max_wait_ms);
}

std::vector<ConsumerRecord> Consumer::poll(std::chrono::milliseconds max_wait) {
  const auto ms = std::clamp<int64_t>(max_wait.count(), 0, impl_->options.fetch_max_wait_ms);
  return impl_->poll(static_cast<int32_t>(ms));
}

const std::vector<PartitionProgress>& Consumer::progress() const { return impl_->parts; }

bool Consumer::at_end() const {
  return std::all_of(impl_->parts.begin(), impl_->parts.end(),
                     [](const PartitionProgress& p) { return p.at_end(); });
}

}  // namespace kfk::client

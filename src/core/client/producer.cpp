#include "core/client/producer.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/client/client.h"
#include "core/net/request.h"
#include "core/protocol/errors.h"
#include "core/protocol/messages/init_producer_id.h"
#include "core/protocol/messages/produce.h"
#include "core/util/big_endian.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;
using protocol::ErrorCode;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

record::NullableBytes view(const std::optional<protocol::Bytes>& bytes) {
  if (!bytes) return std::nullopt;
  return std::span<const uint8_t>(*bytes);
}

struct InFlight {
  net::Connection* conn = nullptr;
  int32_t correlation = 0;
  int16_t version = 0;
  std::vector<ReadyBatch> batches;
};

}  // namespace

struct Producer::Impl {
  Impl(Client& c, ProducerOptions opts)
      : client(c),
        options(opts),
        accumulator(AccumulatorOptions{opts.compression, opts.compression_level, opts.batch_size}),
        partitioner(opts.partitioner),
        idempotent(opts.idempotence && opts.acks == -1) {}

  Client& client;
  ProducerOptions options;
  RecordAccumulator accumulator;
  Partitioner partitioner;
  size_t next_id = 0;
  std::map<size_t, DeliveryReport> in_progress;
  std::vector<DeliveryReport> done;
  bool idempotent;
  int64_t producer_id = record::kNoProducerId;
  int16_t producer_epoch = record::kNoProducerEpoch;
  std::map<TopicPartition, int32_t> next_sequence;

  // InitProducerId without a transactional id, retried while the broker is not ready.
  void init_producer_id() {
    protocol::InitProducerIdRequest request;
    request.transactional_id = std::nullopt;  // idempotence only, no transactions
    request.transaction_timeout_ms = options.transaction_timeout_ms;
    const auto deadline = Clock::now() + client.options().api_timeout;
    for (int attempt = 0;; ++attempt) {
      int16_t error = 0;
      std::string detail;
      try {
        auto& conn = client.any_broker();
        const int16_t version = conn.require_version(protocol::InitProducerIdRequest::api_key);
        const auto response = net::call<protocol::InitProducerIdResponse>(conn, request, version);
        if (response.error_code == 0) {
          producer_id = response.producer_id;
          producer_epoch = response.producer_epoch;
          next_sequence.clear();
          spdlog::debug("producer id {} epoch {}", producer_id, producer_epoch);
          return;
        }
        error = response.error_code;
        if (!protocol::is_retriable(error)) {
          throw ClientError(ClientErrorKind::kafka,
                            fmt::format("getting a producer id for idempotence: {}",
                                        protocol::describe_error(error)),
                            error);
        }
      } catch (const net::NetError& e) {
        if (e.kind() == net::NetErrorKind::unsupported || e.kind() == net::NetErrorKind::protocol) {
          throw;
        }
        detail = e.what();
      }
      if (Clock::now() >= deadline) {
        throw ClientError(ClientErrorKind::timeout,
                          fmt::format("getting a producer id for idempotence: {}",
                                      error != 0 ? protocol::describe_error(error) : detail),
                          error);
      }
      client.backoff(attempt);
    }
  }

  // Writes the producer id, epoch and the partition's next sequence into a batch that has
  // not gone out yet.
  void stamp(ReadyBatch& batch) {
    if (!idempotent || batch.producer_id != record::kNoProducerId) return;
    if (producer_id == record::kNoProducerId) init_producer_id();
    int32_t& next = next_sequence[batch.tp];
    batch.producer_id = producer_id;
    batch.base_sequence = next;
    uint8_t* p = batch.bytes.data();
    store_be<int64_t>(p + record::batch_pos::producer_id, producer_id);
    store_be<int16_t>(p + record::batch_pos::producer_epoch, producer_epoch);
    store_be<int32_t>(p + record::batch_pos::base_sequence, next);
    record::MutableBatchView(batch.bytes).update_crc();
    // Sequences wrap from INT32_MAX to 0, as in Kafka.
    const int64_t after = int64_t{next} + static_cast<int64_t>(batch.record_ids.size());
    next = static_cast<int32_t>(after % (int64_t{INT32_MAX} + 1));
  }

  // A stamped batch failed for good: the broker's numbering now has a gap (or is unknown),
  // so later batches start afresh under a new producer id.
  void forget_producer_id(const ReadyBatch& batch) {
    if (!idempotent || batch.producer_id == record::kNoProducerId ||
        batch.producer_id != producer_id) {
      return;
    }
    spdlog::debug("dropping producer id {} after a failed batch", producer_id);
    producer_id = record::kNoProducerId;
    producer_epoch = record::kNoProducerEpoch;
    next_sequence.clear();
  }

  void complete(size_t id, int64_t offset, int16_t error, const std::string& message) {
    auto it = in_progress.find(id);
    if (it == in_progress.end()) return;
    it->second.offset = error == 0 ? offset : -1;
    it->second.error = error;
    it->second.message = message;
    done.push_back(std::move(it->second));
    in_progress.erase(it);
  }

  void fail_batch(const ReadyBatch& batch, int16_t error, const std::string& message) {
    for (size_t id : batch.record_ids) complete(id, -1, error, message);
  }

  size_t send(ProducerRecord rec) {
    const TopicMetadata& topic = client.topic(rec.topic, options.allow_auto_create_topics);
    const int32_t count = topic.partition_count();
    int32_t partition = 0;
    if (rec.partition) {
      if (*rec.partition < 0 || *rec.partition >= count) {
        throw ClientError(ClientErrorKind::invalid_argument,
                          fmt::format("partition {} does not exist: topic '{}' has {} partition{}",
                                      *rec.partition, rec.topic, count, count == 1 ? "" : "s"));
      }
      partition = *rec.partition;
    } else {
      partition = partitioner.partition(rec.topic, view(rec.key), count);
    }
    const int64_t timestamp = rec.timestamp >= 0 ? rec.timestamp : now_ms();
    const size_t id = next_id++;
    in_progress.emplace(id, DeliveryReport{id, rec.topic, partition, -1, 0, {}});

    std::vector<record::HeaderView> headers;
    headers.reserve(rec.headers.size());
    for (const auto& h : rec.headers) headers.push_back(record::HeaderView{h.key, view(h.value)});
    const size_t size = RecordAccumulator::record_size(0, view(rec.key), view(rec.value), headers);
    if (size + record::kBatchHeaderSize > options.max_request_size) {
      complete(id, -1, protocol::to_int(ErrorCode::message_too_large),
               fmt::format("the record takes {} bytes, more than max.request.size ({})",
                           size + record::kBatchHeaderSize, options.max_request_size));
      return id;
    }
    const bool full = accumulator.append(TopicPartition{rec.topic, partition}, id, timestamp,
                                         view(rec.key), view(rec.value), headers);
    if (full && !rec.partition) partitioner.batch_full(rec.topic);
    while (accumulator.has_full_batches()) send_batches(accumulator.drain(false));
    return id;
  }

  std::vector<DeliveryReport> flush() {
    while (!accumulator.empty()) send_batches(accumulator.drain(true));
    std::vector<DeliveryReport> out = std::move(done);
    done.clear();
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  // Groups the batches by leader; batches whose leader is unknown go to `retry`.
  std::map<int32_t, std::vector<ReadyBatch>> route(
      std::vector<ReadyBatch>& batches, std::vector<std::pair<ReadyBatch, int16_t>>& retry) {
    std::map<int32_t, std::vector<ReadyBatch>> by_leader;
    const auto& topics = client.cached_metadata().topics;
    for (auto& batch : batches) {
      int32_t leader = -1;
      if (auto t = topics.find(batch.tp.topic); t != topics.end()) {
        if (const auto* p = t->second.partition(batch.tp.partition)) leader = p->leader;
      }
      if (leader < 0) {
        retry.emplace_back(std::move(batch), protocol::to_int(ErrorCode::leader_not_available));
      } else {
        by_leader[leader].push_back(std::move(batch));
      }
    }
    return by_leader;
  }

  protocol::ProduceRequest make_request(const std::vector<ReadyBatch>& batches) {
    protocol::ProduceRequest request;
    request.acks = options.acks;
    request.timeout_ms = static_cast<int32_t>(client.options().request_timeout.count());
    for (const auto& batch : batches) {
      auto it = std::find_if(request.topic_data.begin(), request.topic_data.end(),
                             [&](const auto& t) { return t.name == batch.tp.topic; });
      if (it == request.topic_data.end()) {
        it = request.topic_data.emplace(request.topic_data.end());
        it->name = batch.tp.topic;
      }
      auto& partition = it->partition_data.emplace_back();
      partition.index = batch.tp.partition;
      partition.records = batch.bytes;
    }
    return request;
  }

  // Applies one broker's answer; failed retriable batches go to `retry`.
  void apply(const protocol::ProduceResponse& response, std::vector<ReadyBatch>& batches,
             std::vector<std::pair<ReadyBatch, int16_t>>& retry) {
    for (auto& batch : batches) {
      const protocol::ProduceResponse::PartitionProduceResponse* found = nullptr;
      for (const auto& t : response.responses) {
        if (t.name != batch.tp.topic) continue;
        for (const auto& p : t.partition_responses) {
          if (p.index == batch.tp.partition) found = &p;
        }
      }
      if (found == nullptr) {
        fail_batch(
            batch, protocol::to_int(ErrorCode::unknown_server_error),
            fmt::format("the broker's answer left out {}-{}", batch.tp.topic, batch.tp.partition));
        forget_producer_id(batch);
        continue;
      }
      if (found->error_code == protocol::to_int(ErrorCode::duplicate_sequence_number)) {
        // Written before, by an earlier attempt: delivered, at offsets no longer known.
        for (size_t id : batch.record_ids) complete(id, -1, 0, {});
      } else if (found->error_code == 0) {
        for (size_t i = 0; i < batch.record_ids.size(); ++i) {
          const int64_t offset =
              found->base_offset >= 0 ? found->base_offset + static_cast<int64_t>(i) : -1;
          complete(batch.record_ids[i], offset, 0, {});
        }
      } else if (protocol::is_retriable(found->error_code)) {
        client.invalidate(batch.tp.topic);
        retry.emplace_back(std::move(batch), found->error_code);
      } else {
        std::string message = found->error_message.value_or("");
        for (const auto& e : found->record_errors) {
          if (!e.batch_index_error_message) continue;
          if (!message.empty()) message += "; ";
          message += fmt::format("record {}: {}", e.batch_index, *e.batch_index_error_message);
        }
        fail_batch(batch, found->error_code, message);
        forget_producer_id(batch);
      }
    }
  }

  void send_batches(std::vector<ReadyBatch> pending) {
    const auto deadline = Clock::now() + options.delivery_timeout;
    for (int attempt = 0; !pending.empty(); ++attempt) {
      for (auto& batch : pending) stamp(batch);
      std::vector<std::pair<ReadyBatch, int16_t>> retry;
      auto by_leader = route(pending, retry);
      std::vector<InFlight> flights;
      for (auto& [leader, batches] : by_leader) {
        InFlight flight;
        try {
          flight.conn = &client.broker(leader);
          flight.version = flight.conn->require_version(protocol::ProduceRequest::api_key);
          flight.correlation = net::send_request(*flight.conn, make_request(batches),
                                                 flight.version, options.acks != 0);
          flight.batches = std::move(batches);
          flights.push_back(std::move(flight));
        } catch (const net::NetError& e) {
          if (e.kind() == net::NetErrorKind::unsupported) throw;
          spdlog::debug("produce to broker {} failed: {}", leader, e.what());
          if (flight.conn != nullptr) client.drop(*flight.conn);
          for (auto& b : batches) {
            retry.emplace_back(std::move(b), protocol::to_int(ErrorCode::network_exception));
          }
        }
      }
      for (auto& flight : flights) {
        try {
          if (options.acks == 0) {
            flight.conn->drain();
            for (const auto& b : flight.batches) {
              for (size_t id : b.record_ids) complete(id, -1, 0, {});
            }
            continue;
          }
          const auto response = net::wait_response<protocol::ProduceResponse>(
              *flight.conn, flight.correlation, flight.version);
          apply(response, flight.batches, retry);
        } catch (const net::NetError& e) {
          if (e.kind() == net::NetErrorKind::protocol) throw;
          spdlog::debug("produce to {} failed: {}", flight.conn->address(), e.what());
          client.drop(*flight.conn);
          for (auto& b : flight.batches) {
            retry.emplace_back(std::move(b), protocol::to_int(e.kind() == net::NetErrorKind::timeout
                                                                  ? ErrorCode::request_timed_out
                                                                  : ErrorCode::network_exception));
          }
        }
      }
      pending.clear();
      for (auto& [batch, error] : retry) {
        ++batch.attempts;
        if (batch.attempts > options.retries || Clock::now() >= deadline) {
          fail_batch(batch, error,
                     fmt::format("gave up after {} attempt{}", batch.attempts,
                                 batch.attempts == 1 ? "" : "s"));
          forget_producer_id(batch);
          continue;
        }
        spdlog::debug("retrying {}-{} after {}", batch.tp.topic, batch.tp.partition,
                      protocol::error_name(error));
        pending.push_back(std::move(batch));
      }
      if (pending.empty()) break;
      client.backoff(attempt);
      refresh(pending);
    }
  }

  // Fresh metadata for the topics of `pending`; batches of topics that are gone fail.
  void refresh(std::vector<ReadyBatch>& pending) {
    std::vector<std::string> topics;
    for (const auto& b : pending) {
      if (std::find(topics.begin(), topics.end(), b.tp.topic) == topics.end()) {
        topics.push_back(b.tp.topic);
      }
    }
    for (const auto& name : topics) {
      client.invalidate(name);
      try {
        client.topic(name);
      } catch (const ClientError& e) {
        if (e.kind() != ClientErrorKind::kafka) throw;
        std::erase_if(pending, [&](const ReadyBatch& b) {
          if (b.tp.topic != name) return false;
          fail_batch(b, e.code(), e.what());
          forget_producer_id(b);
          return true;
        });
      }
    }
  }
};

Producer::Producer(Client& client, ProducerOptions options)
    : impl_(std::make_unique<Impl>(client, options)) {}
Producer::~Producer() = default;

size_t Producer::send(ProducerRecord record) { return impl_->send(std::move(record)); }
std::vector<DeliveryReport> Producer::flush() { return impl_->flush(); }
bool Producer::has_pending() const { return !impl_->accumulator.empty(); }
int64_t Producer::producer_id() const { return impl_->producer_id; }

}  // namespace kfk::client

#include "core/client/consumer_protocol.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "core/protocol/messages/consumer_protocol_assignment.h"
#include "core/protocol/messages/consumer_protocol_subscription.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::client {

namespace {

// Partitions grouped by topic, topics and partitions in order: the wire shape of both messages.
template <class Entry>
std::vector<Entry> group_by_topic(const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::vector<Entry> out;
  for (auto& [topic, list] : by_topic) {
    std::sort(list.begin(), list.end());
    auto& e = out.emplace_back();
    e.topic = topic;
    e.partitions = std::move(list);
  }
  return out;
}

template <class Entry>
std::vector<TopicPartition> flatten(const std::vector<Entry>& entries) {
  std::vector<TopicPartition> out;
  for (const auto& e : entries) {
    for (int32_t p : e.partitions) out.push_back(TopicPartition{e.topic, p});
  }
  return out;
}

template <class Message>
protocol::Bytes encode_versioned(const Message& message, int16_t version) {
  protocol::Writer w(2 + message.encoded_size(version));
  w.write_int16(version);
  message.encode(w, version);
  return w.take();
}

// Reads the version prefix and the message; a version above ours is read as ours, leaving
// the fields we do not know unread.
template <class Message>
std::optional<Message> decode_versioned(std::span<const uint8_t> bytes, std::string* error) {
  protocol::Reader r(bytes);
  const int16_t version = r.read_int16("version");
  if (r.ok() && version < Message::min_version) {
    if (error != nullptr)
      *error = fmt::format("{} version {} is not valid", Message::message_name, version);
    return std::nullopt;
  }
  Message message;
  const int16_t read_as = std::min<int16_t>(version, Message::max_version);
  bool ok = r.ok() && message.decode(r, read_as);
  if (ok && version <= Message::max_version) ok = r.expect_end(Message::message_name);
  if (!ok) {
    if (error != nullptr) {
      *error = fmt::format("malformed {}: {}", Message::message_name, r.error().message());
    }
    return std::nullopt;
  }
  return message;
}

}  // namespace

protocol::Bytes encode_subscription(const Subscription& s, int16_t version) {
  protocol::ConsumerProtocolSubscription m;
  m.topics = s.topics;
  std::sort(m.topics.begin(), m.topics.end());
  m.user_data = s.user_data;
  m.owned_partitions =
      group_by_topic<protocol::ConsumerProtocolSubscription::TopicPartition>(s.owned_partitions);
  m.generation_id = s.generation;
  m.rack_id = s.rack;
  return encode_versioned(m, version);
}

protocol::Bytes encode_assignment(const Assignment& a, int16_t version) {
  protocol::ConsumerProtocolAssignment m;
  m.assigned_partitions =
      group_by_topic<protocol::ConsumerProtocolAssignment::TopicPartition>(a.partitions);
  m.user_data = a.user_data;
  return encode_versioned(m, version);
}

std::optional<Subscription> decode_subscription(std::span<const uint8_t> bytes,
                                                std::string* error) {
  auto m = decode_versioned<protocol::ConsumerProtocolSubscription>(bytes, error);
  if (!m) return std::nullopt;
  Subscription s;
  s.topics = std::move(m->topics);
  s.user_data = std::move(m->user_data);
  s.owned_partitions = flatten(m->owned_partitions);
  s.generation = m->generation_id;
  s.rack = std::move(m->rack_id);
  return s;
}

std::optional<Assignment> decode_assignment(std::span<const uint8_t> bytes, std::string* error) {
  if (bytes.empty()) return Assignment{};
  auto m = decode_versioned<protocol::ConsumerProtocolAssignment>(bytes, error);
  if (!m) return std::nullopt;
  Assignment a;
  a.partitions = flatten(m->assigned_partitions);
  a.user_data = std::move(m->user_data);
  return a;
}

protocol::Bytes sticky_user_data(int32_t generation) {
  protocol::Writer w(4);
  w.write_int32(generation);
  return w.take();
}

std::optional<int32_t> generation_from_sticky_user_data(
    const std::optional<protocol::Bytes>& data) {
  if (!data || data->size() != 4) return std::nullopt;
  protocol::Reader r(*data);
  const int32_t generation = r.read_int32("generation");
  return r.ok() ? std::optional<int32_t>(generation) : std::nullopt;
}

}  // namespace kfk::client

#include "server/group/group_records.h"

#include <algorithm>
#include <climits>

#include "core/protocol/messages/record_group_metadata.h"
#include "core/protocol/messages/record_offset_commit.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::server::group {

namespace {

constexpr int16_t kOffsetCommitKeyVersion = 1;
constexpr int16_t kGroupMetadataKeyVersion = 2;
constexpr int16_t kOffsetCommitValueVersion = 3;
constexpr int16_t kOffsetCommitValueWithExpiry = 1;
// v3 adds the members' group.instance.id; without static members v2 says the same and is
// understood by older readers of the topic (Burrow 1.2 reads up to v2).
constexpr int16_t kGroupMetadataValueVersion = 3;
constexpr int16_t kGroupMetadataValueWithoutStatic = 2;

template <class Message>
protocol::Bytes versioned(const Message& m, int16_t version) {
  protocol::Writer w(2 + m.encoded_size(version));
  w.write_int16(version);
  m.encode(w, version);
  return w.take();
}

// Decodes `bytes` as a versioned Message. Versions newer than ours carry fields we do not
// know at the end (or in tagged fields): read what we know and ignore the rest.
template <class Message>
bool decode_versioned(std::span<const uint8_t> bytes, Message& out, int16_t& version,
                      std::string& error) {
  protocol::Reader r(bytes);
  version = r.read_int16("version");
  if (!r.ok() || version < Message::min_version) {
    error = std::string(Message::message_name) + ": bad version";
    return false;
  }
  const int16_t known = std::min<int16_t>(version, Message::max_version);
  if (!out.decode(r, known) && r.error().kind != protocol::DecodeErrorKind::trailing_bytes) {
    error = std::string(Message::message_name) + ": " + r.error().message();
    return false;
  }
  return true;
}

// Java's String.hashCode over the UTF-16 code units of a UTF-8 string.
int32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  auto add = [&h](uint32_t unit) { h = 31 * h + unit; };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
      cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
           ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      len = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add(0xD800 + (cp >> 10));
      add(0xDC00 + (cp & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

}  // namespace

int32_t partition_for_group(std::string_view group_id, int32_t partitions) {
  const int32_t h = java_string_hash(group_id);
  // Kafka's Utils.abs: the minimum int maps to 0.
  const int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return partitions > 0 ? abs % partitions : 0;
}

protocol::Bytes offset_commit_key(std::string_view group_id, const TopicPartitionKey& tp) {
  protocol::OffsetCommitKey key;
  key.group = std::string(group_id);
  key.topic = tp.topic;
  key.partition = tp.partition;
  return versioned(key, kOffsetCommitKeyVersion);
}

protocol::Bytes offset_commit_value(const CommittedOffset& offset) {
  protocol::OffsetCommitValue value;
  value.offset = offset.offset;
  value.leader_epoch = offset.leader_epoch;
  value.metadata = offset.metadata;
  value.commit_timestamp = offset.commit_timestamp_ms;
  value.expire_timestamp = offset.expire_timestamp_ms;
  // v1 is the only version with an expiry, as Kafka writes it.
  return versioned(value, offset.expire_timestamp_ms >= 0 ? kOffsetCommitValueWithExpiry
                                                          : kOffsetCommitValueVersion);
}

protocol::Bytes group_metadata_key(std::string_view group_id) {
  protocol::GroupMetadataKey key;
  key.group = std::string(group_id);
  return versioned(key, kGroupMetadataKeyVersion);
}

protocol::Bytes group_metadata_value(const Group& group, int64_t now_ms) {
  protocol::GroupMetadataValue value;
  value.protocol_type = group.protocol_type.value_or("");
  value.generation = group.generation_id;
  value.protocol = group.protocol_name;
  value.leader = group.leader_id;
  value.current_state_timestamp = group.state_timestamp_ms >= 0 ? group.state_timestamp_ms : now_ms;
  for (const auto& [id, m] : group.members) {
    protocol::GroupMetadataValue::MemberMetadata mm;
    mm.member_id = m.member_id;
    mm.group_instance_id = m.group_instance_id;
    mm.client_id = m.client_id;
    mm.client_host = m.client_host;
    mm.rebalance_timeout = m.rebalance_timeout_ms;
    mm.session_timeout = m.session_timeout_ms;
    if (group.protocol_name) {
      if (const auto* metadata = m.metadata_for(*group.protocol_name)) mm.subscription = *metadata;
    }
    mm.assignment = m.assignment;
    value.members.push_back(std::move(mm));
  }
  const bool any_static =
      std::any_of(group.members.begin(), group.members.end(),
                  [](const auto& m) { return m.second.group_instance_id.has_value(); });
  return versioned(value,
                   any_static ? kGroupMetadataValueVersion : kGroupMetadataValueWithoutStatic);
}

std::optional<StoredRecord> parse_stored_record(std::optional<std::span<const uint8_t>> key,
                                                std::optional<std::span<const uint8_t>> value,
                                                std::string& error) {
  if (!key || key->size() < 2) {
    error = "record without a versioned key";
    return std::nullopt;
  }
  protocol::Reader peek(*key);
  const int16_t key_version = peek.read_int16("key version");
  StoredRecord out;
  int16_t version = 0;
  if (key_version == 0 || key_version == 1) {
    protocol::OffsetCommitKey k;
    if (!decode_versioned(*key, k, version, error)) return std::nullopt;
    out.kind = StoredRecord::Kind::offset_commit;
    out.group_id = std::move(k.group);
    out.partition = TopicPartitionKey{std::move(k.topic), k.partition};
    if (value) {
      protocol::OffsetCommitValue v;
      if (!decode_versioned(*value, v, version, error)) return std::nullopt;
      CommittedOffset c;
      c.offset = v.offset;
      c.leader_epoch = v.leader_epoch;
      c.metadata = std::move(v.metadata);
      c.commit_timestamp_ms = v.commit_timestamp;
      c.expire_timestamp_ms = v.expire_timestamp;
      out.offset = std::move(c);
    }
    return out;
  }
  if (key_version == 2) {
    protocol::GroupMetadataKey k;
    if (!decode_versioned(*key, k, version, error)) return std::nullopt;
    out.kind = StoredRecord::Kind::group_metadata;
    out.group_id = std::move(k.group);
    if (!value) {
      out.group_tombstone = true;
      return out;
    }
    protocol::GroupMetadataValue v;
    if (!decode_versioned(*value, v, version, error)) return std::nullopt;
    Group& g = out.group;
    g.group_id = out.group_id;
    g.protocol_type = v.protocol_type.empty() ? std::nullopt : std::optional(v.protocol_type);
    g.generation_id = v.generation;
    g.protocol_name = v.protocol;
    g.leader_id = v.leader;
    g.state_timestamp_ms = v.current_state_timestamp;
    for (auto& mm : v.members) {
      Member m;
      m.member_id = mm.member_id;
      m.group_instance_id = mm.group_instance_id;
      m.client_id = std::move(mm.client_id);
      m.client_host = std::move(mm.client_host);
      m.rebalance_timeout_ms =
          mm.rebalance_timeout >= 0 ? mm.rebalance_timeout : mm.session_timeout;
      m.session_timeout_ms = mm.session_timeout;
      m.protocol_type = g.protocol_type.value_or("");
      if (g.protocol_name) m.protocols.emplace_back(*g.protocol_name, std::move(mm.subscription));
      m.assignment = std::move(mm.assignment);
      if (m.group_instance_id) g.static_members[*m.group_instance_id] = m.member_id;
      g.members.emplace(mm.member_id, std::move(m));
    }
    g.state = g.members.empty() ? GroupState::empty : GroupState::stable;
    return out;
  }
  error = "unknown key version " + std::to_string(key_version);
  return std::nullopt;
}

}  // namespace kfk::server::group

// The "consumer" embedded protocol of classic groups: what a member tells the group in
// JoinGroup (its Subscription) and what the leader hands each member back through SyncGroup
// (its Assignment). Both travel as bytes inside the group messages, each as an int16 version
// followed by ConsumerProtocolSubscription / ConsumerProtocolAssignment at that version, as
// the Java client encodes them. A newer version than we know is read as the newest we know
// (later versions only append fields), as the Java client does.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/client/topic_partition.h"
#include "core/protocol/types.h"

namespace kfk::client {

inline constexpr std::string_view kConsumerProtocolType = "consumer";
inline constexpr int16_t kConsumerProtocolVersion = 3;  // the newest we write and read

struct Subscription {
  std::vector<std::string> topics;
  std::optional<protocol::Bytes> user_data;
  std::vector<TopicPartition> owned_partitions;  // v1+: what the member holds (cooperative)
  int32_t generation = -1;                       // v2+: the generation it holds them from
  std::optional<std::string> rack;               // v3+
  bool operator==(const Subscription&) const = default;
};

struct Assignment {
  std::vector<TopicPartition> partitions;
  std::optional<protocol::Bytes> user_data;
  bool operator==(const Assignment&) const = default;
};

protocol::Bytes encode_subscription(const Subscription& subscription,
                                    int16_t version = kConsumerProtocolVersion);
protocol::Bytes encode_assignment(const Assignment& assignment,
                                  int16_t version = kConsumerProtocolVersion);

// nullopt, with `error` saying why, when the bytes are not a subscription/assignment. Empty
// bytes decode to an empty assignment (a member the leader gave nothing may get no bytes).
std::optional<Subscription> decode_subscription(std::span<const uint8_t> bytes,
                                                std::string* error = nullptr);
std::optional<Assignment> decode_assignment(std::span<const uint8_t> bytes,
                                            std::string* error = nullptr);

// The cooperative-sticky assignor's user data: the member's generation as one int32, for
// leaders that read subscriptions older than v2 (the Java client sends it too).
protocol::Bytes sticky_user_data(int32_t generation);
std::optional<int32_t> generation_from_sticky_user_data(const std::optional<protocol::Bytes>& data);

}  // namespace kfk::client

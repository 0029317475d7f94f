#include "server/group/group.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "core/protocol/messages/consumer_protocol_subscription.h"
#include "core/protocol/reader.h"

namespace kfk::server::group {

namespace {

constexpr std::array<std::pair<GroupState, std::string_view>, 5> kStateNames{{
    {GroupState::empty, "Empty"},
    {GroupState::preparing_rebalance, "PreparingRebalance"},
    {GroupState::completing_rebalance, "CompletingRebalance"},
    {GroupState::stable, "Stable"},
    {GroupState::dead, "Dead"},
}};

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view state_name(GroupState state) {
  for (const auto& [s, name] : kStateNames)
    if (s == state) return name;
  return "Unknown";
}

std::optional<GroupState> parse_state(std::string_view name) {
  for (const auto& [s, n] : kStateNames)
    if (equals_ignore_case(n, name)) return s;
  // Kafka's older name for CompletingRebalance.
  if (equals_ignore_case(name, "AwaitingSync")) return GroupState::completing_rebalance;
  return std::nullopt;
}

const protocol::Bytes* Member::metadata_for(std::string_view protocol) const {
  for (const auto& [name, metadata] : protocols)
    if (name == protocol) return &metadata;
  return nullptr;
}

bool Group::all_members_joined() const {
  if (!pending_members.empty()) return false;
  return std::all_of(members.begin(), members.end(),
                     [](const auto& m) { return static_cast<bool>(m.second.awaiting_join); });
}

int32_t Group::max_rebalance_timeout_ms() const {
  int32_t most = 0;
  for (const auto& [id, m] : members) most = std::max(most, m.rebalance_timeout_ms);
  return most;
}

std::optional<std::string> Group::select_protocol() const {
  if (members.empty()) return std::nullopt;
  // Candidates: the protocols every member supports.
  std::vector<std::string> candidates;
  for (const auto& protocol : members.begin()->second.protocols) {
    const std::string& name = protocol.first;
    bool everyone = std::all_of(members.begin(), members.end(), [&](const auto& m) {
      return m.second.metadata_for(name) != nullptr;
    });
    if (everyone) candidates.push_back(name);
  }
  if (candidates.empty()) return std::nullopt;
  // Each member votes for its most preferred candidate; ties go to the first candidate.
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members) {
    for (const auto& [name, metadata] : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), name) != candidates.end()) {
        ++votes[name];
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (const auto& c : candidates)
    if (votes[c] > votes[best]) best = c;
  return best;
}

bool Group::supports_protocols(
    std::string_view type,
    const std::vector<std::pair<std::string, protocol::Bytes>>& protocols) const {
  if (protocols.empty() || type.empty()) return false;
  if (members.empty()) return true;
  if (protocol_type && *protocol_type != type) return false;
  // Some protocol of the request must be supported by every current member.
  return std::any_of(protocols.begin(), protocols.end(), [&](const auto& p) {
    return std::all_of(members.begin(), members.end(),
                       [&](const auto& m) { return m.second.metadata_for(p.first) != nullptr; });
  });
}

std::optional<std::set<std::string>> consumer_subscription_topics(const protocol::Bytes& metadata) {
  protocol::Reader r(metadata);
  int16_t version = r.read_int16("version");
  if (!r.ok() || version < 0) return std::nullopt;
  protocol::ConsumerProtocolSubscription sub;
  // A newer version only adds fields at the end: read what this version knows.
  const int16_t known =
      std::min<int16_t>(version, protocol::ConsumerProtocolSubscription::max_version);
  if (!sub.decode(r, known) && r.error().kind != protocol::DecodeErrorKind::trailing_bytes)
    return std::nullopt;
  return std::set<std::string>(sub.topics.begin(), sub.topics.end());
}

std::optional<std::vector<std::string>> Group::subscribed_topics() const {
  if (!protocol_type || *protocol_type != "consumer" || !protocol_name) return std::nullopt;
  std::set<std::string> topics;
  for (const auto& [id, m] : members) {
    const protocol::Bytes* metadata = m.metadata_for(*protocol_name);
    if (metadata == nullptr) return std::nullopt;
    auto member_topics = consumer_subscription_topics(*metadata);
    if (!member_topics) return std::nullopt;
    topics.insert(member_topics->begin(), member_topics->end());
  }
  return std::vector<std::string>(topics.begin(), topics.end());
}

}  // namespace kfk::server::group

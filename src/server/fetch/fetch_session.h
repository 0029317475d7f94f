// Fetch sessions (KIP-227): a consumer names its partitions once, in a full fetch, and then
// sends only what changed (incremental fetches); the broker answers an incremental fetch with
// only the partitions that have something new. The cache holds a bounded number of sessions
// and evicts as Kafka does: first a session idle for longer than the eviction time, else
// the smallest session older than it, if it is no larger than the new one.
//
// Session metadata in a request (session id, epoch):
//   (0, -1)   sessionless full fetch (and every fetch before version 7)
//   (id, -1)  closes session `id`, then a sessionless full fetch
//   (any, 0)  a full fetch that closes session `id` (if not 0) and opens a new one
//   (id, n)   incremental fetch n of session `id`; n must be the epoch the session expects
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/protocol/errors.h"
#include "core/protocol/types.h"

namespace kfk::server {

inline constexpr int32_t kInvalidSessionId = 0;
inline constexpr int32_t kInitialEpoch = 0;
inline constexpr int32_t kFinalEpoch = -1;

// A partition as a fetch names it: by topic id from version 13, by name before. The field
// not used is left empty, so equality compares the identity.
struct FetchPartitionKey {
  protocol::Uuid topic_id;
  std::string topic;
  int32_t partition = 0;
  bool operator==(const FetchPartitionKey&) const = default;
};

struct FetchPartitionKeyHash {
  size_t operator()(const FetchPartitionKey& k) const;
};

// One partition of a fetch: what the request asks, and what the session last answered.
struct FetchPartitionState {
  FetchPartitionKey key;
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  int32_t current_leader_epoch = -1;
  int64_t fetcher_log_start_offset = -1;
  // The last response's values, so an incremental response can leave the partition out
  // while nothing about it changed.
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
};

struct FetchSessionRequest {
  int32_t session_id = kInvalidSessionId;
  int32_t session_epoch = kFinalEpoch;
  bool uses_topic_ids = false;  // version 13+
  std::vector<FetchPartitionState> partitions;
  std::vector<FetchPartitionKey> forgotten;
};

enum class FetchContextKind : uint8_t {
  error,        // session-level error: answer it alone
  sessionless,  // a full response, no session
  full,         // a full response; a new session is created from it
  incremental,  // only what changed, within session `session_id`
};

// What a fetch reads (in this order) and how its response is made.
struct FetchContext {
  FetchContextKind kind = FetchContextKind::sessionless;
  protocol::ErrorCode error = protocol::ErrorCode::none;
  int32_t session_id = kInvalidSessionId;
  bool uses_topic_ids = false;
  std::vector<FetchPartitionState> partitions;
};

// What the response says of one partition of a context.
struct FetchPartitionOutcome {
  int16_t error_code = 0;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  uint64_t records_bytes = 0;
};

// A session's state, for tests and logs.
struct FetchSessionInfo {
  int32_t id = 0;
  int32_t epoch = 0;
  bool uses_topic_ids = false;
  std::vector<FetchPartitionState> partitions;  // in the order the next fetch reads them
};

// The epoch after `epoch`: wraps from INT32_MAX to 1.
int32_t next_fetch_epoch(int32_t epoch);

class FetchSessionCache {
 public:
  // Kafka's max.incremental.fetch.session.cache.slots and
  // min.incremental.fetch.session.eviction.ms.
  static constexpr size_t kDefaultMaxSessions = 1000;
  static constexpr int64_t kDefaultEvictionMs = 120'000;

  explicit FetchSessionCache(size_t max_sessions = kDefaultMaxSessions,
                             int64_t eviction_ms = kDefaultEvictionMs,
                             std::function<int32_t()> random_id = {});

  // Resolves the session metadata of a request: FETCH_SESSION_ID_NOT_FOUND,
  // INVALID_FETCH_SESSION_EPOCH or FETCH_SESSION_TOPIC_ID_ERROR as Kafka gives them; for an
  // incremental fetch, applies its partitions and forgotten topics and advances the epoch.
  FetchContext new_context(FetchSessionRequest request, int64_t now_ms);

  // A full context answered: creates its session (unless the cache has no room) and
  // returns the session id for the response, or 0. `outcomes` follow context.partitions.
  int32_t complete_full(const FetchContext& context,
                        std::span<const FetchPartitionOutcome> outcomes, int64_t now_ms);

  // An incremental context answered: which of its partitions go in the response (indexes
  // into context.partitions, in order): those with records, an error, or a high watermark
  // or log start offset other than last sent. Remembers what is sent, and moves the
  // partitions sent to the end of the session's order, so that the others come first next
  // time (a response's byte limit then does not starve them).
  std::vector<size_t> complete_incremental(const FetchContext& context,
                                           std::span<const FetchPartitionOutcome> outcomes);

  size_t size() const;
  std::optional<FetchSessionInfo> describe(int32_t session_id) const;

 private:
  struct Session {
    int32_t id = 0;
    int32_t epoch = 0;
    bool uses_topic_ids = false;
    int64_t created_ms = 0;
    int64_t last_used_ms = 0;
    std::list<FetchPartitionState> order;
    std::unordered_map<FetchPartitionKey, std::list<FetchPartitionState>::iterator,
                       FetchPartitionKeyHash>
        index;
  };

  // Frees a slot for a session of `size` partitions; false when none may be evicted.
  bool make_room_locked(size_t size, int64_t now_ms);
  int32_t new_id_locked();

  mutable std::mutex mu_;
  size_t max_sessions_;
  int64_t eviction_ms_;
  std::function<int32_t()> random_id_;
  std::map<int32_t, std::unique_ptr<Session>> sessions_;
};

}  // namespace kfk::server

#include "server/fetch/fetch_session.h"

#include <algorithm>
#include <random>
#include <string_view>

namespace kfk::server {

using protocol::ErrorCode;

size_t FetchPartitionKeyHash::operator()(const FetchPartitionKey& k) const {
  size_t h = std::hash<std::string_view>{}(k.topic);
  for (uint8_t b : k.topic_id.bytes) h = h * 131 + b;
  return h * 31 + std::hash<int32_t>{}(k.partition);
}

int32_t next_fetch_epoch(int32_t epoch) {
  if (epoch < 0) return kFinalEpoch;
  return epoch == INT32_MAX ? 1 : epoch + 1;
}

FetchSessionCache::FetchSessionCache(size_t max_sessions, int64_t eviction_ms,
                                     std::function<int32_t()> random_id)
    : max_sessions_(max_sessions), eviction_ms_(eviction_ms), random_id_(std::move(random_id)) {
  if (!random_id_) {
    random_id_ = [rng = std::mt19937(std::random_device{}())]() mutable {
      return static_cast<int32_t>(rng() & 0x7fffffffu);
    };
  }
}

FetchContext FetchSessionCache::new_context(FetchSessionRequest request, int64_t now_ms) {
  FetchContext ctx;
  ctx.uses_topic_ids = request.uses_topic_ids;
  const bool full = request.session_epoch == kInitialEpoch || request.session_epoch == kFinalEpoch;
  std::lock_guard lock(mu_);
  if (full) {
    if (request.session_id != kInvalidSessionId) sessions_.erase(request.session_id);
    ctx.kind = request.session_epoch == kFinalEpoch ? FetchContextKind::sessionless
                                                    : FetchContextKind::full;
    // A full fetch names each partition once; a repeated one keeps its last parameters.
    std::unordered_map<FetchPartitionKey, size_t, FetchPartitionKeyHash> seen;
    for (auto& p : request.partitions) {
      auto [it, inserted] = seen.emplace(p.key, ctx.partitions.size());
      if (inserted)
        ctx.partitions.push_back(std::move(p));
      else
        ctx.partitions[it->second] = std::move(p);
    }
    return ctx;
  }
  auto found = sessions_.find(request.session_id);
  if (found == sessions_.end()) {
    ctx.kind = FetchContextKind::error;
    ctx.error = ErrorCode::fetch_session_id_not_found;
    return ctx;
  }
  Session& s = *found->second;
  if (s.epoch != request.session_epoch) {
    ctx.kind = FetchContextKind::error;
    ctx.error = ErrorCode::invalid_fetch_session_epoch;
    return ctx;
  }
  if (s.uses_topic_ids != request.uses_topic_ids) {
    ctx.kind = FetchContextKind::error;
    ctx.error = ErrorCode::fetch_session_topic_id_error;
    return ctx;
  }
  // Added or updated partitions, then the forgotten ones, as Kafka applies them.
  for (auto& p : request.partitions) {
    auto it = s.index.find(p.key);
    if (it == s.index.end()) {
      s.order.push_back(p);
      s.index.emplace(p.key, std::prev(s.order.end()));
    } else {
      FetchPartitionState& cached = *it->second;
      cached.fetch_offset = p.fetch_offset;
      cached.max_bytes = p.max_bytes;
      cached.current_leader_epoch = p.current_leader_epoch;
      cached.fetcher_log_start_offset = p.fetcher_log_start_offset;
    }
  }
  for (const auto& key : request.forgotten) {
    auto it = s.index.find(key);
    if (it == s.index.end()) continue;
    s.order.erase(it->second);
    s.index.erase(it);
  }
  if (s.order.empty()) {
    // Nothing left to fetch: the session ends and this fetch is answered without one.
    sessions_.erase(found);
    ctx.kind = FetchContextKind::sessionless;
    return ctx;
  }
  s.last_used_ms = now_ms;
  s.epoch = next_fetch_epoch(s.epoch);
  ctx.kind = FetchContextKind::incremental;
  ctx.session_id = s.id;
  ctx.partitions.assign(s.order.begin(), s.order.end());
  return ctx;
}

int32_t FetchSessionCache::new_id_locked() {
  for (;;) {
    const int32_t id = random_id_();
    if (id > 0 && !sessions_.contains(id)) return id;
  }
}

bool FetchSessionCache::make_room_locked(size_t size, int64_t now_ms) {
  if (sessions_.size() < max_sessions_) return true;
  if (sessions_.empty()) return false;
  // A session idle for longer than the eviction time goes first (the least recently used).
  auto lru = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
    return a.second->last_used_ms < b.second->last_used_ms;
  });
  if (now_ms - lru->second->last_used_ms > eviction_ms_) {
    sessions_.erase(lru);
    return true;
  }
  // Otherwise the smallest of the sessions older than the eviction time, when it is no
  // larger than the new one.
  auto smallest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (now_ms - it->second->created_ms <= eviction_ms_) continue;
    if (smallest == sessions_.end() || it->second->order.size() < smallest->second->order.size())
      smallest = it;
  }
  if (smallest == sessions_.end() || size < smallest->second->order.size()) return false;
  sessions_.erase(smallest);
  return true;
}

int32_t FetchSessionCache::complete_full(const FetchContext& context,
                                         std::span<const FetchPartitionOutcome> outcomes,
                                         int64_t now_ms) {
  if (context.kind != FetchContextKind::full || context.partitions.empty()) return 0;
  std::lock_guard lock(mu_);
  if (!make_room_locked(context.partitions.size(), now_ms)) return 0;
  auto s = std::make_unique<Session>();
  s->id = new_id_locked();
  s->epoch = next_fetch_epoch(kInitialEpoch);
  s->uses_topic_ids = context.uses_topic_ids;
  s->created_ms = now_ms;
  s->last_used_ms = now_ms;
  for (size_t i = 0; i < context.partitions.size(); ++i) {
    FetchPartitionState p = context.partitions[i];
    if (i < outcomes.size()) {
      p.high_watermark = outcomes[i].high_watermark;
      p.log_start_offset = outcomes[i].log_start_offset;
    }
    s->order.push_back(std::move(p));
    s->index.emplace(s->order.back().key, std::prev(s->order.end()));
  }
  const int32_t id = s->id;
  sessions_.emplace(id, std::move(s));
  return id;
}

std::vector<size_t> FetchSessionCache::complete_incremental(
    const FetchContext& context, std::span<const FetchPartitionOutcome> outcomes) {
  std::vector<size_t> selected;
  std::lock_guard lock(mu_);
  auto found = sessions_.find(context.session_id);
  Session* s = found == sessions_.end() ? nullptr : found->second.get();
  for (size_t i = 0; i < context.partitions.size() && i < outcomes.size(); ++i) {
    const FetchPartitionState& p = context.partitions[i];
    const FetchPartitionOutcome& o = outcomes[i];
    bool must = o.records_bytes > 0 || o.error_code != 0;
    if (s == nullptr) {
      // The session went away meanwhile (a concurrent full fetch): compare with what the
      // context saw.
      must =
          must || o.high_watermark != p.high_watermark || o.log_start_offset != p.log_start_offset;
      if (must) selected.push_back(i);
      continue;
    }
    auto it = s->index.find(p.key);
    if (it == s->index.end()) {
      if (must) selected.push_back(i);
      continue;
    }
    FetchPartitionState& cached = *it->second;
    if (cached.high_watermark != o.high_watermark) {
      cached.high_watermark = o.high_watermark;
      must = true;
    }
    if (cached.log_start_offset != o.log_start_offset) {
      cached.log_start_offset = o.log_start_offset;
      must = true;
    }
    if (!must) continue;
    selected.push_back(i);
    s->order.splice(s->order.end(), s->order, it->second);
  }
  return selected;
}

size_t FetchSessionCache::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::optional<FetchSessionInfo> FetchSessionCache::describe(int32_t session_id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::nullopt;
  FetchSessionInfo info;
  info.id = it->second->id;
  info.epoch = it->second->epoch;
  info.uses_topic_ids = it->second->uses_topic_ids;
  info.partitions.assign(it->second->order.begin(), it->second->order.end());
  return info;
}

}  // namespace kfk::server

// The group coordinator's committed offsets: OffsetCommit, OffsetFetch, OffsetDelete,
// DeleteGroups and the expiry of offsets and empty groups.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/group/group_coordinator.h"
#include "server/group/group_records.h"
#include "server/group/store_errors.h"
#include "server/storage/file_io.h"

namespace kfk::server::group {

using protocol::ErrorCode;

std::vector<ErrorCode> GroupCoordinator::commit_offsets(const CommitRequest& req) {
  Lock lock(mu_);
  std::vector<ErrorCode> errors(req.partitions.size(), ErrorCode::none);
  auto fail_all = [&](ErrorCode e) {
    std::fill(errors.begin(), errors.end(), e);
    return errors;
  };
  if (stopping_) return fail_all(ErrorCode::not_coordinator);
  if (auto e = coordinator_error(req.group_id); e != ErrorCode::none) return fail_all(e);
  Group* g = find(req.group_id);
  if (g == nullptr) {
    // Offsets of a group that does not use the coordinator for membership (admin tools,
    // assign()-only consumers): the group is created empty.
    if (req.generation_id >= 0) return fail_all(ErrorCode::illegal_generation);
    g = &get_or_create(req.group_id);
  } else if (g->state == GroupState::dead) {
    return fail_all(ErrorCode::coordinator_not_available);
  } else if (req.generation_id < 0 && g->state == GroupState::empty) {
    // Admin commit to an empty group.
  } else if (req.generation_id >= 0 || !req.member_id.empty() || req.group_instance_id) {
    if (req.group_instance_id) {
      auto s = g->static_members.find(*req.group_instance_id);
      if (s != g->static_members.end() && s->second != req.member_id)
        return fail_all(ErrorCode::fenced_instance_id);
    }
    auto it = g->members.find(req.member_id);
    if (it == g->members.end()) return fail_all(ErrorCode::unknown_member_id);
    if (req.generation_id != g->generation_id) return fail_all(ErrorCode::illegal_generation);
    if (g->state == GroupState::completing_rebalance)
      return fail_all(ErrorCode::rebalance_in_progress);
    touch(*g, it->second);
  } else {
    // Generation -1 without a member id, while the group has members.
    return fail_all(ErrorCode::unknown_member_id);
  }

  const int64_t now = storage::wall_clock_ms();
  std::vector<StoreRecord> records;
  std::vector<std::pair<TopicPartitionKey, CommittedOffset>> accepted;
  for (size_t i = 0; i < req.partitions.size(); ++i) {
    const auto& p = req.partitions[i];
    if (p.metadata && p.metadata->size() > static_cast<size_t>(config_.offset_metadata_max_bytes)) {
      errors[i] = ErrorCode::offset_metadata_too_large;
      continue;
    }
    CommittedOffset c;
    c.offset = p.offset;
    c.leader_epoch = p.leader_epoch;
    c.metadata = p.metadata.value_or("");
    c.commit_timestamp_ms = p.commit_timestamp_ms != -1 ? p.commit_timestamp_ms : now;
    if (req.retention_time_ms != -1)
      c.expire_timestamp_ms = req.retention_time_ms > INT64_MAX - now
                                  ? INT64_MAX
                                  : std::max<int64_t>(now + req.retention_time_ms, 0);
    records.push_back({offset_commit_key(req.group_id, p.tp), offset_commit_value(c)});
    accepted.emplace_back(p.tp, std::move(c));
  }
  if (records.empty()) return errors;
  auto fail_accepted = [&](ErrorCode err) {
    const ErrorCode e = commit_error_for_store(err);
    for (size_t i = 0; i < errors.size(); ++i)
      if (errors[i] == ErrorCode::none) errors[i] = e;
  };
  // Applied once committed, in log order: a later commit of the same partition is applied
  // after this one, so memory ends with the value the log ends with. Until then the commit is
  // pending (expiry leaves the partition alone). The frame outlives `apply`: await_writes
  // returns after it ran.
  auto pending = [&](Group& group, int32_t delta) {
    for (const auto& [tp, c] : accepted)
      if ((group.pending_offsets[tp] += delta) <= 0) group.pending_offsets.erase(tp);
  };
  pending(*g, 1);
  const ErrorCode err = write(req.group_id, records, [&](ErrorCode e) {
    Group* group = find(req.group_id);
    if (group != nullptr) pending(*group, -1);
    if (e != ErrorCode::none) return fail_accepted(e);
    if (group != nullptr)
      for (auto& [tp, c] : accepted) group->offsets[tp] = std::move(c);
  });
  if (err != ErrorCode::none) {
    pending(*g, -1);
    fail_accepted(err);
    return errors;
  }
  await_writes(lock);
  return errors;
}

ErrorCode GroupCoordinator::fetch_offsets(
    const std::string& group_id,
    const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& topics,
    std::vector<FetchedOffset>& out) {
  Lock lock(mu_);
  if (stopping_) return ErrorCode::not_coordinator;
  if (auto e = coordinator_error(group_id); e != ErrorCode::none) return e;
  const Group* g = find(group_id);
  if (!topics) {
    if (g == nullptr) return ErrorCode::none;
    for (const auto& [tp, c] : g->offsets) {
      FetchedOffset f;
      f.tp = tp;
      f.offset = c.offset;
      f.leader_epoch = c.leader_epoch;
      f.metadata = c.metadata;
      out.push_back(std::move(f));
    }
    return ErrorCode::none;
  }
  for (const auto& [topic, partitions] : *topics) {
    for (int32_t p : partitions) {
      FetchedOffset f;
      f.tp = TopicPartitionKey{topic, p};
      f.metadata = "";
      if (g != nullptr) {
        auto it = g->offsets.find(f.tp);
        if (it != g->offsets.end()) {
          f.offset = it->second.offset;
          f.leader_epoch = it->second.leader_epoch;
          f.metadata = it->second.metadata;
        }
      }
      out.push_back(std::move(f));
    }
  }
  return ErrorCode::none;
}

ErrorCode GroupCoordinator::delete_group(const std::string& group_id) {
  Lock lock(mu_);
  if (stopping_) return ErrorCode::not_coordinator;
  if (auto e = coordinator_error(group_id); e != ErrorCode::none) return e;
  Group* g = find(group_id);
  if (g == nullptr || g->state == GroupState::dead) return ErrorCode::group_id_not_found;
  if (g->state != GroupState::empty) return ErrorCode::non_empty_group;
  std::vector<StoreRecord> records;
  for (const auto& [tp, c] : g->offsets)
    records.push_back({offset_commit_key(group_id, tp), std::nullopt});
  records.push_back({group_metadata_key(group_id), std::nullopt});
  // Dead while the tombstones are written (as Kafka does): nobody joins or commits meanwhile.
  const int64_t empty_since = g->state_timestamp_ms;
  auto revive = [&] {
    if (Group* group = find(group_id); group != nullptr && group->state == GroupState::dead) {
      group->state = GroupState::empty;
      group->state_timestamp_ms = empty_since;
    }
  };
  transition(*g, GroupState::dead);
  ErrorCode result = ErrorCode::none;
  const ErrorCode err = write(group_id, records, [&](ErrorCode e) {
    if (e != ErrorCode::none) {
      result = member_error_for_store(e);
      return revive();
    }
    groups_.erase(group_id);
    spdlog::info("group {}: deleted", group_id);
  });
  if (err != ErrorCode::none) {
    revive();
    return member_error_for_store(err);
  }
  await_writes(lock);
  return result;
}

ErrorCode GroupCoordinator::delete_offsets(const std::string& group_id,
                                           const std::vector<TopicPartitionKey>& partitions,
                                           std::vector<ErrorCode>& errors) {
  Lock lock(mu_);
  errors.assign(partitions.size(), ErrorCode::none);
  if (stopping_) return ErrorCode::not_coordinator;
  if (auto e = coordinator_error(group_id); e != ErrorCode::none) return e;
  Group* g = find(group_id);
  if (g == nullptr || g->state == GroupState::dead) return ErrorCode::group_id_not_found;
  std::optional<std::vector<std::string>> subscribed;
  if (g->state != GroupState::empty) {
    subscribed = g->subscribed_topics();
    // A non-consumer group's topics are unknown to the broker: it must be empty.
    if (!subscribed) return ErrorCode::non_empty_group;
  }
  std::vector<StoreRecord> records;
  std::vector<TopicPartitionKey> removed;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const auto& tp = partitions[i];
    if (subscribed &&
        std::find(subscribed->begin(), subscribed->end(), tp.topic) != subscribed->end()) {
      errors[i] = ErrorCode::group_subscribed_to_topic;
      continue;
    }
    if (!g->offsets.count(tp)) continue;
    records.push_back({offset_commit_key(group_id, tp), std::nullopt});
    removed.push_back(tp);
  }
  if (records.empty()) return ErrorCode::none;
  ErrorCode result = ErrorCode::none;
  const ErrorCode err = write(group_id, records, [&](ErrorCode e) {
    if (e != ErrorCode::none) {
      result = member_error_for_store(e);
      return;
    }
    if (Group* group = find(group_id))
      for (const auto& tp : removed) group->offsets.erase(tp);
  });
  if (err != ErrorCode::none) return member_error_for_store(err);
  await_writes(lock);
  return result;
}

void GroupCoordinator::expire_offsets(int64_t now_ms) {
  Lock lock(mu_);
  for (auto& [id, gp] : groups_) {
    Group& g = *gp;
    if (g.state == GroupState::dead) continue;  // being deleted
    std::optional<std::vector<std::string>> subscribed;
    const bool empty = g.state == GroupState::empty;
    if (!empty) {
      // Only offsets of topics the group no longer reads expire while it has members.
      subscribed = g.subscribed_topics();
      if (!subscribed) continue;
    }
    std::vector<StoreRecord> records;
    std::vector<TopicPartitionKey> expired;
    for (const auto& [tp, c] : g.offsets) {
      if (subscribed &&
          std::find(subscribed->begin(), subscribed->end(), tp.topic) != subscribed->end())
        continue;
      if (g.pending_offsets.count(tp)) continue;  // a newer commit is being written
      bool due;
      if (c.expire_timestamp_ms >= 0) {
        due = now_ms >= c.expire_timestamp_ms;
      } else {
        // A consumer group's offsets age from when it became empty; a group that only
        // stores offsets, from each commit.
        const int64_t base =
            empty && g.protocol_type ? g.state_timestamp_ms : c.commit_timestamp_ms;
        due = now_ms >= base + config_.offsets_retention_ms;
      }
      if (!due) continue;
      records.push_back({offset_commit_key(id, tp), std::nullopt});
      expired.push_back(tp);
    }
    // An empty group left without offsets is removed with the same batch (Dead meanwhile).
    const bool remove = empty && g.members.empty() && g.pending_offsets.empty() &&
                        expired.size() == g.offsets.size();
    if (remove) records.push_back({group_metadata_key(id), std::nullopt});
    if (records.empty()) continue;
    const int64_t empty_since = g.state_timestamp_ms;
    // A copy: clang before 16 cannot capture a structured binding in a lambda.
    const std::string group_id = id;
    auto revive = [this, group_id, empty_since] {
      if (Group* group = find(group_id); group != nullptr && group->state == GroupState::dead) {
        group->state = GroupState::empty;
        group->state_timestamp_ms = empty_since;
      }
    };
    if (remove) transition(g, GroupState::dead);
    const ErrorCode err =
        write(id, records, [this, group_id, expired, remove, revive](ErrorCode e) {
          if (e != ErrorCode::none) {
            if (remove) revive();
            return;
          }
          Group* group = find(group_id);
          if (group == nullptr) return;
          for (const auto& tp : expired) group->offsets.erase(tp);
          if (!expired.empty())
            spdlog::info("group {}: {} committed offsets expired", group_id, expired.size());
          if (remove) {
            groups_.erase(group_id);
            spdlog::info("group {}: removed (empty, no committed offsets)", group_id);
          }
        });
    if (err != ErrorCode::none && remove) revive();
  }
  await_writes(lock);
}

}  // namespace kfk::server::group

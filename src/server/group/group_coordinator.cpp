#include "server/group/group_coordinator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/group/group_records.h"
#include "server/group/store_errors.h"
#include "server/storage/file_io.h"

namespace kfk::server::group {

using protocol::ErrorCode;

namespace {

std::chrono::milliseconds ms(int64_t v) { return std::chrono::milliseconds(v); }

// "<prefix>-<uuid>", as Kafka names members (the client id, or the instance id when static).
std::string new_member_id(const std::string& prefix) {
  const auto u = protocol::Uuid::random().bytes;
  std::string hex;
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", u[i]);
  }
  return prefix + "-" + hex;
}

bool same_protocols(const Member& m, const JoinRequest& req) {
  if (m.protocols.size() != req.protocols.size()) return false;
  for (size_t i = 0; i < m.protocols.size(); ++i)
    if (m.protocols[i] != req.protocols[i]) return false;
  return true;
}

// Whether the subscription a static member comes back with differs from the one it had under
// the group's current protocol. For consumer groups only the topics count: the rest of a
// consumer's subscription (owned partitions, generation, user data, which cooperative-sticky
// clients fill with the state a restart loses) changes at every restart. Other protocol
// types compare the metadata bytes.
bool subscription_changed(const Group& g, const Member& before, const JoinRequest& req) {
  if (!g.protocol_name) return true;
  const protocol::Bytes* old_metadata = before.metadata_for(*g.protocol_name);
  const protocol::Bytes* new_metadata = nullptr;
  for (const auto& [name, metadata] : req.protocols)
    if (name == *g.protocol_name) new_metadata = &metadata;
  if (old_metadata == nullptr || new_metadata == nullptr) return true;
  if (g.protocol_type && *g.protocol_type == "consumer") {
    auto old_topics = consumer_subscription_topics(*old_metadata);
    auto new_topics = consumer_subscription_topics(*new_metadata);
    if (old_topics && new_topics) return *old_topics != *new_topics;
  }
  return *old_metadata != *new_metadata;
}

}  // namespace

GroupCoordinator::GroupCoordinator(CoordinatorConfig config, CoordinatorStore& store)
    : config_(config), store_(store) {}

GroupCoordinator::~GroupCoordinator() { shutdown(); }

// --- lifecycle --------------------------------------------------------------------------

void GroupCoordinator::start() {
  Lock lock(mu_);
  if (timer_.joinable()) return;
  stopping_ = false;
  timer_ = std::thread([this] { timer_loop(); });
}

void GroupCoordinator::shutdown() {
  // Outside the lock: a leadership call in progress takes it.
  store_.watch_leadership(nullptr);
  {
    Lock lock(mu_);
    stopping_ = true;
    for (auto& [id, g] : groups_) {
      answer_waiting_members(*g, ErrorCode::not_coordinator);
    }
  }
  timer_wake_.notify_all();
  loads_changed_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (loader_.joinable()) loader_.join();
}

size_t GroupCoordinator::group_count() const {
  Lock lock(mu_);
  return groups_.size();
}

Group* GroupCoordinator::find(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const Group* GroupCoordinator::find(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::get_or_create(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->group_id = group_id;
    slot->state_timestamp_ms = storage::wall_clock_ms();
  }
  return *slot;
}

void GroupCoordinator::transition(Group& g, GroupState state) {
  if (g.state == state) return;
  spdlog::debug("group {}: {} -> {}", g.group_id, state_name(g.state), state_name(state));
  g.state = state;
  g.state_timestamp_ms = storage::wall_clock_ms();
}

// --- JoinGroup --------------------------------------------------------------------------

void GroupCoordinator::join_group(JoinRequest req, JoinCallback done) {
  Lock lock(mu_);
  join_group_locked(req, done);
  await_writes(lock);
}

void GroupCoordinator::join_group_locked(JoinRequest& req, JoinCallback& done) {
  auto fail = [&](ErrorCode e) {
    JoinResult r;
    r.error = e;
    r.member_id = req.member_id;
    done(std::move(r));
  };
  if (stopping_) return fail(ErrorCode::not_coordinator);
  if (req.group_id.empty()) return fail(ErrorCode::invalid_group_id);
  if (auto e = coordinator_error(req.group_id); e != ErrorCode::none) return fail(e);
  if (req.session_timeout_ms < config_.min_session_timeout_ms ||
      req.session_timeout_ms > config_.max_session_timeout_ms)
    return fail(ErrorCode::invalid_session_timeout);
  if (req.rebalance_timeout_ms < 0) req.rebalance_timeout_ms = req.session_timeout_ms;
  if (req.protocol_type.empty() || req.protocols.empty())
    return fail(ErrorCode::inconsistent_group_protocol);

  Group* existing = find(req.group_id);
  if (existing == nullptr && !req.member_id.empty()) return fail(ErrorCode::unknown_member_id);
  Group& g = existing != nullptr ? *existing : get_or_create(req.group_id);
  if (g.state == GroupState::dead) return fail(ErrorCode::coordinator_not_available);

  if (req.member_id.empty()) {
    if (!g.supports_protocols(req.protocol_type, req.protocols)) {
      if (existing == nullptr) maybe_remove(req.group_id);
      return fail(ErrorCode::inconsistent_group_protocol);
    }
    if (req.group_instance_id && g.static_members.count(*req.group_instance_id))
      return join_static_member(g, req, done);
    return join_new_member(g, req, done);
  }
  join_known_member(g, req, done);
}

void GroupCoordinator::join_new_member(Group& g, JoinRequest& req, JoinCallback& done) {
  if (g.members.size() + g.pending_members.size() >= static_cast<size_t>(config_.max_group_size)) {
    JoinResult r;
    r.error = ErrorCode::group_max_size_reached;
    done(std::move(r));
    return;
  }
  const std::string member_id =
      new_member_id(req.group_instance_id ? *req.group_instance_id : req.client_id);
  // KIP-394: a dynamic member first gets its id, and joins with it; a member that never
  // comes back takes no part in the rebalance. Static members are known by instance id.
  if (req.require_known_member_id && !req.group_instance_id) {
    const auto deadline = Clock::now() + ms(req.session_timeout_ms);
    g.pending_members[member_id] = deadline;
    schedule(g, deadline);
    JoinResult r;
    r.error = ErrorCode::member_id_required;
    r.member_id = member_id;
    done(std::move(r));
    return;
  }
  add_member(g, req, member_id, std::move(done));
  prepare_rebalance(g, "a new member joined");
}

Member& GroupCoordinator::add_member(Group& g, const JoinRequest& req, std::string member_id,
                                     JoinCallback done) {
  Member m;
  m.member_id = member_id;
  m.group_instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.session_timeout_ms = req.session_timeout_ms;
  m.protocol_type = req.protocol_type;
  m.protocols = req.protocols;
  m.awaiting_join = std::move(done);
  m.is_new = true;
  m.new_member_deadline = Clock::now() + ms(config_.new_member_join_timeout_ms);
  schedule(g, m.new_member_deadline);
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  if (!g.leader_id) g.leader_id = member_id;
  if (m.group_instance_id) g.static_members[*m.group_instance_id] = member_id;
  g.new_member_added = true;
  auto [it, inserted] = g.members.emplace(member_id, std::move(m));
  touch(g, it->second);
  return it->second;
}

void GroupCoordinator::update_member(Group& g, Member& m, const JoinRequest& req,
                                     JoinCallback done) {
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.session_timeout_ms = req.session_timeout_ms;
  m.protocols = req.protocols;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  if (m.awaiting_join) {
    // A retried JoinGroup replaces the previous one, which gets no answer of its own.
    JoinResult r;
    r.error = ErrorCode::rebalance_in_progress;
    r.member_id = m.member_id;
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
  m.awaiting_join = std::move(done);
  touch(g, m);
}

void GroupCoordinator::join_static_member(Group& g, JoinRequest& req, JoinCallback& done) {
  const std::string instance = *req.group_instance_id;
  const std::string old_id = g.static_members[instance];
  auto node = g.members.extract(old_id);
  if (node.empty()) {  // inconsistent mapping; treat as a new member
    g.static_members.erase(instance);
    return join_new_member(g, req, done);
  }
  Member m = std::move(node.mapped());
  // The old incarnation is fenced: whatever it was waiting for fails.
  if (m.awaiting_join) {
    JoinResult r;
    r.error = ErrorCode::fenced_instance_id;
    r.member_id = old_id;
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
  if (m.awaiting_sync) {
    SyncResult r;
    r.error = ErrorCode::fenced_instance_id;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
  const std::string new_id = new_member_id(instance);
  m.member_id = new_id;
  const bool was_leader = g.leader_id == old_id;
  if (was_leader) g.leader_id = new_id;
  g.static_members[instance] = new_id;
  if (g.pending_sync.erase(old_id) > 0) g.pending_sync.insert(new_id);
  const bool keeps_subscription =
      g.state == GroupState::stable && (same_protocols(m, req) || !subscription_changed(g, m, req));
  auto [it, inserted] = g.members.emplace(new_id, std::move(m));
  Member& member = it->second;
  auto old_protocols = member.protocols;
  // Kafka's rule: no rebalance while the group's protocol stays the one the group would
  // select now.
  const bool keeps_protocol = keeps_subscription && [&] {
    member.protocols = req.protocols;
    auto selected = g.select_protocol();
    member.protocols = old_protocols;
    return selected && selected == g.protocol_name;
  }();

  switch (g.state) {
    case GroupState::stable:
      if (keeps_protocol) {
        // KIP-345: the same instance comes back; it keeps its assignment, no rebalance.
        const auto old_session = member.session_timeout_ms;
        const auto old_rebalance = member.rebalance_timeout_ms;
        member.session_timeout_ms = req.session_timeout_ms;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.protocols = req.protocols;
        member.client_id = req.client_id;
        member.client_host = req.client_host;
        touch(g, member);
        // Undoes the replacement when the write fails: the old id stays valid.
        auto revert = [this, group_id = g.group_id, instance, old_id, new_id, was_leader,
                       old_session, old_rebalance, old_protocols]() mutable {
          Group* group = find(group_id);
          if (group == nullptr) return;
          auto s = group->static_members.find(instance);
          if (s == group->static_members.end() || s->second != new_id) return;
          auto back = group->members.extract(new_id);
          if (back.empty()) return;
          back.mapped().session_timeout_ms = old_session;
          back.mapped().rebalance_timeout_ms = old_rebalance;
          back.mapped().protocols = std::move(old_protocols);
          back.key() = old_id;
          back.mapped().member_id = old_id;
          group->members.insert(std::move(back));
          s->second = old_id;
          if (was_leader && group->leader_id == new_id) group->leader_id = old_id;
        };
        const bool leader = g.leader_id == new_id;
        JoinResult r = join_result(g, member, leader);
        // The leader need not compute the assignment again (KIP-814; older clients do, and
        // their SyncGroup in the Stable state changes nothing).
        r.skip_assignment = leader && req.supports_skip_assignment;
        // The answer waits for the write's commit.
        auto err = store_group(g, [revert, r, done](ErrorCode e) mutable {
          if (e != ErrorCode::none) {
            revert();
            JoinResult failed;
            failed.error = e;
            done(std::move(failed));
            return;
          }
          done(std::move(r));
        });
        if (err != ErrorCode::none) {
          revert();
          JoinResult failed;
          failed.error = err;
          done(std::move(failed));
        }
        return;
      }
      update_member(g, member, req, std::move(done));
      prepare_rebalance(g, "a static member rejoined with another subscription or protocol");
      return;
    case GroupState::completing_rebalance:
      update_member(g, member, req, std::move(done));
      prepare_rebalance(g, "a static member rejoined during the sync phase");
      return;
    case GroupState::preparing_rebalance:
      update_member(g, member, req, std::move(done));
      try_complete_join(g);
      return;
    case GroupState::empty:
    case GroupState::dead:
      update_member(g, member, req, std::move(done));
      prepare_rebalance(g, "a static member joined");
      return;
  }
}

void GroupCoordinator::join_known_member(Group& g, JoinRequest& req, JoinCallback& done) {
  auto fail = [&](ErrorCode e) {
    JoinResult r;
    r.error = e;
    r.member_id = req.member_id;
    done(std::move(r));
  };
  if (req.group_instance_id) {
    auto it = g.static_members.find(*req.group_instance_id);
    if (it != g.static_members.end() && it->second != req.member_id)
      return fail(ErrorCode::fenced_instance_id);
  }
  if (auto pending = g.pending_members.find(req.member_id); pending != g.pending_members.end()) {
    if (!g.supports_protocols(req.protocol_type, req.protocols))
      return fail(ErrorCode::inconsistent_group_protocol);
    g.pending_members.erase(pending);
    add_member(g, req, req.member_id, std::move(done));
    prepare_rebalance(g, "a new member joined");
    return;
  }
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) return fail(ErrorCode::unknown_member_id);
  if (!g.supports_protocols(req.protocol_type, req.protocols))
    return fail(ErrorCode::inconsistent_group_protocol);
  Member& m = it->second;
  switch (g.state) {
    case GroupState::preparing_rebalance:
      update_member(g, m, req, std::move(done));
      try_complete_join(g);
      return;
    case GroupState::completing_rebalance:
      if (same_protocols(m, req)) {
        // The member missed the JoinGroup response: give it again.
        touch(g, m);
        done(join_result(g, m, g.leader_id == m.member_id));
        return;
      }
      update_member(g, m, req, std::move(done));
      prepare_rebalance(g, "a member changed its protocols");
      return;
    case GroupState::stable:
      if (g.leader_id == m.member_id || !same_protocols(m, req)) {
        // The leader rejoining (say, its subscription changed) or new protocols: rebalance.
        update_member(g, m, req, std::move(done));
        prepare_rebalance(g, "the leader or a member's protocols changed");
        return;
      }
      touch(g, m);
      done(join_result(g, m, false));
      return;
    case GroupState::empty:
    case GroupState::dead:
      return fail(ErrorCode::unknown_member_id);
  }
}

JoinResult GroupCoordinator::join_result(const Group& g, const Member& m, bool with_members) const {
  JoinResult r;
  r.generation_id = g.generation_id;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader_id.value_or("");
  r.member_id = m.member_id;
  if (with_members && g.protocol_name) {
    for (const auto& [id, other] : g.members) {
      JoinResult::Member jm;
      jm.member_id = id;
      jm.group_instance_id = other.group_instance_id;
      if (const auto* metadata = other.metadata_for(*g.protocol_name)) jm.metadata = *metadata;
      r.members.push_back(std::move(jm));
    }
  }
  return r;
}

void GroupCoordinator::prepare_rebalance(Group& g, const char* reason) {
  if (g.state != GroupState::preparing_rebalance) start_join_phase(g, reason);
  // As Kafka tries its delayed join at once: when every member has already joined again (a
  // one-member group whose subscription changed), the join completes now, not at the
  // rebalance timeout. The initial delay of an empty group still waits.
  try_complete_join(g);
}

void GroupCoordinator::start_join_phase(Group& g, const char* reason) {
  if (g.state == GroupState::completing_rebalance)
    reset_awaiting_sync(g, ErrorCode::rebalance_in_progress);
  g.pending_sync.clear();
  const auto now = Clock::now();
  if (g.state == GroupState::empty) {
    // The first members of an empty group wait group.initial.rebalance.delay.ms for others,
    // extended while more arrive, up to the rebalance timeout.
    g.initial_delay = true;
    const int32_t delay = config_.initial_rebalance_delay_ms;
    g.initial_delay_remaining_ms = std::max(g.max_rebalance_timeout_ms() - delay, 0);
    g.rebalance_deadline = now + ms(delay);
  } else {
    g.initial_delay = false;
    g.rebalance_deadline = now + ms(g.max_rebalance_timeout_ms());
  }
  g.new_member_added = false;
  spdlog::info("group {}: preparing to rebalance (generation {}): {}", g.group_id, g.generation_id,
               reason);
  transition(g, GroupState::preparing_rebalance);
  schedule(g, g.rebalance_deadline);
}

void GroupCoordinator::try_complete_join(Group& g) {
  if (g.state != GroupState::preparing_rebalance || g.initial_delay) return;
  if (g.all_members_joined()) complete_join(g);
}

void GroupCoordinator::complete_join(Group& g) {
  g.initial_delay = false;
  // Dynamic members that did not join again are out; static ones keep their place until
  // their session expires.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members)
    if (!m.awaiting_join && !m.group_instance_id) gone.push_back(id);
  for (const auto& id : gone) remove_member(g, id, "did not join within the rebalance timeout");
  if (g.state != GroupState::preparing_rebalance) return;  // removal already completed it

  ++g.generation_id;
  if (g.members.empty()) {
    g.protocol_name.reset();
    g.leader_id.reset();
    transition(g, GroupState::empty);
    auto warn = [id = g.group_id](ErrorCode err) {
      if (err != ErrorCode::none)
        spdlog::warn("group {}: could not store the empty group: {}", id,
                     protocol::error_name(static_cast<int16_t>(err)));
    };
    warn(store_group(g, warn));
    spdlog::info("group {}: generation {} is empty", g.group_id, g.generation_id);
    return;
  }
  // The leader must be among the members that joined.
  auto leader = g.leader_id ? g.members.find(*g.leader_id) : g.members.end();
  if (leader == g.members.end() || !leader->second.awaiting_join) {
    for (const auto& [id, m] : g.members) {
      if (m.awaiting_join) {
        g.leader_id = id;
        break;
      }
    }
  }
  g.protocol_name = g.select_protocol();
  transition(g, GroupState::completing_rebalance);
  spdlog::info("group {}: generation {} with {} members (protocol {}, leader {})", g.group_id,
               g.generation_id, g.members.size(), g.protocol_name.value_or("-"),
               g.leader_id.value_or("-"));
  const auto now = Clock::now();
  for (auto& [id, m] : g.members) {
    g.pending_sync.insert(id);
    if (!m.awaiting_join) continue;
    JoinResult r = join_result(g, m, g.leader_id == id);
    m.is_new = false;
    touch(g, m);
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
  // The leader's SyncGroup is due within the rebalance timeout.
  g.rebalance_deadline = now + ms(g.max_rebalance_timeout_ms());
  schedule(g, g.rebalance_deadline);
}

void GroupCoordinator::remove_member(Group& g, const std::string& member_id, const char* reason) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member m = std::move(it->second);
  g.members.erase(it);
  spdlog::info("group {}: member {} removed: {}", g.group_id, member_id, reason);
  if (m.group_instance_id) {
    auto s = g.static_members.find(*m.group_instance_id);
    if (s != g.static_members.end() && s->second == member_id) g.static_members.erase(s);
  }
  g.pending_sync.erase(member_id);
  if (m.awaiting_join) {
    JoinResult r;
    r.error = ErrorCode::unknown_member_id;
    r.member_id = member_id;
    m.awaiting_join(std::move(r));
  }
  if (m.awaiting_sync) {
    SyncResult r;
    r.error = ErrorCode::unknown_member_id;
    m.awaiting_sync(std::move(r));
  }
  if (g.leader_id == member_id) {
    if (g.members.empty()) {
      g.leader_id.reset();
    } else {
      g.leader_id = g.members.begin()->first;
    }
  }
  switch (g.state) {
    case GroupState::stable:
    case GroupState::completing_rebalance:
      prepare_rebalance(g, reason);
      break;
    case GroupState::preparing_rebalance:
      try_complete_join(g);
      break;
    default:
      break;
  }
}

void GroupCoordinator::answer_waiting_members(Group& g, ErrorCode error) {
  for (auto& [mid, m] : g.members) {
    if (m.awaiting_join) {
      JoinResult r;
      r.error = error;
      r.member_id = m.member_id;
      std::exchange(m.awaiting_join, nullptr)(std::move(r));
    }
    if (m.awaiting_sync) {
      SyncResult r;
      r.error = error;
      std::exchange(m.awaiting_sync, nullptr)(std::move(r));
    }
  }
}

void GroupCoordinator::reset_awaiting_sync(Group& g, ErrorCode error) {
  for (auto& [id, m] : g.members) {
    if (!m.awaiting_sync) continue;
    SyncResult r;
    r.error = error;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
}

// --- SyncGroup --------------------------------------------------------------------------

void GroupCoordinator::sync_group(SyncRequest req, SyncCallback done) {
  Lock lock(mu_);
  sync_group_locked(req, done);
  await_writes(lock);
}

void GroupCoordinator::sync_group_locked(SyncRequest& req, SyncCallback& done) {
  auto fail = [&](ErrorCode e) {
    SyncResult r;
    r.error = e;
    done(std::move(r));
  };
  if (stopping_) return fail(ErrorCode::not_coordinator);
  if (req.group_id.empty()) return fail(ErrorCode::invalid_group_id);
  if (auto e = coordinator_error(req.group_id); e != ErrorCode::none) return fail(e);
  Group* gp = find(req.group_id);
  if (gp == nullptr) return fail(ErrorCode::unknown_member_id);
  Group& g = *gp;
  if (g.state == GroupState::dead) return fail(ErrorCode::coordinator_not_available);
  if (req.group_instance_id) {
    auto s = g.static_members.find(*req.group_instance_id);
    if (s != g.static_members.end() && s->second != req.member_id)
      return fail(ErrorCode::fenced_instance_id);
  }
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) return fail(ErrorCode::unknown_member_id);
  if (req.generation_id != g.generation_id) return fail(ErrorCode::illegal_generation);
  if ((req.protocol_type && *req.protocol_type != g.protocol_type) ||
      (req.protocol_name && *req.protocol_name != g.protocol_name))
    return fail(ErrorCode::inconsistent_group_protocol);
  Member& m = it->second;
  switch (g.state) {
    case GroupState::empty:
    case GroupState::dead:
      return fail(ErrorCode::unknown_member_id);
    case GroupState::preparing_rebalance:
      return fail(ErrorCode::rebalance_in_progress);
    case GroupState::stable: {
      touch(g, m);
      SyncResult r;
      r.protocol_type = g.protocol_type;
      r.protocol_name = g.protocol_name;
      r.assignment = m.assignment;
      done(std::move(r));
      return;
    }
    case GroupState::completing_rebalance:
      break;
  }
  touch(g, m);
  g.pending_sync.erase(m.member_id);
  if (m.awaiting_sync) {
    SyncResult r;
    r.error = ErrorCode::rebalance_in_progress;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
  m.awaiting_sync = std::move(done);
  if (g.leader_id != m.member_id) return;

  // The leader's assignment: members it leaves out get an empty one. As in Kafka, the group
  // stays in CompletingRebalance until the assignment is committed; then, if no rebalance
  // began meanwhile (whatever began it answered the waiting members), it becomes Stable and
  // every waiting member gets its assignment.
  std::map<std::string, protocol::Bytes> assignment;
  for (auto& [id, bytes] : req.assignments) assignment[id] = std::move(bytes);
  for (auto& [id, member] : g.members) assignment[id];  // those left out: empty
  std::erase_if(assignment, [&](const auto& a) { return !g.has_member(a.first); });
  // The record holds the new assignment; the members keep theirs until it is committed.
  for (auto& [id, member] : g.members) std::swap(member.assignment, assignment[id]);
  const StoreRecord record{group_metadata_key(g.group_id),
                           group_metadata_value(g, storage::wall_clock_ms())};
  for (auto& [id, member] : g.members) std::swap(member.assignment, assignment[id]);
  const int32_t generation = g.generation_id;
  auto apply = [this, group_id = g.group_id, generation,
                assignment = std::move(assignment)](ErrorCode e) mutable {
    Group* group = find(group_id);
    if (group == nullptr || group->state != GroupState::completing_rebalance ||
        group->generation_id != generation)
      return;
    if (e != ErrorCode::none) {
      reset_awaiting_sync(*group, e);
      prepare_rebalance(*group, "the group's assignment could not be stored");
      return;
    }
    for (auto& [id, member] : group->members) member.assignment = std::move(assignment[id]);
    transition(*group, GroupState::stable);
    group->pending_sync.clear();
    for (auto& [id, member] : group->members) {
      if (!member.awaiting_sync) continue;
      SyncResult r;
      r.protocol_type = group->protocol_type;
      r.protocol_name = group->protocol_name;
      r.assignment = member.assignment;
      std::exchange(member.awaiting_sync, nullptr)(std::move(r));
    }
  };
  const ErrorCode err = write(g.group_id, {record},
                              [apply](ErrorCode e) mutable { apply(member_error_for_store(e)); });
  if (err != ErrorCode::none) apply(member_error_for_store(err));
}

// --- Heartbeat and LeaveGroup -----------------------------------------------------------

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                      const std::optional<std::string>& group_instance_id,
                                      int32_t generation_id) {
  Lock lock(mu_);
  if (stopping_) return ErrorCode::not_coordinator;
  if (group_id.empty()) return ErrorCode::invalid_group_id;
  if (auto e = coordinator_error(group_id); e != ErrorCode::none) return e;
  Group* g = find(group_id);
  if (g == nullptr) return ErrorCode::unknown_member_id;
  if (g->state == GroupState::dead) return ErrorCode::coordinator_not_available;
  if (group_instance_id) {
    auto s = g->static_members.find(*group_instance_id);
    if (s != g->static_members.end() && s->second != member_id)
      return ErrorCode::fenced_instance_id;
  }
  auto it = g->members.find(member_id);
  if (g->state == GroupState::empty || it == g->members.end()) return ErrorCode::unknown_member_id;
  if (generation_id != g->generation_id) return ErrorCode::illegal_generation;
  touch(*g, it->second);
  if (g->state == GroupState::preparing_rebalance) return ErrorCode::rebalance_in_progress;
  return ErrorCode::none;
}

std::vector<ErrorCode> GroupCoordinator::leave_group(const std::string& group_id,
                                                     const std::vector<LeavingMember>& members,
                                                     ErrorCode& group_error) {
  Lock lock(mu_);
  group_error = ErrorCode::none;
  std::vector<ErrorCode> errors(members.size(), ErrorCode::none);
  if (stopping_) {
    group_error = ErrorCode::not_coordinator;
    return errors;
  }
  if (group_id.empty()) {
    group_error = ErrorCode::invalid_group_id;
    return errors;
  }
  if (auto e = coordinator_error(group_id); e != ErrorCode::none) {
    group_error = e;
    return errors;
  }
  Group* g = find(group_id);
  if (g == nullptr || g->state == GroupState::dead) {
    std::fill(errors.begin(), errors.end(), ErrorCode::unknown_member_id);
    return errors;
  }
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& leaving = members[i];
    std::string id = leaving.member_id;
    if (leaving.group_instance_id) {
      auto s = g->static_members.find(*leaving.group_instance_id);
      if (s == g->static_members.end()) {
        errors[i] = ErrorCode::unknown_member_id;
        continue;
      }
      // An admin may remove a static member by instance id alone (member id "").
      if (!id.empty() && s->second != id) {
        errors[i] = ErrorCode::fenced_instance_id;
        continue;
      }
      id = s->second;
    }
    if (g->pending_members.erase(id) > 0) continue;
    if (!g->has_member(id)) {
      errors[i] = ErrorCode::unknown_member_id;
      continue;
    }
    remove_member(*g, id, "the member left the group");
  }
  // The answer waits for the writes the departures made (an empty generation).
  await_writes(lock);
  return errors;
}

// --- ListGroups and DescribeGroups ---------------------------------------------------

std::vector<GroupListing> GroupCoordinator::list_groups(ErrorCode& error) const {
  Lock lock(mu_);
  error = std::any_of(owned_.begin(), owned_.end(), [](const auto& p) { return !p.second.loaded; })
              ? ErrorCode::coordinator_load_in_progress
              : ErrorCode::none;
  std::vector<GroupListing> out;
  for (const auto& [id, g] : groups_) {
    if (g->state == GroupState::dead) continue;
    out.push_back(GroupListing{id, g->protocol_type.value_or(""), g->state});
  }
  return out;
}

GroupDescription GroupCoordinator::describe_group(const std::string& group_id) const {
  Lock lock(mu_);
  GroupDescription d;
  d.group_id = group_id;
  if (stopping_) {
    d.error = ErrorCode::not_coordinator;
    return d;
  }
  if (auto e = coordinator_error(group_id); e != ErrorCode::none) {
    d.error = e;
    return d;
  }
  const Group* g = find(group_id);
  if (g == nullptr) return d;
  d.found = true;
  d.state = g->state;
  d.protocol_type = g->protocol_type.value_or("");
  // The protocol name is only meaningful once the group has one (Kafka reports it when
  // Stable, with each member's metadata and assignment).
  const bool stable = g->state == GroupState::stable;
  if (stable) d.protocol_name = g->protocol_name.value_or("");
  for (const auto& [id, m] : g->members) {
    MemberDescription md;
    md.member_id = id;
    md.group_instance_id = m.group_instance_id;
    md.client_id = m.client_id;
    md.client_host = m.client_host;
    if (stable && g->protocol_name) {
      if (const auto* metadata = m.metadata_for(*g->protocol_name)) md.metadata = *metadata;
      md.assignment = m.assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

// --- timers -----------------------------------------------------------------------------

void GroupCoordinator::touch(Group& g, Member& m) {
  m.heartbeat_deadline = Clock::now() + ms(m.session_timeout_ms);
  schedule(g, m.heartbeat_deadline);
}

void GroupCoordinator::schedule(const Group& g, Clock::time_point when) {
  const bool earliest = deadlines_.empty() || when < deadlines_.top().when;
  deadlines_.push(Deadline{when, g.group_id});
  if (earliest) timer_wake_.notify_all();
}

void GroupCoordinator::check_deadlines(Group& g, Clock::time_point now) {
  // Pending members (KIP-394) that never came back.
  for (auto it = g.pending_members.begin(); it != g.pending_members.end();) {
    if (it->second <= now) {
      it = g.pending_members.erase(it);
      try_complete_join(g);
    } else {
      ++it;
    }
  }
  // Session expiry. A member waiting in JoinGroup or SyncGroup is alive (the rebalance
  // timeout governs it), except a new member that does not join again in time.
  std::vector<std::string> expired;
  for (const auto& [id, m] : g.members) {
    if (m.awaiting_join) {
      if (m.is_new && m.new_member_deadline <= now) expired.push_back(id);
    } else if (!m.awaiting_sync && m.heartbeat_deadline <= now) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired) remove_member(g, id, "its session timed out");

  if (g.state == GroupState::preparing_rebalance && g.rebalance_deadline <= now) {
    if (g.initial_delay && g.new_member_added && g.initial_delay_remaining_ms > 0) {
      // More members arrived during the delay: wait a little longer for others.
      const int32_t delay =
          std::min(config_.initial_rebalance_delay_ms, g.initial_delay_remaining_ms);
      g.initial_delay_remaining_ms = std::max(g.initial_delay_remaining_ms - delay, 0);
      g.new_member_added = false;
      g.rebalance_deadline = now + ms(delay);
      schedule(g, g.rebalance_deadline);
    } else {
      complete_join(g);
    }
  } else if (g.state == GroupState::completing_rebalance && g.rebalance_deadline <= now &&
             !g.pending_sync.empty()) {
    remove_pending_sync_members(g);
  }
}

void GroupCoordinator::remove_pending_sync_members(Group& g) {
  const auto pending = g.pending_sync;
  for (const auto& id : pending)
    remove_member(g, id, "it did not sync within the rebalance timeout");
}

void GroupCoordinator::maybe_remove(const std::string& group_id) {
  Group* g = find(group_id);
  if (g != nullptr && g->members.empty() && g->pending_members.empty() && g->offsets.empty() &&
      g->pending_offsets.empty() && g->state == GroupState::empty && !g->protocol_type)
    groups_.erase(group_id);
}

void GroupCoordinator::timer_loop() {
  Lock lock(mu_);
  auto next_expiry = Clock::now() + ms(config_.offsets_retention_check_interval_ms);
  while (!stopping_) {
    auto wake = next_expiry;
    if (!deadlines_.empty()) wake = std::min(wake, deadlines_.top().when);
    timer_wake_.wait_until(lock, wake);
    if (stopping_) break;
    const auto now = Clock::now();
    std::vector<std::string> due;
    while (!deadlines_.empty() && deadlines_.top().when <= now) {
      due.push_back(deadlines_.top().group_id);
      deadlines_.pop();
    }
    std::sort(due.begin(), due.end());
    due.erase(std::unique(due.begin(), due.end()), due.end());
    for (const auto& id : due)
      if (Group* g = find(id)) check_deadlines(*g, now);
    // Expired sessions may have emptied a group: its write is awaited without the lock.
    await_writes(lock);
    if (stopping_) break;
    if (now >= next_expiry) {
      lock.unlock();
      expire_offsets(storage::wall_clock_ms());
      lock.lock();
      next_expiry = Clock::now() + ms(config_.offsets_retention_check_interval_ms);
    }
  }
}

}  // namespace kfk::server::group

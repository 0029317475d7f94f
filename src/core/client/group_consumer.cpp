#include "core/client/group_consumer.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <set>
#include <thread>

#include "core/client/client.h"
#include "core/client/offset_lookup.h"
#include "core/protocol/errors.h"

namespace kfk::client {

using Clock = std::chrono::steady_clock;
using protocol::ErrorCode;
using std::chrono::milliseconds;

namespace {

// The longest a poll() without partitions sleeps, so that the caller stays responsive.
constexpr milliseconds kIdleWait{100};

std::string names(const std::vector<TopicPartition>& tps) {
  std::vector<std::string> out;
  for (const auto& tp : tps) out.push_back(fmt::format("{}-{}", tp.topic, tp.partition));
  return fmt::format("{}", fmt::join(out, ", "));
}

std::vector<TopicPartition> minus(const std::vector<TopicPartition>& a,
                                  const std::vector<TopicPartition>& b) {
  std::vector<TopicPartition> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

milliseconds until(Clock::time_point t) {
  return std::max(milliseconds::zero(), std::chrono::duration_cast<milliseconds>(t - Clock::now()));
}

}  // namespace

struct GroupConsumer::Impl {
  Impl(Client& c, GroupConsumerOptions o)
      : client(c), options(std::move(o)), membership(c, options.group), fetcher(c, options.fetch) {}

  Client& client;
  GroupConsumerOptions options;
  GroupMembership membership;
  Consumer fetcher;
  std::vector<std::string> topics;
  std::vector<TopicPartition> owned;            // sorted
  std::deque<ConsumerRecord> buffer;            // fetched, not yet returned
  std::map<TopicPartition, int64_t> positions;  // the next offset to return, per partition
  std::map<TopicPartition, int64_t> committed;  // what this member last committed
  Clock::time_point next_auto_commit{};
  Clock::time_point next_metadata_check{};
  std::optional<Clock::time_point> last_poll;
  bool closed = false;

  bool cooperative() const { return membership.protocol() == RebalanceProtocol::cooperative; }

  void drop(const std::vector<TopicPartition>& tps) {
    if (tps.empty()) return;
    fetcher.remove(tps);
    std::erase_if(buffer, [&](const ConsumerRecord& r) {
      return std::binary_search(tps.begin(), tps.end(), TopicPartition{r.topic, r.partition});
    });
    for (const auto& tp : tps) {
      positions.erase(tp);
      committed.erase(tp);
    }
    owned = minus(owned, tps);
  }

  // Partitions taken away without a chance to commit (the generation is gone).
  void lose_all() {
    if (!owned.empty()) {
      spdlog::warn("group '{}': lost partitions {}", options.group.group_id, names(owned));
    }
    drop(std::vector<TopicPartition>(owned));
  }

  // Commits the positions of `tps` that changed since this member last committed them.
  int16_t commit_positions(const std::vector<TopicPartition>& tps) {
    std::map<TopicPartition, int64_t> offsets;
    for (const auto& tp : tps) {
      const auto p = positions.find(tp);
      if (p == positions.end()) continue;
      const auto c = committed.find(tp);
      if (c == committed.end() || c->second != p->second) offsets[tp] = p->second;
    }
    if (offsets.empty()) return 0;
    const auto result = membership.commit(offsets);
    for (const auto& [tp, offset] : offsets) {
      const auto e = result.errors.find(tp);
      if (e != result.errors.end() && e->second == 0) committed[tp] = offset;
    }
    if (result.error == 0) {
      spdlog::debug("group '{}': committed {} offset(s)", options.group.group_id, offsets.size());
    }
    return result.error;
  }

  void auto_commit(const std::vector<TopicPartition>& tps, std::string_view when) {
    if (!options.auto_commit || membership.generation() < 0) return;
    const int16_t error = commit_positions(tps);
    if (error != 0) {
      spdlog::warn("group '{}': committing offsets {} failed: {}", options.group.group_id, when,
                   protocol::describe_error(error));
    }
  }

  void prepare_join() {
    auto_commit(owned, "before rejoining");
    if (membership.take_lost()) {
      lose_all();
    } else if (!cooperative()) {
      // Eager: give up everything before joining.
      if (!owned.empty()) {
        spdlog::info("group '{}': revoking {}", options.group.group_id, names(owned));
      }
      drop(std::vector<TopicPartition>(owned));
    } else {
      // Cooperative: keep what is still subscribed.
      std::vector<TopicPartition> gone;
      for (const auto& tp : owned) {
        if (std::find(topics.begin(), topics.end(), tp.topic) == topics.end()) gone.push_back(tp);
      }
      drop(gone);
    }
  }

  // Where each newly assigned partition starts: its committed offset, else auto.offset.reset.
  std::vector<std::pair<TopicPartition, StartOffset>> start_offsets(
      const std::vector<TopicPartition>& added) {
    OffsetFetchResult fetched;
    for (int attempt = 0;; ++attempt) {
      fetched = membership.fetch_committed(added);
      if (fetched.error != 0) {
        throw ClientError(
            ClientErrorKind::kafka,
            fmt::format("fetching the committed offsets of group '{}': {}", options.group.group_id,
                        protocol::describe_error(fetched.error)),
            fetched.error);
      }
      const bool unstable =
          std::any_of(fetched.offsets.begin(), fetched.offsets.end(), [](auto& e) {
            return e.second.error == protocol::to_int(ErrorCode::unstable_offset_commit);
          });
      if (!unstable) break;
      client.backoff(attempt);  // a transaction is committing offsets: wait for it
    }
    std::vector<std::pair<TopicPartition, StartOffset>> out;
    std::vector<TopicPartition> by_time;
    std::vector<TopicPartition> reset;  // no committed offset: auto.offset.reset applies
    for (const auto& tp : added) {
      const auto it = fetched.offsets.find(tp);
      if (it != fetched.offsets.end() && it->second.error != 0) {
        throw ClientError(ClientErrorKind::kafka,
                          fmt::format("fetching the committed offset of {}-{} for group '{}': {}",
                                      tp.topic, tp.partition, options.group.group_id,
                                      protocol::describe_error(it->second.error)),
                          it->second.error);
      }
      if (it != fetched.offsets.end() && it->second.offset >= 0) {
        out.emplace_back(tp, StartOffset::at(it->second.offset));
        committed[tp] = it->second.offset;
        continue;
      }
      reset.push_back(tp);
      if (options.reset_by_duration_ms >= 0) {
        by_time.push_back(tp);
        continue;
      }
      switch (options.fetch.reset) {
        case ConsumerOptions::Reset::earliest:
          out.emplace_back(tp, StartOffset::earliest());
          break;
        case ConsumerOptions::Reset::latest:
          out.emplace_back(tp, StartOffset::latest());
          break;
        case ConsumerOptions::Reset::none:
          throw ClientError(ClientErrorKind::invalid_argument,
                            fmt::format("group '{}' has no committed offset for {}-{} and "
                                        "auto.offset.reset is none",
                                        options.group.group_id, tp.topic, tp.partition));
      }
    }
    if (!reset.empty() && options.fetch.on_offset_reset) {
      const char* where = options.reset_by_duration_ms >= 0                         ? "by duration"
                          : options.fetch.reset == ConsumerOptions::Reset::earliest ? "earliest"
                                                                                    : "latest";
      options.fetch.on_offset_reset(
          fmt::format("group '{}' has no committed offset for {}: starting at the {} offset "
                      "(auto.offset.reset)",
                      options.group.group_id, names(reset), where));
    }
    if (!by_time.empty()) {
      const auto now_ms = std::chrono::duration_cast<milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      const auto found = list_offsets(client, by_time, now_ms - options.reset_by_duration_ms,
                                      options.fetch.isolation_level);
      for (const auto& tp : by_time) {
        const auto it = found.find(tp);
        out.emplace_back(tp, it != found.end() && it->second >= 0 ? StartOffset::at(it->second)
                                                                  : StartOffset::latest());
      }
    }
    return out;
  }

  void apply(const Assignment& assignment) {
    std::vector<TopicPartition> next = assignment.partitions;
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    const auto revoked = minus(owned, next);
    const auto added = minus(next, owned);
    if (!revoked.empty()) {
      spdlog::info("group '{}': revoking {}", options.group.group_id, names(revoked));
      auto_commit(revoked, "of revoked partitions");
      drop(revoked);
    }
    if (!added.empty()) {
      spdlog::info("group '{}': assigned {}", options.group.group_id, names(added));
      fetcher.add(start_offsets(added));
      owned.insert(owned.end(), added.begin(), added.end());
      std::sort(owned.begin(), owned.end());
    }
    update_positions();
    // KIP-429: partitions given up go to their new owner in a rebalance of their own.
    if (cooperative() && !revoked.empty()) membership.request_rejoin("partitions were revoked");
    next_metadata_check = Clock::now() + options.metadata_max_age;
    next_auto_commit = Clock::now() + options.auto_commit_interval;
  }

  void ensure_active() {
    if (membership.take_lost()) lose_all();
    while (membership.needs_join()) {
      prepare_join();
      const auto assignment =
          membership.join(topics, cooperative() ? owned : std::vector<TopicPartition>{});
      if (membership.take_lost()) lose_all();
      apply(assignment);
    }
  }

  // The leader rebalances when a subscribed topic gains partitions (or comes into being).
  void check_metadata() {
    if (!membership.is_leader() || Clock::now() < next_metadata_check) return;
    next_metadata_check = Clock::now() + options.metadata_max_age;
    const auto metadata = client.fetch_metadata(topics);
    const auto& counts = membership.assigned_counts();
    for (const auto& topic : topics) {
      const auto t = metadata.topics.find(topic);
      if (t == metadata.topics.end() || t->second.error != 0) continue;
      const auto c = counts.find(topic);
      if (c == counts.end() || c->second != t->second.partition_count()) {
        membership.request_rejoin(
            fmt::format("topic '{}' now has {} partitions", topic, t->second.partition_count()));
      }
    }
  }

  // Positions of partitions with nothing buffered follow the fetcher (which also moves past
  // control batches); the others stay after the last record returned.
  void update_positions() {
    std::set<TopicPartition> buffered;
    for (const auto& r : buffer) buffered.insert(TopicPartition{r.topic, r.partition});
    for (const auto& p : fetcher.progress()) {
      if (buffered.count(p.tp) == 0) positions[p.tp] = p.position;
    }
  }

  std::vector<ConsumerRecord> take(size_t max_records) {
    const size_t n =
        std::min(buffer.size(), max_records == 0 ? options.max_poll_records : max_records);
    std::vector<ConsumerRecord> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      ConsumerRecord& r = buffer.front();
      positions[TopicPartition{r.topic, r.partition}] = r.offset + 1;
      out.push_back(std::move(r));
      buffer.pop_front();
    }
    update_positions();
    return out;
  }

  std::vector<ConsumerRecord> poll(size_t max_records) {
    if (closed) {
      throw ClientError(ClientErrorKind::invalid_argument, "the consumer has been closed");
    }
    const auto now = Clock::now();
    if (last_poll && now - *last_poll > options.max_poll_interval && membership.generation() >= 0) {
      // As the Java client does: a member that did not poll in time leaves, and joins anew.
      spdlog::warn(
          "group '{}': {} ms since the last poll, more than max.poll.interval.ms; "
          "leaving the group and joining again",
          options.group.group_id,
          std::chrono::duration_cast<milliseconds>(now - *last_poll).count());
      membership.leave("consumer poll timeout has expired");
      lose_all();
    }
    last_poll = now;
    ensure_active();
    membership.heartbeat_if_due();
    if (membership.needs_join() || membership.take_lost()) {
      if (membership.generation() < 0) lose_all();
      ensure_active();
    }
    if (options.auto_commit && Clock::now() >= next_auto_commit) {
      next_auto_commit = Clock::now() + options.auto_commit_interval;
      auto_commit(owned, "automatically");
    }
    check_metadata();
    if (buffer.empty()) {
      if (owned.empty()) {
        std::this_thread::sleep_for(std::min(kIdleWait, until(membership.next_heartbeat())));
        return {};
      }
      auto wait = std::min(until(membership.next_heartbeat()),
                           milliseconds(options.fetch.fetch_max_wait_ms));
      if (options.auto_commit) wait = std::min(wait, until(next_auto_commit));
      for (auto& r : fetcher.poll(wait)) buffer.push_back(std::move(r));
    }
    return take(max_records);
  }

  void commit_sync(const std::map<TopicPartition, int64_t>& offsets) {
    const auto result = membership.commit(offsets);
    for (const auto& [tp, offset] : offsets) {
      const auto e = result.errors.find(tp);
      if (e != result.errors.end() && e->second == 0) committed[tp] = offset;
    }
    if (result.error != 0) {
      throw ClientError(ClientErrorKind::kafka,
                        fmt::format("committing offsets of group '{}': {}", options.group.group_id,
                                    protocol::describe_error(result.error)),
                        result.error);
    }
  }

  void close() {
    if (closed) return;
    closed = true;
    if (!membership.take_lost() && membership.generation() >= 0) {
      auto_commit(owned, "at close");
    }
    membership.leave("the consumer is being closed");
    drop(std::vector<TopicPartition>(owned));
  }
};

GroupConsumer::GroupConsumer(Client& client, GroupConsumerOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {}
GroupConsumer::~GroupConsumer() = default;

void GroupConsumer::subscribe(std::vector<std::string> topics) {
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  if (topics != impl_->topics) {
    impl_->topics = std::move(topics);
    impl_->membership.request_rejoin("the subscription changed");
  }
}

std::vector<ConsumerRecord> GroupConsumer::poll(size_t max_records) {
  return impl_->poll(max_records);
}

void GroupConsumer::commit_sync() {
  std::map<TopicPartition, int64_t> offsets;
  for (const auto& tp : impl_->owned) {
    const auto p = impl_->positions.find(tp);
    if (p != impl_->positions.end()) offsets[tp] = p->second;
  }
  if (!offsets.empty()) impl_->commit_sync(offsets);
}

void GroupConsumer::commit_sync(const std::map<TopicPartition, int64_t>& offsets) {
  impl_->commit_sync(offsets);
}

void GroupConsumer::close() { impl_->close(); }

std::vector<TopicPartition> GroupConsumer::assignment() const { return impl_->owned; }

std::map<TopicPartition, int64_t> GroupConsumer::positions() const { return impl_->positions; }

bool GroupConsumer::at_end() const {
  return impl_->membership.generation() >= 0 && !impl_->membership.needs_join() &&
         impl_->buffer.empty() && impl_->fetcher.at_end();
}

const GroupMembership& GroupConsumer::membership() const { return impl_->membership; }

}  // namespace kfk::client

// A consumer in a classic consumer group: subscribe to topics, and poll() joins the group,
// fetches the partitions the group assigns this member, heartbeats and commits.
//
// Between fetches poll() heartbeats when one is due, and a fetch waits on the broker no longer
// than the next heartbeat (or auto commit) allows, so the member stays alive as long as the
// caller keeps polling: call poll() at least every heartbeat.interval.ms, and never let more
// than session.timeout.ms pass without it. A rebalance happens inside poll(): eager groups
// (range, roundrobin, or a mix) commit and give up every partition before rejoining;
// cooperative ones (cooperative-sticky alone) keep their partitions, give up only those the
// new assignment moves elsewhere, then rejoin once more so that they reach their new owner.
//
// Positions: what poll() returned is consumed. A newly assigned partition starts at the
// group's committed offset (OffsetFetch), else where auto.offset.reset says. Commits send the
// positions (the next offset to read) with the member's generation and id: every
// auto.commit.interval.ms from poll() with enable.auto.commit, before a rebalance, at close(),
// or when the caller calls commit_sync().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/consumer.h"
#include "core/client/group_membership.h"

namespace kfk::client {

class Client;

struct GroupConsumerOptions {
  GroupOptions group;
  ConsumerOptions fetch;              // its `reset` is also where partitions without a commit start
  int64_t reset_by_duration_ms = -1;  // >= 0: auto.offset.reset=by_duration:<this>
  bool auto_commit = true;
  std::chrono::milliseconds auto_commit_interval{5'000};
  std::chrono::milliseconds max_poll_interval{300'000};
  size_t max_poll_records = 500;
  std::chrono::milliseconds metadata_max_age{300'000};  // the leader's check for new partitions
};

class GroupConsumer {
 public:
  GroupConsumer(Client& client, GroupConsumerOptions options);
  // Does not leave the group or commit: call close() for that.
  ~GroupConsumer();
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  // The topics to consume; takes effect at the next poll() (a rejoin when already joined).
  void subscribe(std::vector<std::string> topics);

  // One round: rejoins when needed, heartbeats, auto-commits, fetches once and returns at most
  // `max_records` records (0: max.poll.records). Throws ClientError for fatal group errors.
  std::vector<ConsumerRecord> poll(size_t max_records = 0);

  // Commits the position of every assigned partition (or the given offsets). Throws
  // ClientError(kafka) when the commit fails, e.g. REBALANCE_IN_PROGRESS or
  // ILLEGAL_GENERATION after the group moved on (the next poll() rejoins).
  void commit_sync();
  void commit_sync(const std::map<TopicPartition, int64_t>& offsets);

  // Commits (with auto commit) and leaves the group. The consumer cannot be used afterwards.
  void close();

  std::vector<TopicPartition> assignment() const;
  std::map<TopicPartition, int64_t> positions() const;
  // In a generation, not about to rejoin, and every assigned partition read to its end.
  bool at_end() const;
  const GroupMembership& membership() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfk::client

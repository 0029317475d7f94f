// Planning a reset of a group's committed offsets, as kafka-consumer-groups --reset-offsets
// does, kept apart from any I/O so that the rules can be tested on their own:
//
//   earliest / latest     the log start / log end offset
//   offset N, shift-by N  N, or the committed offset + N (a partition without a committed
//                         offset cannot be shifted), then clamped into [log start, log end]
//   datetime T, duration  the first offset whose timestamp is at or after T (or now - D);
//                         the log end when no record is that recent
//   from-file             the offsets of a CSV file, clamped like offset N
//
// The caller looks up what the plan needs (committed offsets, log start and end, the offsets
// for the time) and applies the result.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/topic_partition.h"

namespace kfk::client {

struct ResetSpec {
  enum class Kind { earliest, latest, offset, shift_by, datetime, duration, from_file };
  Kind kind = Kind::earliest;
  int64_t value = 0;  // the offset, the shift, the time (ms since the epoch) or duration (ms)
  std::map<TopicPartition, int64_t> file_offsets;  // from_file
};

// What is known of one partition when planning.
struct PartitionOffsets {
  int64_t committed = -1;  // -1: nothing committed
  int64_t log_start = 0;
  int64_t log_end = 0;
  int64_t for_time = -1;  // datetime/duration: the ListOffsets answer for the time, -1: none
};

// The time to look offsets up for (datetime and duration only), given the current time.
int64_t reset_timestamp(const ResetSpec& spec, int64_t now_ms);
bool needs_time_lookup(const ResetSpec& spec);

// The new offset of `tp`, or nullopt with `error` saying why there is none.
std::optional<int64_t> plan_reset(const ResetSpec& spec, const TopicPartition& tp,
                                  const PartitionOffsets& offsets, std::string& error);

// "2024-05-01T12:00:00", with optional seconds fraction ".sss" and zone ("Z", "+02:00",
// "-0530", "+02"); without a zone the local time zone applies, as in Kafka's tool. Also
// "2024-05-01" (midnight). Milliseconds since the epoch, nullopt when malformed.
std::optional<int64_t> parse_iso_datetime_ms(std::string_view text);

// "orders" (every partition) or "orders:0,2,5". nullopt when malformed.
struct TopicSelection {
  std::string topic;
  std::vector<int32_t> partitions;  // empty: every partition
};
std::optional<TopicSelection> parse_topic_selection(std::string_view text);

// A reset plan file: lines "topic,partition,offset" (or "group,topic,partition,offset", as
// Kafka's tool exports it, keeping the lines of `group`). Blank lines and lines starting
// with '#' are skipped. nullopt with `error` naming the line when a line is malformed.
std::optional<std::map<TopicPartition, int64_t>> parse_reset_csv(std::string_view text,
                                                                 const std::string& group,
                                                                 std::string& error);

}  // namespace kfk::client

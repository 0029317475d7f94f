// kfk topic describe and kfk topic offsets: what the broker knows of topics (partitions,
// leaders, replicas, ISR, log start and end offsets, size on disk, configs and where each
// comes from) and the offsets of partitions (earliest, latest, by time).
//
// Both are listings: a table on a terminal, JSON otherwise, or what --output says. JSON
// shapes (YAML has the same fields):
//
//   kfk topic describe T...   one object per topic, in the order named:
//     [{"name": str, "topic_id": str|null, "internal": bool, "partition_count": int,
//       "replication_factor": int,
//       "size_bytes": int|null,        all replicas of all partitions on disk; null when the
//                                      broker cannot tell (no DescribeLogDirs)
//       "partitions": [{"partition": int, "leader": int|null, "leader_epoch": int,
//                       "replicas": [int], "isr": [int], "offline_replicas": [int],
//                       "earliest_offset": int|null, "latest_offset": int|null,
//                       "size_bytes": int|null,
//                       "cleaner": null | {"dirty_ratio": num, "first_dirty_offset": int,
//                                          "last_cleaning": null | {"time_ms": int,
//                                            "bytes_read": int, "bytes_written": int,
//                                            "duration_ms": int}},
//                       "damaged": [{"broker": int, "first_offset": int|null,
//                                    "next_offset": int|null, "segment_base_offset": int,
//                                    "start_position": int, "end_position": int,
//                                    "reason": str}],
//                       "error": str|null}],
//       "configs": [{"name": str, "value": str|null, "source": str, "read_only": bool,
//                    "sensitive": bool}] | null}]
//     "cleaner" is set for compacted partitions on kfk brokers: the share of the log not yet
//     compacted (dirty_ratio, from 0 to 1), where that part starts, and
//     the broker's last cleaning of it since it started.
//     "damaged" lists the ranges of a kfk broker's log that hold no valid batch (found by
//     recovery or by reads): the records at offsets first_offset..next_offset-1 cannot be
//     read, and `kfk topic trim T -p P --offset next_offset` moves the log start past them.
//     Byte positions are in the segment file whose base offset is segment_base_offset.
//     "configs" holds the topic's overrides, or every config with --all-configs; null when
//     the broker does not support DescribeConfigs. "source" is a Kafka config source name
//     such as DYNAMIC_TOPIC_CONFIG or DEFAULT_CONFIG; "value" is null for sensitive ones.
//
//   kfk topic offsets T...    one object per partition, by topic then partition:
//     [{"topic": str, "partition": int, "earliest_offset": int, "latest_offset": int,
//       "timestamp": int|null, "offset_at_time": int|null}]
//     "timestamp" is --at in ms (null without --at); "offset_at_time" is the first offset
//     whose record timestamp is at or after it, null when no record is that recent.
#include <fmt/core.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "cli/client_support.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/topic_support.h"
#include "core/client/offset_lookup.h"
#include "core/net/net_error.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

using protocol::ErrorCode;

struct DescribeOptions {
  std::vector<std::string> names;
  bool all_configs = false;
  std::vector<int32_t> partitions;  // offsets: only these
  std::string at;                   // offsets: by time
};

bool structured(OutputFormat f) { return f == OutputFormat::json || f == OutputFormat::yaml; }

Value int_list(const std::vector<int32_t>& values) {
  Value list = Value::array();
  for (int32_t v : values) list.push(v);
  return list;
}

std::string text_int_list(const std::vector<int32_t>& values) {
  return values.empty() ? "-" : fmt::format("{}", fmt::join(values, ","));
}

std::string text_offset(int64_t v) { return v < 0 ? "-" : std::to_string(v); }

struct TopicView {
  const client::TopicMetadata* meta = nullptr;
  std::optional<std::vector<client::ConfigEntry>> configs;
  std::string configs_note;  // why configs is empty
};

// Everything describe shows besides the metadata, for every partition of every topic.
struct PartitionFacts {
  std::map<client::TopicPartition, int64_t> earliest;
  std::map<client::TopicPartition, int64_t> latest;
  std::optional<std::map<client::TopicPartition, int64_t>> sizes;  // nullopt: unknown
  // Compacted partitions: the log cleaner's view, from the leader's DescribeLogDirs.
  std::map<client::TopicPartition, client::ReplicaLogInfo::Cleaner> cleaner;
  // Damaged log ranges, per partition: the broker reporting each and the range.
  std::map<client::TopicPartition,
           std::vector<std::pair<int32_t, client::ReplicaLogInfo::DamagedRange>>>
      damaged;
};

std::vector<client::TopicPartition> partitions_of(const std::vector<TopicView>& topics) {
  std::vector<client::TopicPartition> tps;
  for (const auto& t : topics) {
    for (const auto& p : t.meta->partitions) tps.push_back({t.meta->name, p.partition});
  }
  return tps;
}

PartitionFacts gather_facts(TopicSession& s, const std::vector<TopicView>& topics) {
  PartitionFacts facts;
  std::vector<client::TopicPartition> with_leader;
  for (const auto& t : topics) {
    for (const auto& p : t.meta->partitions) {
      if (p.leader >= 0 && p.error == 0) with_leader.push_back({t.meta->name, p.partition});
    }
  }
  if (!with_leader.empty()) {
    facts.earliest = client::list_offsets(s.client, with_leader, client::kEarliestTimestamp);
    facts.latest = client::list_offsets(s.client, with_leader, client::kLatestTimestamp);
  }
  const auto tps = partitions_of(topics);
  if (tps.empty()) return facts;
  try {
    std::map<client::TopicPartition, int64_t> sizes;
    for (const auto& r : s.admin.describe_log_dirs(tps)) {
      if (!r.future) sizes[r.partition] += r.size_bytes;
      if (!r.future && r.cleaner) facts.cleaner[r.partition] = *r.cleaner;
      for (const auto& d : r.damaged) facts.damaged[r.partition].emplace_back(r.broker, d);
    }
    facts.sizes = std::move(sizes);
  } catch (const net::NetError& e) {
    // Sizes are a bonus: a broker without DescribeLogDirs, or one that cannot be reached,
    // leaves them unknown rather than failing the whole description.
    if (e.kind() == net::NetErrorKind::unsupported) {
      spdlog::info("sizes on disk not available: {}", e.what());
    } else {
      spdlog::warn("sizes on disk not available: {}", e.what());
    }
  } catch (const client::ClientError& e) {
    spdlog::warn("sizes on disk not available: {}", e.what());
  }
  return facts;
}

int64_t fact(const std::map<client::TopicPartition, int64_t>& m, const client::TopicPartition& tp) {
  const auto it = m.find(tp);
  return it == m.end() ? -1 : it->second;
}

int64_t size_of(const PartitionFacts& f, const client::TopicPartition& tp) {
  if (!f.sizes) return -1;
  const auto it = f.sizes->find(tp);
  return it == f.sizes->end() ? 0 : it->second;
}

int64_t topic_size(const PartitionFacts& f, const client::TopicMetadata& t) {
  if (!f.sizes) return -1;
  int64_t total = 0;
  for (const auto& p : t.partitions) total += size_of(f, {t.name, p.partition});
  return total;
}

Value cleaner_value(const PartitionFacts& f, const client::TopicPartition& tp) {
  const auto it = f.cleaner.find(tp);
  if (it == f.cleaner.end()) return {};
  const auto& c = it->second;
  Value last;
  if (c.last_cleaning_ms >= 0) {
    last = Value::object()
               .set("time_ms", c.last_cleaning_ms)
               .set("bytes_read", c.last_bytes_read)
               .set("bytes_written", c.last_bytes_written)
               .set("duration_ms", c.last_duration_ms);
  }
  return Value::object()
      .set("dirty_ratio", Value(c.dirty_ratio))
      .set("first_dirty_offset", c.first_dirty_offset)
      .set("last_cleaning", std::move(last));
}

std::string cleaner_text(const PartitionFacts& f, const client::TopicPartition& tp) {
  const auto it = f.cleaner.find(tp);
  if (it == f.cleaner.end()) return "";
  const auto& c = it->second;
  std::string text = fmt::format("dirty {:.0f}%", c.dirty_ratio * 100);
  if (c.last_cleaning_ms < 0) return text + ", not cleaned since the broker started";
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t ago_s = std::max<int64_t>(0, (now_ms - c.last_cleaning_ms) / 1000);
  return text + fmt::format(", cleaned {}s ago: read {}, wrote {} in {} ms", ago_s,
                            human_bytes(c.last_bytes_read), human_bytes(c.last_bytes_written),
                            c.last_duration_ms);
}

Value damaged_value(const PartitionFacts& f, const client::TopicPartition& tp) {
  Value list = Value::array();
  const auto it = f.damaged.find(tp);
  if (it == f.damaged.end()) return list;
  for (const auto& [broker, d] : it->second) {
    list.push(Value::object()
                  .set("broker", broker)
                  .set("first_offset", non_negative_or_null(d.first_offset))
                  .set("next_offset", non_negative_or_null(d.next_offset))
                  .set("segment_base_offset", d.segment_base)
                  .set("start_position", d.start_position)
                  .set("end_position", d.end_position)
                  .set("reason", d.reason));
  }
  return list;
}

// "offsets 40..59" as far as the broker could tell them.
std::string damaged_offsets_text(const client::ReplicaLogInfo::DamagedRange& d) {
  if (d.first_offset >= 0 && d.next_offset > d.first_offset)
    return fmt::format("offsets {}..{}", d.first_offset, d.next_offset - 1);
  if (d.next_offset >= 0) return fmt::format("offsets before {}", d.next_offset);
  if (d.first_offset >= 0) return fmt::format("offsets from {}", d.first_offset);
  return "unknown offsets";
}

void print_damaged(const client::TopicMetadata& t, const PartitionFacts& facts) {
  bool any = false;
  for (const auto& p : t.partitions) any |= facts.damaged.contains({t.name, p.partition});
  if (!any) return;
  fmt::print("\n{}\n", styled("Damaged log ranges (these records cannot be read):", Style::error));
  for (const auto& p : t.partitions) {
    const auto it = facts.damaged.find({t.name, p.partition});
    if (it == facts.damaged.end()) continue;
    for (const auto& [broker, d] : it->second) {
      fmt::print("  partition {}: {} (broker {}, segment {}, bytes {}..{}): {}\n", p.partition,
                 damaged_offsets_text(d), broker, d.segment_base, d.start_position,
                 d.end_position - 1, d.reason);
      if (d.next_offset >= 0) {
        fmt::print(
            "    to skip them (this also deletes the records before them): kfk topic trim {} "
            "-p {} --offset {}\n",
            t.name, p.partition, d.next_offset);
      }
    }
  }
}

Value describe_value(const TopicView& view, const PartitionFacts& facts) {
  const auto& t = *view.meta;
  Value partitions = Value::array();
  for (const auto& p : t.partitions) {
    const client::TopicPartition tp{t.name, p.partition};
    partitions.push(
        Value::object()
            .set("partition", p.partition)
            .set("leader", non_negative_or_null(p.leader))
            .set("leader_epoch", p.leader_epoch)
            .set("replicas", int_list(p.replicas))
            .set("isr", int_list(p.isr))
            .set("offline_replicas", int_list(p.offline))
            .set("earliest_offset", non_negative_or_null(fact(facts.earliest, tp)))
            .set("latest_offset", non_negative_or_null(fact(facts.latest, tp)))
            .set("size_bytes", non_negative_or_null(size_of(facts, tp)))
            .set("cleaner", cleaner_value(facts, tp))
            .set("damaged", damaged_value(facts, tp))
            .set("error", p.error != 0 ? Value(protocol::error_name(p.error)) : Value()));
  }
  Value configs;
  if (view.configs) {
    configs = Value::array();
    for (const auto& e : *view.configs) {
      configs.push(Value::object()
                       .set("name", e.name)
                       .set("value", e.value ? Value(*e.value) : Value())
                       .set("source", client::to_string(e.source))
                       .set("read_only", e.read_only)
                       .set("sensitive", e.sensitive));
    }
  }
  return Value::object()
      .set("name", t.name)
      .set("topic_id", t.id.is_zero() ? Value() : Value(t.id.to_string()))
      .set("internal", t.internal)
      .set("partition_count", t.partition_count())
      .set("replication_factor", t.replication_factor())
      .set("size_bytes", non_negative_or_null(topic_size(facts, t)))
      .set("partitions", std::move(partitions))
      .set("configs", std::move(configs));
}

void print_describe_table(const TopicView& view, const PartitionFacts& facts, bool all_configs) {
  const auto& t = *view.meta;
  fmt::print("Topic:               {}\n", t.name);
  fmt::print("Topic ID:            {}\n", t.id.is_zero() ? "-" : t.id.to_string());
  fmt::print("Partitions:          {}\n", t.partition_count());
  fmt::print("Replication factor:  {}\n", t.replication_factor());
  if (t.internal) fmt::print("Internal:            yes\n");
  fmt::print("Size on disk:        {}\n", human_bytes(topic_size(facts, t)));
  if (!view.configs) {
    fmt::print("Configs:             ({})\n", view.configs_note);
  } else if (view.configs->empty()) {
    fmt::print("Configs:             {}\n", all_configs ? "none" : "all defaults");
  } else {
    fmt::print("Configs:\n");
    for (const auto& e : *view.configs) {
      fmt::print("  {}={}  [{}]\n", e.name, e.value ? *e.value : "(sensitive)",
                 client::to_string(e.source));
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : t.partitions) {
    const client::TopicPartition tp{t.name, p.partition};
    rows.push_back({std::to_string(p.partition),
                    p.leader < 0 ? styled("none", Style::error) : std::to_string(p.leader),
                    std::to_string(p.leader_epoch), text_int_list(p.replicas), text_int_list(p.isr),
                    text_offset(fact(facts.earliest, tp)), text_offset(fact(facts.latest, tp)),
                    human_bytes(size_of(facts, tp)),
                    p.error != 0 ? styled(protocol::error_name(p.error), Style::error) : ""});
  }
  fmt::print("\n{}", format_table({"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "EARLIEST",
                                   "LATEST", "SIZE", "ERROR"},
                                  rows));
  if (!facts.cleaner.empty()) {
    fmt::print("\nLog cleaner:\n");
    for (const auto& p : t.partitions) {
      const std::string text = cleaner_text(facts, {t.name, p.partition});
      if (!text.empty()) fmt::print("  partition {}: {}\n", p.partition, text);
    }
  }
  print_damaged(t, facts);
}

void run_describe(const GlobalOptions& g, const DescribeOptions& o, const std::string& cmd) {
  with_client_errors(cmd, [&] {
    TopicSession s(g, cmd);
    const auto metadata = s.admin.describe_topics(o.names);
    std::vector<TopicView> topics;
    std::set<std::string> seen;
    for (const auto& name : o.names) {
      if (!seen.insert(name).second) continue;
      const auto it = metadata.topics.find(name);
      if (it == metadata.topics.end()) {
        throw kafka_error(protocol::to_int(ErrorCode::unknown_topic_or_partition),
                          cmd + " " + name);
      }
      if (it->second.error == protocol::to_int(ErrorCode::unknown_topic_or_partition)) {
        existing_topic(s.client, name, cmd + " " + name);  // throws, with the close names
      }
      if (it->second.error != 0) throw kafka_error(it->second.error, cmd + " " + name);
      TopicView view;
      view.meta = &it->second;
      try {
        auto entries = s.admin.describe_topic_configs(name);
        if (!o.all_configs) {
          std::erase_if(entries, [](const auto& e) {
            return e.is_default() || e.source == client::ConfigSource::static_broker;
          });
        }
        view.configs = std::move(entries);
      } catch (const net::NetError& e) {
        if (e.kind() != net::NetErrorKind::unsupported) throw;
        view.configs_note = "not available: the broker does not support DescribeConfigs";
      }
      topics.push_back(std::move(view));
    }
    const auto facts = gather_facts(s, topics);
    const OutputFormat format = listing_format(g);
    if (structured(format)) {
      Value out = Value::array();
      for (const auto& view : topics) out.push(describe_value(view, facts));
      print_value(out, format);
      return;
    }
    for (size_t i = 0; i < topics.size(); ++i) {
      if (i > 0) fmt::print("\n");
      print_describe_table(topics[i], facts, o.all_configs);
    }
  });
}

void run_offsets(const GlobalOptions& g, const DescribeOptions& o, const std::string& cmd) {
  std::optional<int64_t> at;
  if (!o.at.empty()) {
    at = parse_point_in_time(o.at, now_ms());
    if (!at) {
      throw CliError(ExitCode::usage, fmt::format("{}: --at: '{}' is not a time", cmd, o.at),
                     std::string(kTimeFormats));
    }
  }
  with_client_errors(cmd, [&] {
    TopicSession s(g, cmd);
    std::vector<client::TopicPartition> tps;
    std::set<std::string> seen;
    for (const auto& name : o.names) {
      if (!seen.insert(name).second) continue;
      const auto& topic = existing_topic(s.client, name, cmd);
      if (o.partitions.empty()) {
        for (const auto& p : topic.partitions) tps.push_back({name, p.partition});
        continue;
      }
      for (int32_t p : o.partitions) {
        if (topic.partition(p) == nullptr) {
          throw CliError(ExitCode::usage,
                         fmt::format("{} {}: no partition {}: the topic has {} partition(s)", cmd,
                                     name, p, topic.partition_count()),
                         "pick partitions from 0 to the partition count minus one");
        }
        tps.push_back({name, p});
      }
    }
    const auto earliest = client::list_offsets(s.client, tps, client::kEarliestTimestamp);
    const auto latest = client::list_offsets(s.client, tps, client::kLatestTimestamp);
    std::map<client::TopicPartition, int64_t> by_time;
    if (at) by_time = client::list_offsets(s.client, tps, *at);

    const OutputFormat format = listing_format(g);
    if (structured(format)) {
      Value out = Value::array();
      for (const auto& tp : tps) {
        out.push(
            Value::object()
                .set("topic", tp.topic)
                .set("partition", tp.partition)
                .set("earliest_offset", fact(earliest, tp))
                .set("latest_offset", fact(latest, tp))
                .set("timestamp", at ? Value(*at) : Value())
                .set("offset_at_time", at ? non_negative_or_null(fact(by_time, tp)) : Value()));
      }
      print_value(out, format);
      return;
    }
    std::vector<std::string> header = {"TOPIC", "PARTITION", "EARLIEST", "LATEST"};
    if (at) header.push_back("AT-TIME");
    std::vector<std::vector<std::string>> rows;
    for (const auto& tp : tps) {
      std::vector<std::string> row = {tp.topic, std::to_string(tp.partition),
                                      text_offset(fact(earliest, tp)),
                                      text_offset(fact(latest, tp))};
      if (at) row.push_back(text_offset(fact(by_time, tp)));
      rows.push_back(std::move(row));
    }
    fmt::print("{}", format_table(header, rows));
  });
}

}  // namespace

void add_topic_describe_commands(CLI::App& topic, GlobalOptions& opts) {
  auto o = std::make_shared<DescribeOptions>();

  auto* describe = topic.add_subcommand(
      "describe",
      "Show topics: partitions, leaders, replicas, ISR, offsets, size on disk, configs");
  describe->add_option("names", o->names, "Topic names")->required();
  describe->add_flag("--all-configs", o->all_configs,
                     "Show every config, not only the topic's overrides");
  add_footer(*describe,
             "Output: a table on a terminal, else JSON (or -o table|json|yaml).\n"
             "JSON: [{\"name\": str, \"topic_id\": str|null, \"internal\": bool, "
             "\"partition_count\": int, \"replication_factor\": int, \"size_bytes\": int|null, "
             "\"partitions\": [{\"partition\": int, \"leader\": int|null, \"leader_epoch\": int, "
             "\"replicas\": [int], \"isr\": [int], \"offline_replicas\": [int], "
             "\"earliest_offset\": int|null, \"latest_offset\": int|null, "
             "\"size_bytes\": int|null, \"error\": str|null}], \"configs\": [{\"name\": str, "
             "\"value\": str|null, \"source\": str, \"read_only\": bool, \"sensitive\": bool}]"
             "|null}, ...]");
  describe->callback([&opts, o, describe] { run_describe(opts, *o, command_path(*describe)); });

  auto* offsets = topic.add_subcommand(
      "offsets", "Show partitions' earliest and latest offsets, and the offset at a time");
  offsets->add_option("names", o->names, "Topic names")->required();
  offsets->add_option("-p,--partition", o->partitions, "Only this partition (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::NonNegativeNumber);
  offsets
      ->add_option("--at", o->at,
                   "Also the first offset at or after this time: epoch ms, "
                   "2024-05-01T12:00:00Z, or -10m / -2h / -7d before now")
      ->type_name("TIME");
  add_footer(*offsets,
             "Output: a table on a terminal, else JSON (or -o table|json|yaml).\n"
             "JSON: [{\"topic\": str, \"partition\": int, \"earliest_offset\": int, "
             "\"latest_offset\": int, \"timestamp\": int|null, \"offset_at_time\": int|null}, "
             "...]");
  offsets->callback([&opts, o, offsets] { run_offsets(opts, *o, command_path(*offsets)); });
}

}  // namespace kfk::cli

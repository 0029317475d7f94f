// kfk debug verify-log DIR...: CRC-checks every batch of every segment of a partition directory,
// or of every partition of a log dir, with the broker's own checked scanner
// (storage::CheckedLogScanner, the one recovery uses), and reports each damaged range: the
// segment, the bytes, and the offsets of the valid batches around it. Read-only: it changes
// nothing, and may run while the broker does.
//
// A listing: a table on a terminal, JSON otherwise, or what --output says. JSON shape (YAML
// has the same fields), one object per partition directory, by path:
//
//   [{"dir": str, "topic": str|null, "partition": int|null, "segments": int, "batches": int,
//     "records": int, "bytes": int, "ok": bool,
//     "damaged": [{"segment": str, "segment_base_offset": int, "start_position": int,
//                  "end_position": int, "size": int, "first_offset": int|null,
//                  "next_offset": int|null, "torn_tail": bool, "reason": str}]}]
//
//   The bytes start_position..end_position-1 of the segment file hold no valid batch; the
//   records at offsets first_offset..next_offset-1 cannot be read (next_offset: the next
//   valid batch, or the next segment's base). torn_tail: damage at the end of the last
//   segment with nothing valid after it, which the broker cuts off when it recovers from a
//   crash; any other damage stays, and `kfk topic trim T -p P --offset next_offset` skips it.
//
// Exit status: 0 when every batch is intact, 6 (damaged) when a range was found, 1 when a
// directory or file cannot be read.
#include <fcntl.h>
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/tool_commands.h"
#include "cli/topic_support.h"
#include "server/storage/file_io.h"
#include "server/storage/log_scanner.h"

namespace kfk::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCommand = "kfk debug verify-log";

struct VerifyOptions {
  std::vector<std::string> dirs;
};

struct FoundDamage {
  fs::path segment;
  storage::DamagedRange range;
  bool torn_tail = false;
};

struct PartitionCheck {
  fs::path dir;
  std::optional<storage::TopicPartition> tp;
  size_t segments = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::vector<FoundDamage> damaged;
};

CliError read_error(const std::string& what) {
  return CliError(ExitCode::error, fmt::format("{}: {}", kCommand, what));
}

// The segment base offsets of a directory's .log files, in order.
std::vector<int64_t> segment_bases(const fs::path& dir) {
  std::vector<int64_t> bases;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto base =
            storage::parse_offset_file_name(it->path().filename().string(), storage::kLogSuffix))
      bases.push_back(*base);
  }
  if (ec) throw read_error(fmt::format("{}: {}", dir.string(), ec.message()));
  std::sort(bases.begin(), bases.end());
  return bases;
}

PartitionCheck check_partition(const fs::path& dir, const std::vector<int64_t>& bases) {
  PartitionCheck out;
  out.dir = dir;
  out.tp = storage::parse_partition_dir_name(dir.filename().string());
  for (size_t i = 0; i < bases.size(); ++i) {
    const fs::path path = dir / storage::offset_file_name(bases[i], storage::kLogSuffix);
    auto file = storage::FileHandle::open(path, O_RDONLY);
    if (!file) throw read_error(file.error().message());
    auto size = storage::file_size((*file)->fd(), path);
    if (!size) throw read_error(size.error().message());
    ++out.segments;
    out.bytes += *size;
    storage::CheckedLogScanner scanner(**file, bases[i], 0, *size, bases[i]);
    while (true) {
      auto item = scanner.next();
      if (!item) throw read_error(item.error().message());
      if (!*item) break;
      if ((*item)->batch) {
        ++out.batches;
        out.records += static_cast<uint64_t>(std::max(0, (*item)->batch->info.records_count));
        continue;
      }
      FoundDamage found{path, *(*item)->damage};
      const bool last = i + 1 == bases.size();
      if (found.range.reaches_end()) {
        if (last)
          found.torn_tail = true;
        else
          found.range.next_offset = bases[i + 1];
      }
      out.damaged.push_back(std::move(found));
    }
  }
  return out;
}

// A partition directory (it holds .log files), or a log dir: its partition directories.
std::vector<PartitionCheck> check_dir(const std::string& name) {
  fs::path dir(name);
  if (!dir.has_filename()) dir = dir.parent_path();  // "orders-0/" names orders-0
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw CliError(ExitCode::error,
                   fmt::format("{}: {}: {}", kCommand, name,
                               fs::exists(dir, ec) ? "not a directory" : "no such directory"),
                   "give a partition directory (<log.dirs>/<topic>-<partition>) or a log dir");
  }
  if (auto bases = segment_bases(dir); !bases.empty()) return {check_partition(dir, bases)};
  std::vector<fs::path> partitions;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code sub;
    if (!it->is_directory(sub)) continue;
    // A partition being deleted is renamed <topic>-<partition>.<id>-delete.
    if (it->path().filename().string().ends_with("-delete")) continue;
    partitions.push_back(it->path());
  }
  if (ec) throw read_error(fmt::format("{}: {}", name, ec.message()));
  std::sort(partitions.begin(), partitions.end());
  std::vector<PartitionCheck> out;
  for (const fs::path& p : partitions) {
    if (auto bases = segment_bases(p); !bases.empty()) out.push_back(check_partition(p, bases));
  }
  if (out.empty()) {
    throw CliError(ExitCode::error, fmt::format("{}: {}: no segment files", kCommand, name),
                   "give a partition directory (<log.dirs>/<topic>-<partition>) or a log dir");
  }
  return out;
}

std::string offsets_text(const FoundDamage& d) {
  const storage::DamagedRange& r = d.range;
  if (d.torn_tail) return fmt::format("a torn tail after offset {}", r.first_offset - 1);
  if (r.next_offset > r.first_offset)
    return fmt::format("offsets {}..{} cannot be read", r.first_offset, r.next_offset - 1);
  return "no offset is lost";
}

Value check_value(const PartitionCheck& c) {
  Value damaged = Value::array();
  for (const FoundDamage& d : c.damaged) {
    damaged.push(Value::object()
                     .set("segment", d.segment.string())
                     .set("segment_base_offset", d.range.segment_base)
                     .set("start_position", static_cast<int64_t>(d.range.start_position))
                     .set("end_position", static_cast<int64_t>(d.range.end_position))
                     .set("size", static_cast<int64_t>(d.range.size()))
                     .set("first_offset", non_negative_or_null(d.range.first_offset))
                     .set("next_offset", non_negative_or_null(d.range.next_offset))
                     .set("torn_tail", d.torn_tail)
                     .set("reason", d.range.reason));
  }
  return Value::object()
      .set("dir", c.dir.string())
      .set("topic", c.tp ? Value(c.tp->topic) : Value())
      .set("partition", c.tp ? Value(c.tp->partition) : Value())
      .set("segments", static_cast<int64_t>(c.segments))
      .set("batches", static_cast<int64_t>(c.batches))
      .set("records", static_cast<int64_t>(c.records))
      .set("bytes", static_cast<int64_t>(c.bytes))
      .set("ok", c.damaged.empty())
      .set("damaged", std::move(damaged));
}

void print_table(const std::vector<PartitionCheck>& checks) {
  std::vector<std::vector<std::string>> rows;
  for (const PartitionCheck& c : checks) {
    const size_t n = c.damaged.size();
    rows.push_back(
        {c.dir.filename().string(), std::to_string(c.segments), std::to_string(c.batches),
         std::to_string(c.records), human_bytes(static_cast<int64_t>(c.bytes)),
         n == 0 ? styled("ok", Style::good)
                : styled(fmt::format("{} damaged range{}", n, n == 1 ? "" : "s"), Style::error)});
  }
  fmt::print("{}",
             format_table({"PARTITION", "SEGMENTS", "BATCHES", "RECORDS", "SIZE", "STATUS"}, rows));
  for (const PartitionCheck& c : checks) {
    for (const FoundDamage& d : c.damaged) {
      fmt::print("\n{}: {} bytes {}..{} ({} bytes): {}\n  {}\n", c.dir.filename().string(),
                 d.segment.filename().string(), d.range.start_position, d.range.end_position - 1,
                 d.range.size(), offsets_text(d), d.range.reason);
      if (d.torn_tail) {
        fmt::print("  the broker cuts it off when it recovers from a crash\n");
      } else if (c.tp && d.range.next_offset >= 0) {
        fmt::print(
            "  to skip it (this also deletes the records before it): kfk topic trim {} "
            "-p {} --offset {}\n",
            c.tp->topic, c.tp->partition, d.range.next_offset);
      }
    }
  }
}

void run_verify(const GlobalOptions& opts, const VerifyOptions& options) {
  std::vector<PartitionCheck> checks;
  for (const auto& dir : options.dirs) {
    auto found = check_dir(dir);
    checks.insert(checks.end(), std::make_move_iterator(found.begin()),
                  std::make_move_iterator(found.end()));
  }
  const OutputFormat format = listing_format(opts);
  if (format == OutputFormat::json || format == OutputFormat::yaml) {
    Value out = Value::array();
    for (const PartitionCheck& c : checks) out.push(check_value(c));
    print_value(out, format);
  } else {
    print_table(checks);
  }
  size_t damaged = 0;
  for (const PartitionCheck& c : checks) damaged += c.damaged.empty() ? 0 : 1;
  if (damaged > 0) {
    throw CliError(ExitCode::damaged,
                   fmt::format("{}: {} of {} partition{} damaged", kCommand, damaged, checks.size(),
                               checks.size() == 1 ? "" : "s"),
                   "see the ranges above; `kfk topic describe` shows what the broker knows of "
                   "them");
  }
}

}  // namespace

void add_verify_log_command(CLI::App& debug, GlobalOptions& opts) {
  auto options = std::make_shared<VerifyOptions>();
  auto* cmd = debug.add_subcommand(
      "verify-log",
      "CRC-check every batch of a partition directory or a log dir and report damaged ranges");
  cmd->add_option("dir", options->dirs,
                  "Partition directories (<log.dirs>/<topic>-<partition>) or log dirs")
      ->required()
      ->type_name("DIR");
  add_footer(*cmd,
             "Exit status: 0 all intact, 6 damage found, 1 unreadable.\n"
             "JSON (-o json): [{\"dir\": str, \"topic\": str|null, \"partition\": int|null, "
             "\"segments\": int, \"batches\": int, \"records\": int, \"bytes\": int, \"ok\": bool, "
             "\"damaged\": [{\"segment\": str, \"segment_base_offset\": int, "
             "\"start_position\": int, \"end_position\": int, \"size\": int, "
             "\"first_offset\": int|null, \"next_offset\": int|null, \"torn_tail\": bool, "
             "\"reason\": str}]}]");
  cmd->callback([&opts, options] { run_verify(opts, *options); });
}

}  // namespace kfk::cli

// kfk debug dump-log: decodes the files of a partition directory, as kafka-dump-log does.
//
//   <base>.log        every batch: offsets, position, size, CRC check, codec, producer id,
//                     epoch and sequences, timestamps; with --deep every record (key, value,
//                     headers). Legacy message sets (magic 0 and 1) are shown too.
//   <base>.index      offset index entries: absolute offset and log position
//   <base>.timeindex  time index entries: timestamp and absolute offset
//
// The file layouts are documented in record/record_batch.h and server/storage/*_index.h. The
// bytes are untrusted: a batch with a bad CRC is reported and the walk goes on; a framing error
// (a length past the end, a torn tail) is reported with its position and ends the walk. The
// file is read one batch at a time, so a segment of any size is dumped in bounded memory.
#include <fmt/core.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "cli/output_value.h"
#include "cli/record_format.h"
#include "cli/tool_commands.h"
#include "core/record/control_record.h"
#include "core/record/legacy_records.h"
#include "core/record/record_batch.h"
#include "core/util/big_endian.h"
#include "server/storage/offset_index.h"
#include "server/storage/time_index.h"

namespace kfk::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCommand = "kfk debug dump-log";
// The smallest legacy entry (v0: crc, magic, attributes, key and value lengths).
constexpr int32_t kMinEntryBody = 14;

struct DumpOptions {
  std::vector<std::string> files;
  bool deep = false;
};

// The base offset a segment file's name carries ("00000000000000000042.log" -> 42); 0 when
// the name is not a number.
int64_t base_offset_of(const fs::path& path) {
  const std::string stem = path.stem().string();
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), value);
  if (stem.empty() || ec != std::errc() || end != stem.data() + stem.size() || value < 0) return 0;
  return value;
}

// Bytes for a human: text as it is when printable UTF-8, else printable ASCII with \xNN
// escapes for everything else.
std::string printable(const record::NullableBytes& bytes) {
  if (!bytes) return "null";
  const bool utf8 = valid_utf8(*bytes);
  std::string out;
  for (uint8_t c : *bytes) {
    if ((c >= 0x20 && c < 0x7f && c != '\\') || (utf8 && c >= 0x80)) {
      out += static_cast<char>(c);
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

// The field `name` for a nullable byte field: a string for UTF-8, null for null, and
// `name_base64` for anything else.
void set_bytes(Value& object, std::string_view name, const record::NullableBytes& bytes) {
  if (!bytes) {
    object.set(std::string(name), nullptr);
  } else if (valid_utf8(*bytes)) {
    object.set(std::string(name),
               std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  } else {
    object.set(std::string(name) + "_base64", to_base64(*bytes));
  }
}

// Reads exactly `n` bytes at `pos`.
bool read_at(std::FILE* file, uint64_t pos, uint8_t* out, size_t n) {
  if (std::fseek(file, static_cast<long>(pos), SEEK_SET) != 0) return false;
  return std::fread(out, 1, n, file) == n;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Prints a dump as text or as one JSON object per file (one line), filling the object's
// fields as the walk goes.
class Printer {
 public:
  explicit Printer(bool json) : json_(json) {}
  bool json() const { return json_; }

  void begin(const fs::path& path, std::string_view type, int64_t base_offset, uint64_t size,
             std::string_view list_name) {
    if (json_) {
      list_.begin(Value::object()
                      .set("file", path.string())
                      .set("type", type)
                      .set("base_offset", base_offset)
                      .set("size", size),
                  list_name);
    } else {
      fmt::print("Dumping {} ({}, base offset {}, {} bytes)\n", path.string(), type, base_offset,
                 size);
    }
  }
  // One item of the JSON list.
  void item(const Value& item) { list_.item(item); }
  // Closes the JSON object with the summary fields (an object) and the error.
  void end(Value summary, const std::string& error) {
    if (json_) {
      list_.end(summary.set("error", error.empty() ? Value() : Value(error)));
    } else if (!error.empty()) {
      fmt::print("Error: {}\n", error);
    }
    std::fflush(stdout);
  }

 private:
  bool json_;
  StreamedJsonList list_;
};

std::string control_description(const record::RecordView& r) {
  if (!r.key) return {};
  const auto key = record::parse_control_key(*r.key);
  if (!key) return "invalid control key";
  if (key->type == static_cast<int16_t>(record::ControlRecordType::abort) ||
      key->type == static_cast<int16_t>(record::ControlRecordType::commit)) {
    const bool commit = key->type == static_cast<int16_t>(record::ControlRecordType::commit);
    std::optional<record::EndTxnMarker> marker;
    if (r.value) marker = record::parse_end_txn_marker(*r.value);
    if (!marker)
      return fmt::format("endTxnMarker: {} (invalid value)", commit ? "COMMIT" : "ABORT");
    return fmt::format("endTxnMarker: {} coordinatorEpoch: {}", commit ? "COMMIT" : "ABORT",
                       marker->coordinator_epoch);
  }
  return fmt::format("controlType: {}", key->type);
}

void print_record(Printer& out, const record::BatchView& batch, const record::RecordView& r,
                  Value& json_records) {
  const bool has_sequence = batch.magic() >= record::kMagicV2 && batch.base_sequence() >= 0;
  const int64_t sequence =
      has_sequence ? batch.base_sequence() + (r.offset - batch.base_offset()) : -1;
  const bool log_append = batch.magic() >= record::kMagicV2 &&
                          batch.timestamp_type() == record::TimestampType::log_append_time;
  const std::string control = batch.is_control() ? control_description(r) : std::string();
  if (out.json()) {
    Value item = Value::object()
                     .set("offset", r.offset)
                     .set("timestamp", r.timestamp)
                     .set("sequence", sequence)
                     .set("key_size", r.key ? int64_t(r.key->size()) : -1)
                     .set("value_size", r.value ? int64_t(r.value->size()) : -1);
    set_bytes(item, "key", r.key);
    set_bytes(item, "value", r.value);
    Value headers = Value::array();
    for (const auto& h : r.headers) {
      Value header = Value::object().set("key", h.key);
      set_bytes(header, "value", h.value);
      headers.push(std::move(header));
    }
    item.set("headers", std::move(headers));
    if (!control.empty()) item.set("control", control);
    json_records.push(std::move(item));
    return;
  }
  std::string line = fmt::format("| offset: {} {}: {} keySize: {} valueSize: {} sequence: {}",
                                 r.offset, log_append ? "LogAppendTime" : "CreateTime", r.timestamp,
                                 r.key ? int64_t(r.key->size()) : -1,
                                 r.value ? int64_t(r.value->size()) : -1, sequence);
  std::string header_text;
  for (const auto& h : r.headers) {
    if (!header_text.empty()) header_text += ',';
    header_text += fmt::format("{}={}", h.key, printable(h.value));
  }
  line += fmt::format(" headers: [{}]", header_text);
  if (!control.empty()) {
    line += ' ' + control;
  } else {
    line += fmt::format(" key: {} payload: {}", printable(r.key), printable(r.value));
  }
  fmt::print("{}\n", line);
}

struct LogTotals {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t crc_failures = 0;
  uint64_t valid_bytes = 0;
};

// One batch (or legacy entry) whose framing fits the file.
void dump_batch(Printer& out, const std::vector<uint8_t>& bytes, uint64_t position, bool deep,
                LogTotals& totals) {
  const record::BatchView batch(bytes);
  const int8_t magic = batch.magic();
  std::string problem;
  bool crc_valid = true;
  record::DecodedRecords decoded;
  std::string decode_problem;
  const bool v2 = magic == record::kMagicV2;

  if (v2) {
    crc_valid = bytes.size() >= record::kBatchHeaderSize && batch.compute_crc() == batch.crc();
    record::ValidateOptions options;
    options.verify_crc = false;
    if (auto e = batch.validate(options); !e.ok()) problem = e.message();
  }
  if (deep || !v2) {
    record::DecodeOptions options;
    options.verify_crc = !v2;  // legacy: the decoder is what checks the CRC
    const auto e = record::decode_any_records(batch, decoded, options);
    if (!v2 && e.kind == record::BatchErrorKind::crc_mismatch) {
      crc_valid = false;
      options.verify_crc = false;
      decoded = {};
      const auto again = record::decode_any_records(batch, decoded, options);
      if (!again.ok()) decode_problem = again.message();
    } else if (!e.ok()) {
      decode_problem = e.message();
    }
  }
  ++totals.batches;
  if (!crc_valid) ++totals.crc_failures;

  const int64_t base = batch.base_offset();
  const int64_t last =
      v2 ? batch.last_offset() : (decoded.records.empty() ? base : decoded.records.back().offset);
  const int64_t count = v2 ? batch.records_count() : static_cast<int64_t>(decoded.records.size());
  totals.records += count > 0 ? static_cast<uint64_t>(count) : 0;
  // Legacy entries keep their attributes byte after offset, size, crc and magic.
  const auto codec = record::compression_from_id(v2 ? batch.codec_id()
                                                    : (bytes[17] & record::batch_attr::codec_mask));
  const std::string codec_name = codec ? std::string(record::to_string(*codec)) : "unknown";
  const int32_t base_sequence = v2 ? batch.base_sequence() : -1;
  const int64_t last_sequence =
      base_sequence >= 0 ? base_sequence + batch.last_offset_delta() : int64_t{-1};
  const bool log_append = v2 && batch.timestamp_type() == record::TimestampType::log_append_time;
  if (!decode_problem.empty() && problem.empty()) problem = decode_problem;

  Value json_records = Value::array();
  if (out.json()) {
    if (deep) {
      for (const auto& r : decoded.records) print_record(out, batch, r, json_records);
    }
    Value item = Value::object()
                     .set("base_offset", base)
                     .set("last_offset", last)
                     .set("count", count)
                     .set("position", position)
                     .set("size", bytes.size())
                     .set("magic", magic)
                     .set("crc", v2 ? batch.crc() : load_be<uint32_t>(bytes.data() + 12))
                     .set("crc_valid", crc_valid)
                     .set("compression", codec_name);
    if (v2) {
      item.set("timestamp_type", log_append ? "LogAppendTime" : "CreateTime")
          .set("base_timestamp", batch.base_timestamp())
          .set("max_timestamp", batch.max_timestamp())
          .set("producer_id", batch.producer_id())
          .set("producer_epoch", batch.producer_epoch())
          .set("base_sequence", base_sequence)
          .set("last_sequence", last_sequence)
          .set("partition_leader_epoch", batch.partition_leader_epoch())
          .set("is_transactional", batch.is_transactional())
          .set("is_control", batch.is_control());
    }
    if (!problem.empty()) item.set("problem", problem);
    if (deep) item.set("records", std::move(json_records));
    out.item(item);
    return;
  }
  if (v2) {
    fmt::print(
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} "
        "producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} "
        "isControl: {} position: {} {}: {} size: {} magic: {} compresscodec: {} crcValid: {}\n",
        base, last, count, base_sequence, last_sequence, batch.producer_id(),
        batch.producer_epoch(), batch.partition_leader_epoch(), batch.is_transactional(),
        batch.is_control(), position, log_append ? "LogAppendTime" : "CreateTime",
        batch.max_timestamp(), bytes.size(), magic, codec_name, crc_valid);
  } else {
    fmt::print(
        "baseOffset: {} lastOffset: {} count: {} position: {} size: {} magic: {} "
        "compresscodec: {} crcValid: {}\n",
        base, last, count, position, bytes.size(), magic, codec_name, crc_valid);
  }
  if (!problem.empty()) fmt::print("  problem: {}\n", problem);
  if (deep) {
    for (const auto& r : decoded.records) print_record(out, batch, r, json_records);
  }
}

// Walks the batches of a .log file. Returns the error that ended the walk, if any.
std::string dump_segment(Printer& out, const fs::path& path, std::FILE* file, uint64_t size,
                         bool deep) {
  out.begin(path, "log", base_offset_of(path), size, "batches");
  LogTotals totals;
  std::string error;
  uint64_t pos = 0;
  std::vector<uint8_t> bytes;
  while (pos < size) {
    const uint64_t remaining = size - pos;
    uint8_t head[record::kLogOverhead + 5];
    const size_t head_size = static_cast<size_t>(std::min<uint64_t>(sizeof head, remaining));
    if (!read_at(file, pos, head, head_size)) {
      error = fmt::format("read failed at position {}", pos);
      break;
    }
    if (remaining < sizeof head) {
      error = fmt::format("{} bytes at position {} are too few for a batch (torn tail)", remaining,
                          pos);
      break;
    }
    const auto length = load_be<int32_t>(head + 8);
    const int8_t magic = static_cast<int8_t>(head[record::batch_pos::magic]);
    if (length == 0 && load_be<uint64_t>(head) == 0) {
      error = fmt::format("zero bytes from position {} on (preallocated or torn tail)", pos);
      break;
    }
    if (magic < record::kMagicV0 || magic > record::kMagicV2) {
      error = fmt::format("batch at position {} has magic {} (not 0, 1 or 2)", pos, magic);
      break;
    }
    const int32_t min_length =
        magic == record::kMagicV2
            ? static_cast<int32_t>(record::kBatchHeaderSize - record::kLogOverhead)
            : kMinEntryBody;
    if (length < min_length) {
      error = fmt::format("batch at position {} has length {}, below the minimum {}", pos, length,
                          min_length);
      break;
    }
    const uint64_t total = record::kLogOverhead + static_cast<uint64_t>(length);
    if (total > remaining) {
      error =
          fmt::format("batch at position {} is {} bytes but only {} remain in the file (truncated)",
                      pos, total, remaining);
      break;
    }
    bytes.resize(total);
    if (!read_at(file, pos, bytes.data(), bytes.size())) {
      error = fmt::format("read failed at position {}", pos);
      break;
    }
    dump_batch(out, bytes, pos, deep, totals);
    pos += total;
  }
  totals.valid_bytes = pos;
  if (!out.json()) {
    fmt::print("{} batches, {} records, {} valid bytes{}\n", totals.batches, totals.records,
               totals.valid_bytes,
               totals.crc_failures > 0 ? fmt::format(", {} CRC failures", totals.crc_failures)
                                       : std::string());
  }
  out.end(Value::object()
              .set("batch_count", totals.batches)
              .set("record_count", totals.records)
              .set("crc_failures", totals.crc_failures)
              .set("valid_bytes", totals.valid_bytes),
          error);
  if (error.empty() && totals.crc_failures > 0) {
    error = fmt::format("{} batch{} failed the CRC check", totals.crc_failures,
                        totals.crc_failures == 1 ? "" : "es");
  }
  return error;
}

// Checks offset index entries against the segment's .log beside the index, as Kafka's index
// sanity check does: an entry must point at the start of a batch whose last offset is the
// entry's offset.
class LogCheck {
 public:
  explicit LogCheck(const fs::path& index_path) {
    if (index_path.empty()) return;
    fs::path log = index_path;
    log.replace_extension(".log");
    std::error_code ec;
    if (!fs::is_regular_file(log, ec)) return;
    size_ = fs::file_size(log, ec);
    if (!ec) file_.reset(std::fopen(log.c_str(), "rb"));
  }
  bool active() const { return file_ != nullptr; }

  // Empty when the entry matches the log, else what is wrong.
  std::string check(int64_t offset, int64_t position) const {
    uint8_t head[record::batch_pos::base_timestamp];
    if (position < 0 || static_cast<uint64_t>(position) + sizeof head > size_ ||
        !read_at(file_.get(), static_cast<uint64_t>(position), head, sizeof head)) {
      return fmt::format("position {} is past the end of the log ({} bytes)", position, size_);
    }
    if (static_cast<int8_t>(head[record::batch_pos::magic]) != record::kMagicV2) {
      return fmt::format("no record batch starts at position {} of the log", position);
    }
    const auto base = load_be<int64_t>(head + record::batch_pos::base_offset);
    const auto delta = load_be<int32_t>(head + record::batch_pos::last_offset_delta);
    if (base + delta != offset) {
      return fmt::format("the batch at position {} ends at offset {}, not {}", position,
                         base + delta, offset);
    }
    return {};
  }

 private:
  File file_;
  uint64_t size_ = 0;
};

// Walks an .index or .timeindex file, decoding its entries with the broker's codec (Entry:
// storage::OffsetIndexEntry or storage::TimeIndexEntry).
template <class Entry>
std::string dump_index(Printer& out, const fs::path& path, std::FILE* file, uint64_t size) {
  constexpr bool time_index = std::is_same_v<Entry, storage::TimeIndexEntry>;
  const int64_t base = base_offset_of(path);
  const size_t entry_size = Entry::kSize;
  out.begin(path, time_index ? "time_index" : "offset_index", base, size, "entries");
  std::string error;
  uint64_t entries = 0;
  uint64_t unused_bytes = 0;
  std::optional<typename Entry::Value> previous;
  uint64_t mismatches = 0;
  const LogCheck log_check(time_index ? fs::path() : path);
  std::vector<uint8_t> chunk(entry_size * 4096);
  uint64_t pos = 0;
  bool done = false;
  while (pos < size && !done) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - pos));
    if (!read_at(file, pos, chunk.data(), n)) {
      error = fmt::format("read failed at position {}", pos);
      break;
    }
    for (size_t i = 0; i + entry_size <= n; i += entry_size) {
      const typename Entry::Value entry = Entry::decode(chunk.data() + i, base);
      const int64_t offset = entry.offset;
      int64_t key;  // position or timestamp
      if constexpr (time_index)
        key = entry.timestamp;
      else
        key = entry.position;
      if (entries > 0 && key == 0 && offset == base) {
        // The zeroed slots of an index preallocated while its segment was active.
        unused_bytes = size - (pos + i);
        done = true;
        break;
      }
      std::string problem;
      if (previous && !Entry::follows(*previous, entry))
        problem = Entry::disorder(*previous, entry);
      if (!problem.empty()) {
        problem = "out of order: " + problem;
        if (error.empty()) error = fmt::format("entry {} {}", entries, problem);
      } else if (log_check.active()) {
        problem = log_check.check(offset, key);
        if (!problem.empty()) ++mismatches;
      }
      previous = entry;
      ++entries;
      if (out.json()) {
        Value item = time_index ? Value::object().set("timestamp", key).set("offset", offset)
                                : Value::object().set("offset", offset).set("position", key);
        if (!problem.empty()) item.set("problem", problem);
        out.item(item);
      } else if (time_index) {
        fmt::print("timestamp: {} offset: {}{}\n", key, offset,
                   problem.empty() ? "" : "  (" + problem + ")");
      } else {
        fmt::print("offset: {} position: {}{}\n", offset, key,
                   problem.empty() ? "" : "  (" + problem + ")");
      }
    }
    if (!done && n % entry_size != 0 && pos + n == size) {
      error = fmt::format("{} trailing bytes are not a whole {}-byte entry (truncated)",
                          n % entry_size, entry_size);
    }
    pos += n - n % entry_size;
    if (n < entry_size) break;
  }
  if (mismatches > 0 && error.empty()) {
    error =
        fmt::format("{} entr{} do not match the log", mismatches, mismatches == 1 ? "y" : "ies");
  }
  if (!out.json()) {
    fmt::print("{} entries{}{}\n", entries,
               unused_bytes > 0 ? fmt::format(", {} unused (zeroed) bytes at the end", unused_bytes)
                                : std::string(),
               log_check.active() ? ", checked against the log" : "");
  }
  out.end(Value::object()
              .set("entry_count", entries)
              .set("unused_bytes", unused_bytes)
              .set("checked_against_log", log_check.active()),
          error);
  return error;
}

// Dumps one file; returns an error for the summary, empty when all was well.
std::string dump_file(Printer& out, const std::string& name, bool deep) {
  const fs::path path(name);
  const std::string ext = path.extension().string();
  if (ext != ".log" && ext != ".index" && ext != ".timeindex") {
    throw CliError(ExitCode::usage,
                   fmt::format("{}: {}: not a segment file (expected .log, .index or .timeindex)",
                               kCommand, name),
                   "give a file of a partition directory, e.g. "
                   "logs/orders-0/00000000000000000000.log");
  }
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw CliError(ExitCode::error,
                   fmt::format("{}: {}: {}", kCommand, name,
                               fs::exists(path, ec) ? "not a regular file" : "no such file"),
                   "check the path; segment files are in <log.dirs>/<topic>-<partition>/");
  }
  const uint64_t size = fs::file_size(path, ec);
  File file(std::fopen(name.c_str(), "rb"));
  if (!file || ec) {
    throw CliError(ExitCode::error,
                   fmt::format("{}: {}: cannot open: {}", kCommand, name, std::strerror(errno)));
  }
  if (ext == ".log") return dump_segment(out, path, file.get(), size, deep);
  if (ext == ".timeindex") return dump_index<storage::TimeIndexEntry>(out, path, file.get(), size);
  return dump_index<storage::OffsetIndexEntry>(out, path, file.get(), size);
}

void run_dump(const GlobalOptions& opts, const DumpOptions& options) {
  Printer out(opts.output == OutputFormat::json);
  std::vector<std::string> failures;
  for (const auto& name : options.files) {
    auto error = dump_file(out, name, options.deep);
    if (!error.empty()) failures.push_back(name + ": " + error);
  }
  if (failures.empty()) return;
  std::string message = fmt::format("{}: {}", kCommand, failures.front());
  if (failures.size() > 1) message += fmt::format(" (and {} more files)", failures.size() - 1);
  throw CliError(ExitCode::error, message,
                 "the file is damaged: recovery after a crash cuts a torn tail off the last "
                 "segment and keeps damage anywhere else (`kfk debug verify-log DIR` finds "
                 "every damaged range); what is printed above it is intact");
}

}  // namespace

void add_dump_log_command(CLI::App& debug, GlobalOptions& opts) {
  auto options = std::make_shared<DumpOptions>();
  auto* cmd = debug.add_subcommand(
      "dump-log", "Decode segment files: .log batches and records, .index and .timeindex entries");
  cmd->add_option("file", options->files, "Segment files (.log, .index, .timeindex)")
      ->required()
      ->type_name("FILE");
  cmd->add_flag("--deep,--deep-iteration", options->deep,
                "Also print every record of a .log file: key, value, headers");
  cmd->callback([&opts, options] { run_dump(opts, *options); });
}

}  // namespace kfk::cli

// kfk produce: writes records read from stdin or files (-f) to a topic.
//
// Input forms: one record per line (the default; -K SEP splits key and value), a format
// string (--format '%k\t%v\n'), or JSON lines (--format json) as `kfk consume --format json`
// prints them (record_format.h). -k gives every record a key, -H adds headers, --null-value
// turns a value into a tombstone. A partition the input names (JSON "partition", %p) that
// the topic lacks, as when copying a topic into a smaller or auto-created one, is left to the
// partitioner (by key), said once on stderr; --keep-partition refuses such records instead.
//
// Records are batched per partition; a batch goes out when it is full, when the input has
// been quiet for linger.ms or a batch has waited that long (so interactive input is sent line
// by line), and at the end of input. --print-offsets prints where each record landed; failed
// records are reported on stderr naming their place in the input, and the command exits
// non-zero. Producing from files to a terminal shows a progress line on stderr.
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/record_format.h"
#include "core/client/producer.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct ProduceOptions {
  std::string topic;
  std::vector<std::string> files;
  std::string format;
  std::string key;
  bool key_given = false;
  std::string key_separator;
  int32_t partition = -1;
  std::string partitioner;
  std::string null_value;
  bool null_value_given = false;
  std::string acks;
  std::string compression;
  int64_t linger_ms = -1;
  int64_t batch_bytes = -1;
  std::string rate;
  bool print_offsets = false;
  std::vector<std::string> headers;  // KEY=VALUE
  std::string transactional_id;
  bool keep_partition = false;
};

int16_t parse_acks(const std::string& text) {
  if (text == "all" || text == "-1") return -1;
  return text == "0" ? int16_t{0} : int16_t{1};
}

protocol::Bytes to_bytes(std::string_view s) { return protocol::Bytes(s.begin(), s.end()); }

// "1000", "1000/s", "2.5/s": records per second; nullopt when malformed or not positive.
std::optional<double> parse_rate(std::string_view text) {
  if (text.ends_with("/s")) text.remove_suffix(2);
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const double rate = std::stod(std::string(text), &used);
    if (used != text.size() || !(rate > 0)) return std::nullopt;
    return rate;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

client::PartitionerKind partitioner_from_config(const config::ClientConfig& cfg) {
  if (cfg.partitioner_ignore_keys) return client::PartitionerKind::sticky;
  return client::parse_partitioner(cfg.values.get_string("partitioner"))
      .value_or(client::PartitionerKind::murmur2_random);
}

// Where a record came from, for error messages.
struct Origin {
  size_t source = 0;
  size_t line = 0;  // 1-based
};

class Run {
 public:
  Run(const GlobalOptions& g, const ProduceOptions& o, std::string command)
      : g_(g), o_(o), command_(std::move(command)) {}

  void run() {
    const auto cfg = client_config(g_, command_);
    setup_input();
    client::Client client(client_options(g_, cfg));
    client::Producer producer(client, producer_options(cfg));
    linger_ = std::chrono::milliseconds(
        std::min<int64_t>(o_.linger_ms >= 0 ? o_.linger_ms : cfg.linger_ms, 60'000));
    for (const auto& h : o_.headers) {
      auto [key, value] = split_key_value(h);
      headers_.push_back(record::Header{key, to_bytes(value)});
    }
    // Fail early, before reading input, when the topic or partition is wrong.
    client_ = &client;
    const auto& topic = existing_topic(client, o_.topic, command_, cfg.allow_auto_create_topics);
    if (o_.partition >= topic.partition_count()) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: partition {} does not exist: topic '{}' has {} partition{}",
                                 command_, o_.partition, o_.topic, topic.partition_count(),
                                 topic.partition_count() == 1 ? "" : "s"));
    }
    started_ = Clock::now();
    std::exception_ptr input_error;
    try {
      for (size_t i = 0; i < sources_.size() && !interrupted(); ++i) read_source(producer, i);
    } catch (const CliError&) {
      // Send what was read before the bad input, then report it.
      input_error = std::current_exception();
    }
    report(producer.flush());
    clear_progress();
    if (input_error) std::rethrow_exception(input_error);
    if (failed_ > 0) {
      const std::string what =
          failed_ == sent_ ? fmt::format("{} record{} failed", failed_, failed_ == 1 ? "" : "s")
                           : fmt::format("{} of {} records failed", failed_, sent_);
      CliError e = kafka_error(first_error_, fmt::format("{}: {}", command_, what));
      throw CliError(
          e.code(),
          std::string(e.what()) + (first_message_.empty() ? "" : " (" + first_message_ + ")"),
          e.hint());
    }
    if (interrupted()) {
      // Ctrl-C or SIGTERM: what was read has been flushed; say how much of it arrived.
      if (!g_.quiet) fmt::print(stderr, "{}\n", summary());
      exit_interrupted();
    }
    if (notes_enabled(g_)) {
      fmt::print(stderr, "{}\n", summary());
    } else {
      spdlog::info("{} record{} written to {}", sent_, sent_ == 1 ? "" : "s", o_.topic);
    }
  }

 private:
  struct Source {
    std::string name;  // "stdin" or the path
    int fd = -1;
    bool owned = false;
    uint64_t size = 0;  // regular files only
  };

  client::ProducerOptions producer_options(const config::ClientConfig& cfg) {
    client::ProducerOptions po;
    po.acks = o_.acks.empty() ? cfg.acks : parse_acks(o_.acks);
    po.compression =
        o_.compression.empty() ? cfg.compression : *record::parse_compression(o_.compression);
    if (po.compression == record::Compression::gzip &&
        g_.properties.count("compression.gzip.level") > 0) {
      po.compression_level = cfg.compression_gzip_level;
    } else if (po.compression == record::Compression::lz4 &&
               g_.properties.count("compression.lz4.level") > 0) {
      po.compression_level = cfg.compression_lz4_level;
    } else if (po.compression == record::Compression::zstd &&
               g_.properties.count("compression.zstd.level") > 0) {
      po.compression_level = cfg.compression_zstd_level;
    }
    const int64_t batch = o_.batch_bytes >= 0 ? o_.batch_bytes : cfg.batch_size;
    po.batch_size = static_cast<size_t>(std::max<int64_t>(batch, 1));
    po.max_request_size = static_cast<size_t>(cfg.max_request_size);
    po.retries = cfg.retries;
    po.delivery_timeout = std::chrono::milliseconds(cfg.delivery_timeout_ms);
    po.idempotence = cfg.enable_idempotence;  // in effect only with acks=all
    po.transaction_timeout_ms = cfg.transaction_timeout_ms;
    po.partitioner = partitioner_from_config(cfg);
    if (!o_.partitioner.empty()) po.partitioner = *client::parse_partitioner(o_.partitioner);
    return po;
  }

  void setup_input() {
    if (!o_.rate.empty()) rate_ = parse_rate(o_.rate);
    if (o_.format == "json") {
      json_ = true;
    } else if (!o_.format.empty()) {
      std::string text = o_.format;
      std::string error;
      auto parsed = RecordTemplate::parse(text, RecordTemplate::Use::read, error);
      // A record must end with literal text: without one, a newline ends it.
      if (parsed && parsed->ends_with_token()) {
        text += "\\n";
        parsed = RecordTemplate::parse(text, RecordTemplate::Use::read, error);
      }
      if (!parsed)
        throw CliError(ExitCode::usage, fmt::format("{}: --format: {}", command_, error));
      template_ = std::move(parsed);
    }
    if (o_.files.empty()) {
      sources_.push_back(Source{"stdin", STDIN_FILENO, false, 0});
    }
    for (const auto& path : o_.files) {
      if (path == "-") {
        sources_.push_back(Source{"stdin", STDIN_FILENO, false, 0});
        continue;
      }
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        throw CliError(ExitCode::error,
                       fmt::format("{}: cannot open {}: {}", command_, path, std::strerror(errno)),
                       "check the path given with -f");
      }
      struct stat st {};
      uint64_t size = 0;
      if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<uint64_t>(st.st_size);
      sources_.push_back(Source{path, fd, true, size});
      total_bytes_ += size;
      progress_ = true;
    }
    // A progress line only for people watching files being sent.
    progress_ = progress_ && total_bytes_ > 0 && !g_.quiet && ::isatty(STDERR_FILENO) == 1;
  }

  // "kfk produce: 3 records acknowledged, 1.2 KiB in 0.4 s" (bytes: input read).
  std::string summary() const {
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    std::string text =
        fmt::format("{}: {} record{} acknowledged", command_, acked_, acked_ == 1 ? "" : "s");
    if (acked_ != sent_) text += fmt::format(" of {} sent", sent_);
    return text +
           fmt::format(", {} in {:.1f} s", human_bytes(static_cast<int64_t>(bytes_read_)), seconds);
  }

  std::string where(const Origin& origin) const {
    const auto& name = sources_[origin.source].name;
    return name == "stdin" ? fmt::format("line {}", origin.line)
                           : fmt::format("{} line {}", name, origin.line);
  }

  [[noreturn]] void bad_input(const Origin& origin, const std::string& what) {
    throw CliError(ExitCode::error,
                   fmt::format("{}: bad input at {}: {}", command_, where(origin), what),
                   json_ ? "each line must be one JSON object as 'kfk consume --format json' "
                           "prints them"
                         : "the input must follow --format");
  }

  // The partition an input record names (JSON "partition", %p), or nullopt when the topic does
  // not have it: copying a topic into a smaller one (or one just auto-created) places those
  // records by key, as the partitioner would, unless --keep-partition insists.
  std::optional<int32_t> input_partition(int32_t partition, const Origin& origin) {
    const int32_t count = client_->topic(o_.topic).partition_count();
    if (partition < count) return partition;
    const std::string missing =
        fmt::format("partition {} does not exist: topic '{}' has {} partition{}", partition,
                    o_.topic, count, count == 1 ? "" : "s");
    if (o_.keep_partition) {
      throw CliError(ExitCode::error,
                     fmt::format("{}: bad input at {}: {}", command_, where(origin), missing),
                     fmt::format("add partitions ('kfk topic add-partitions {} {}') or leave out "
                                 "--keep-partition to place such records by key",
                                 o_.topic, partition + 1));
    }
    if (!warned_repartition_ && !g_.quiet) {
      clear_progress();
      fmt::print(stderr,
                 "{}: topic '{}' has {} partition{}, the input names partition {} ({}): records "
                 "for partitions it lacks are placed by key (--keep-partition refuses them)\n",
                 command_, o_.topic, count, count == 1 ? "" : "s", partition, where(origin));
    }
    warned_repartition_ = true;
    return std::nullopt;
  }

  // Waits as --rate asks before record number sent_ goes out.
  void pace(client::Producer& producer) {
    if (!rate_) return;
    const auto due = started_ + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(sent_ / *rate_));
    while (!interrupted()) {
      const auto now = Clock::now();
      if (now >= due) return;
      if (producer.has_pending() && due - now >= linger_) {
        report(producer.flush());
        continue;
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(due - now, std::chrono::milliseconds(100)));
    }
  }

  void produce(client::Producer& producer, InputRecord in, const Origin& origin) {
    pace(producer);
    client::ProducerRecord rec;
    rec.topic = o_.topic;
    if (o_.partition >= 0) {
      rec.partition = o_.partition;
    } else if (in.partition) {
      rec.partition = input_partition(*in.partition, origin);
    }
    if (in.has_key) {
      rec.key = std::move(in.key);
    } else if (o_.key_given) {
      rec.key = to_bytes(o_.key);
    }
    if (in.has_value) rec.value = std::move(in.value);
    if (o_.null_value_given && !json_ && rec.value &&
        std::string_view(reinterpret_cast<const char*>(rec.value->data()), rec.value->size()) ==
            o_.null_value) {
      rec.value.reset();
    }
    rec.headers = std::move(in.headers);
    rec.headers.insert(rec.headers.end(), headers_.begin(), headers_.end());
    if (in.timestamp) rec.timestamp = *in.timestamp;
    size_t id = 0;
    try {
      id = producer.send(std::move(rec));
    } catch (const client::ClientError& e) {
      if (e.kind() != client::ClientErrorKind::invalid_argument) throw;
      bad_input(origin, e.what());
    }
    origins_.emplace(id, origin);
    if (!producer.has_pending()) pending_since_.reset();
    if (producer.has_pending() && !pending_since_) pending_since_ = Clock::now();
    ++sent_;
  }

  void produce_line(client::Producer& producer, std::string_view line, const Origin& origin) {
    InputRecord rec;
    if (json_) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank line
      std::string error;
      auto parsed = record_from_json(line, error);
      if (!parsed) bad_input(origin, error);
      produce(producer, std::move(*parsed), origin);
      return;
    }
    std::string_view value = line;
    if (!o_.key_separator.empty()) {
      const auto at = line.find(o_.key_separator);
      if (at != std::string_view::npos) {
        rec.has_key = true;
        rec.key = to_bytes(line.substr(0, at));
        value = line.substr(at + o_.key_separator.size());
      } else if (!warned_no_key_) {
        spdlog::warn("{} has no key separator '{}': sent without a key", where(origin),
                     o_.key_separator);
        warned_no_key_ = true;
      }
    }
    rec.has_value = true;
    rec.value = to_bytes(value);
    produce(producer, std::move(rec), origin);
  }

  // Produces every complete record at the front of `buffer`; returns the bytes used.
  size_t take_records(client::Producer& producer, std::string_view buffer, bool at_eof,
                      size_t source) {
    size_t start = 0;
    if (template_) {
      while (start < buffer.size()) {
        InputRecord rec;
        size_t used = 0;
        std::string error;
        const Origin origin{source, line_};
        const auto result = template_->read(buffer.substr(start), at_eof, rec, used, error);
        if (result == RecordTemplate::ReadResult::need_more) break;
        if (result == RecordTemplate::ReadResult::bad) bad_input(origin, error);
        const auto taken = buffer.substr(start, used);
        line_ += static_cast<size_t>(std::count(taken.begin(), taken.end(), '\n'));
        start += used;
        produce(producer, std::move(rec), origin);
        if (used == 0) break;  // cannot happen with a final literal; guards against a loop
      }
      return start;
    }
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string_view::npos; start = nl + 1) {
      produce_line(producer, buffer.substr(start, nl - start), Origin{source, line_++});
    }
    if (at_eof && start < buffer.size()) {
      produce_line(producer, buffer.substr(start), Origin{source, line_++});
      start = buffer.size();
    }
    return start;
  }

  void read_source(client::Producer& producer, size_t index) {
    Source& src = sources_[index];
    line_ = 1;
    std::string buffer;
    std::vector<char> chunk(256 * 1024);
    while (!interrupted()) {
      int wait_ms = -1;
      if (producer.has_pending()) {
        const auto waited = pending_since_ ? Clock::now() - *pending_since_ : Clock::duration{};
        wait_ms = static_cast<int>(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(linger_ - waited).count()));
      }
      pollfd pfd{src.fd, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, wait_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw CliError(ExitCode::error,
                       fmt::format("{}: reading {}: {}", command_, src.name, std::strerror(errno)));
      }
      if (ready == 0) {  // quiet for linger.ms: send what waits
        report(producer.flush());
        pending_since_.reset();
        continue;
      }
      const ssize_t n = ::read(src.fd, chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        throw CliError(ExitCode::error,
                       fmt::format("{}: reading {}: {}", command_, src.name, std::strerror(errno)));
      }
      if (n == 0) break;
      bytes_read_ += static_cast<uint64_t>(n);
      buffer.append(chunk.data(), static_cast<size_t>(n));
      buffer.erase(0, take_records(producer, buffer, false, index));
      // A batch that waited linger.ms goes out even while input keeps coming.
      if (pending_since_ && Clock::now() - *pending_since_ >= linger_) {
        report(producer.flush());
        pending_since_.reset();
      }
      // Bounds the reports held in memory for long inputs.
      if (sent_ - reported_ >= 100'000) report(producer.flush());
      show_progress(false);
    }
    if (!interrupted()) take_records(producer, buffer, true, index);
    if (src.owned) ::close(src.fd);
  }

  void report(const std::vector<client::DeliveryReport>& reports) {
    reported_ += reports.size();
    std::string out;
    for (const auto& r : reports) {
      Origin origin;
      if (auto it = origins_.find(r.id); it != origins_.end()) {
        origin = it->second;
        origins_.erase(it);
      }
      if (r.ok()) {
        ++acked_;
        if (o_.print_offsets) {
          if (g_.output == OutputFormat::json) {
            out += to_json(Value::object()
                               .set("record", r.id + 1)
                               .set("topic", r.topic)
                               .set("partition", r.partition)
                               .set("offset", r.offset));
            out += '\n';
          } else {
            out += fmt::format("{} {} {}\n", r.topic, r.partition, r.offset);
          }
        } else if (g_.verbosity > 0) {
          fmt::print(stderr, "delivered to {} [{}] at offset {}\n", r.topic, r.partition, r.offset);
        }
        continue;
      }
      if (failed_ == 0) {
        first_error_ = r.error;
        first_message_ = r.message;
      }
      if (failed_ < 10) {
        clear_progress();
        spdlog::error("record {} ({}) to {} [{}] failed: {}{}", r.id + 1, where(origin), r.topic,
                      r.partition, protocol::describe_error(r.error),
                      r.message.empty() ? "" : " (" + r.message + ")");
      } else if (failed_ == 10) {
        spdlog::error("more records failed; not listing them all");
      }
      ++failed_;
    }
    if (!out.empty()) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    }
  }

  void show_progress(bool force) {
    if (!progress_) return;
    const auto now = Clock::now();
    if (!force && now - last_progress_ < std::chrono::milliseconds(250)) return;
    last_progress_ = now;
    const double seconds = std::max(1e-3, std::chrono::duration<double>(now - started_).count());
    const double fraction =
        total_bytes_ > 0 ? static_cast<double>(bytes_read_) / static_cast<double>(total_bytes_) : 0;
    const double mb_per_s = static_cast<double>(bytes_read_) / seconds / 1e6;
    const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    fmt::print(stderr, "\r{} records  {:.0f} rec/s  {:.1f} MB/s  {:3.0f}%  ETA {:.0f}s\x1b[K",
               sent_, static_cast<double>(sent_) / seconds, mb_per_s, fraction * 100, eta);
    std::fflush(stderr);
    progress_shown_ = true;
  }

  void clear_progress() {
    if (!progress_shown_) return;
    fmt::print(stderr, "\r\x1b[K");
    std::fflush(stderr);
    progress_shown_ = false;
  }

  const GlobalOptions& g_;
  const ProduceOptions& o_;
  std::string command_;
  std::vector<Source> sources_;
  std::optional<RecordTemplate> template_;
  bool json_ = false;
  std::optional<double> rate_;
  std::chrono::milliseconds linger_{5};
  std::optional<Clock::time_point> pending_since_;
  Clock::time_point started_;
  std::vector<record::Header> headers_;
  std::map<size_t, Origin> origins_;  // records not yet reported
  size_t line_ = 1;
  size_t sent_ = 0;
  size_t reported_ = 0;
  size_t acked_ = 0;
  size_t failed_ = 0;
  int16_t first_error_ = 0;
  std::string first_message_;
  bool warned_no_key_ = false;
  bool warned_repartition_ = false;
  client::Client* client_ = nullptr;
  bool progress_ = false;
  bool progress_shown_ = false;
  Clock::time_point last_progress_;
  uint64_t total_bytes_ = 0;
  uint64_t bytes_read_ = 0;
};

CLI::Validator key_value_validator(std::string what) {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (split_key_value(text).first.empty()) {
          return fmt::format("expected KEY=VALUE, got '{}'", text);
        }
        return {};
      },
      "", std::move(what));
}

}  // namespace

void add_produce_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<ProduceOptions>();
  auto* cmd = app.add_subcommand("produce", "Write records to a topic from stdin or files");
  cmd->add_option("topic", o->topic, "Topic to write to")->required();
  cmd->add_option("-f,--file", o->files, "Read these files in turn instead of stdin ('-': stdin)")
      ->type_name("FILE...");
  cmd->add_option("--format", o->format,
                  "Input form: 'json' (JSON lines as 'kfk consume --format json' prints them) "
                  "or a format string: %k key, %v value, %h headers (k=v,k=v), %p partition, "
                  "%T timestamp (ms); %k %v %h take {hex} or {base64}; escapes \\n \\t \\0 "
                  "\\xHH (default: one value per line)")
      ->type_name("FORMAT");
  auto* key = cmd->add_option("-k,--key", o->key, "Key of every record without its own key")
                  ->type_name("KEY");
  cmd->add_option("-K,--key-separator", o->key_separator,
                  "Split each line at the first SEP into key and value (lines without SEP are "
                  "sent without a key)")
      ->type_name("SEP");
  cmd->add_option("-H,--header", o->headers, "Header KEY=VALUE added to every record (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(key_value_validator("header"));
  cmd->add_option("-p,--partition", o->partition,
                  "Write every record to this partition (default: the partitioner chooses)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--partitioner", o->partitioner,
                  "murmur2 (default: the Java client's choice for keys), consistent-random "
                  "(librdkafka's CRC32), round-robin, sticky, random, fnv1a; records without a "
                  "key are sticky except with round-robin and random")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (text == "murmur2") text = "murmur2_random";  // the Java client's behaviour
            if (!client::parse_partitioner(text)) {
              return fmt::format("unknown partitioner '{}'", text);
            }
            return {};
          },
          "", "partitioner"))
      ->type_name("NAME");
  auto* null_value =
      cmd->add_option("--null-value", o->null_value,
                      "Send values equal to TEXT as null (tombstones); without TEXT, empty values")
          ->expected(0, 1)
          ->type_name("TEXT");
  cmd->add_option("--acks", o->acks, "Acknowledgements to wait for: 0, 1 or all (default: all)")
      ->check(CLI::IsMember({"0", "1", "all", "-1"}));
  cmd->add_option("-z,--compression", o->compression,
                  "Compression codec: none, gzip, snappy, lz4, zstd (default: none)")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  cmd->add_option("--linger-ms", o->linger_ms,
                  "How long a batch waits for more records (default: linger.ms, 5)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-bytes", o->batch_bytes,
                  "Batch size in bytes per partition (default: batch.size, 16384)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rate", o->rate, "Send at most N records per second")
      ->type_name("N/s")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_rate(text) ? "" : fmt::format("expected N or N/s, got '{}'", text);
          },
          "", "rate"));
  cmd->add_option("--transactional-id", o->transactional_id,
                  "Write the input in one transaction under this id (not available yet: the "
                  "broker does not serve transactions in this version)")
      ->type_name("ID");
  cmd->add_flag("--keep-partition", o->keep_partition,
                "Refuse input records whose partition (JSON \"partition\", %p) the topic does "
                "not have, instead of placing them by key");
  cmd->add_flag("--print-offsets", o->print_offsets,
                "Print 'topic partition offset' of every record written, in input order "
                "(JSON lines with --output json)");
  cmd->footer(
      "Name the topic before -f: -f takes the arguments after it as files. Idempotence is on "
      "with acks=all (-X enable.idempotence=false turns it off): retries never write a record "
      "twice. Records that fail are named on stderr and the exit status is not 0.\n"
      "Global options (-b, -X, -o, -v, -q) are listed by 'kfk --help'.");
  cmd->callback([&opts, o, cmd, key, null_value] {
    o->key_given = key->count() > 0;
    o->null_value_given = null_value->count() > 0;
    if (o->partitioner == "murmur2") o->partitioner = "murmur2_random";
    const std::string path = command_path(*cmd);
    if (!o->transactional_id.empty()) {
      throw CliError(ExitCode::not_available,
                     fmt::format("{}: --transactional-id: transactions are not available yet in "
                                 "this version",
                                 path),
                     "leave it out: records are still written once each (idempotence)");
    }
    if (o->key_given && !o->key_separator.empty()) {
      throw CliError(ExitCode::usage, fmt::format("{}: -k and -K cannot be used together", path),
                     "-k KEY gives every record the same key; -K SEP reads a key from each line");
    }
    if (!o->format.empty() && !o->key_separator.empty()) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: --format and -K cannot be used together", path),
                     "put the key in the format, e.g. --format '%k\\t%v\\n'");
    }
    catch_interrupts();
    Run run(opts, *o, path);
    with_client_errors(path + " " + o->topic, [&] { run.run(); });
  });
}

}  // namespace kfk::cli

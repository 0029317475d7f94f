// kfk produce: writes the lines of stdin to a topic, one record per line.
//
// Records are batched per partition; a batch goes out when it is full, when stdin has been
// quiet for linger.ms (so interactive input is sent line by line), and at the end of input.
// Nothing is printed on success unless -v is given; failed records are reported on stderr and
// the command exits non-zero naming the Kafka error.
#include <fmt/core.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "core/client/producer.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

struct ProduceOptions {
  std::string topic;
  std::string key_separator;
  int32_t partition = -1;
  std::string acks;
  std::string compression;
  std::vector<std::string> headers;  // KEY=VALUE
};

int16_t parse_acks(const std::string& text) {
  if (text == "all" || text == "-1") return -1;
  return text == "0" ? int16_t{0} : int16_t{1};
}

protocol::Bytes to_bytes(std::string_view s) { return protocol::Bytes(s.begin(), s.end()); }

class Run {
 public:
  Run(const GlobalOptions& g, const ProduceOptions& o, std::string command)
      : g_(g), o_(o), command_(std::move(command)) {}

  void run() {
    const auto cfg = client_config(g_, command_);
    client::Client client(client_options(g_, cfg));
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
    po.batch_size = static_cast<size_t>(std::max(cfg.batch_size, 1));
    po.max_request_size = static_cast<size_t>(cfg.max_request_size);
    po.retries = cfg.retries;
    po.delivery_timeout = std::chrono::milliseconds(cfg.delivery_timeout_ms);
    for (const auto& h : o_.headers) {
      auto [key, value] = split_key_value(h);
      headers_.push_back(record::Header{key, to_bytes(value)});
    }
    client::Producer producer(client, po);
    // Fail early, before reading input, when the topic or partition is wrong.
    const auto& topic = client.topic(o_.topic, true);
    if (o_.partition >= topic.partition_count()) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: partition {} does not exist: topic '{}' has {} partition{}",
                                 command_, o_.partition, o_.topic, topic.partition_count(),
                                 topic.partition_count() == 1 ? "" : "s"));
    }
    read_input(producer, static_cast<int>(std::min<int64_t>(cfg.linger_ms, 60'000)));
    report(producer.flush());
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
    if (interrupted()) exit_interrupted();
    spdlog::info("{} record{} written to {}", sent_, sent_ == 1 ? "" : "s", o_.topic);
  }

 private:
  void produce_line(client::Producer& producer, std::string_view line) {
    client::ProducerRecord rec;
    rec.topic = o_.topic;
    if (o_.partition >= 0) rec.partition = o_.partition;
    std::string_view value = line;
    if (!o_.key_separator.empty()) {
      const auto at = line.find(o_.key_separator);
      if (at != std::string_view::npos) {
        rec.key = to_bytes(line.substr(0, at));
        value = line.substr(at + o_.key_separator.size());
      } else if (!warned_no_key_) {
        spdlog::warn("line {} has no key separator '{}': sent without a key", sent_ + 1,
                     o_.key_separator);
        warned_no_key_ = true;
      }
    }
    rec.value = to_bytes(value);
    rec.headers = headers_;
    producer.send(std::move(rec));
    ++sent_;
  }

  void report(const std::vector<client::DeliveryReport>& reports) {
    reported_ += reports.size();
    for (const auto& r : reports) {
      if (r.ok()) {
        if (g_.verbosity > 0) {
          fmt::print(stderr, "delivered to {} [{}] at offset {}\n", r.topic, r.partition, r.offset);
        }
        continue;
      }
      if (failed_ == 0) {
        first_error_ = r.error;
        first_message_ = r.message;
      }
      if (failed_ < 10) {
        spdlog::error("record {} to {} [{}] failed: {}{}", r.id + 1, r.topic, r.partition,
                      protocol::describe_error(r.error),
                      r.message.empty() ? "" : " (" + r.message + ")");
      }
      ++failed_;
    }
  }

  void read_input(client::Producer& producer, int linger_ms) {
    std::string buffer;
    std::vector<char> chunk(64 * 1024);
    while (!interrupted()) {
      pollfd pfd{STDIN_FILENO, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, producer.has_pending() ? linger_ms : -1);
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw CliError(ExitCode::error,
                       fmt::format("{}: reading stdin: {}", command_, std::strerror(errno)));
      }
      if (ready == 0) {
        report(producer.flush());
        continue;
      }
      const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        throw CliError(ExitCode::error,
                       fmt::format("{}: reading stdin: {}", command_, std::strerror(errno)));
      }
      if (n == 0) break;
      buffer.append(chunk.data(), static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
        produce_line(producer, std::string_view(buffer).substr(start, nl - start));
      }
      buffer.erase(0, start);
      // Bounds the reports held in memory for long inputs.
      if (sent_ - reported_ >= 100'000) report(producer.flush());
    }
    if (!buffer.empty() && !interrupted()) produce_line(producer, buffer);
  }

  const GlobalOptions& g_;
  const ProduceOptions& o_;
  std::string command_;
  std::vector<record::Header> headers_;
  size_t sent_ = 0;
  size_t reported_ = 0;
  size_t failed_ = 0;
  int16_t first_error_ = 0;
  std::string first_message_;
  bool warned_no_key_ = false;
};

}  // namespace

void add_produce_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<ProduceOptions>();
  auto* cmd = app.add_subcommand("produce", "Write records to a topic, one per line of stdin");
  cmd->add_option("topic", o->topic, "Topic to write to")->required();
  cmd->add_option("-k,--key-separator", o->key_separator,
                  "Split each line at the first SEP into key and value (lines without SEP are "
                  "sent without a key)")
      ->type_name("SEP");
  cmd->add_option("-p,--partition", o->partition,
                  "Write every record to this partition (default: by key hash, else sticky)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--acks", o->acks, "Acknowledgements to wait for: 0, 1 or all (default: all)")
      ->check(CLI::IsMember({"0", "1", "all", "-1"}));
  cmd->add_option("-z,--compression", o->compression,
                  "Compression codec: none, gzip, snappy, lz4, zstd (default: none)")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  cmd->add_option("-H,--header", o->headers, "Header KEY=VALUE added to every record (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (split_key_value(text).first.empty()) {
              return fmt::format("expected KEY=VALUE, got '{}'", text);
            }
            return {};
          },
          "KEY=VALUE", "header"));
  cmd->callback([&opts, o, cmd] {
    const std::string path = command_path(*cmd);
    catch_interrupts();
    Run run(opts, *o, path);
    with_client_errors(path + " " + o->topic, [&] { run.run(); });
  });
}

}  // namespace kfk::cli

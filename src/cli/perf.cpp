// kfk perf produce|consume|e2e: load tests in the manner of kafka-producer-perf-test,
// kafka-consumer-perf-test and EndToEndLatency, on kfk's own client. This file holds the
// command line and the reports; the runs are in perf_produce.cpp and perf_consume.cpp.
//
// Reports: a line every --interval seconds and a summary, as text on a terminal (or with
// -o table) and otherwise (piped, -o json or yaml) one JSON object per line:
//   {"type":"interval"|"summary","mode":"produce"|"consume"|"e2e","records":N,"failed":N,
//    "bytes":N,"seconds":S,"records_per_sec":R,"mb_per_sec":M,
//    "latency_ms":{"avg":..,"min":..,"max":..,"p50":..,"p95":..,"p99":..,"p99_9":..}}
// (latency_ms only when latencies were measured; MB are 10^6 bytes; "interrupted":true when
// Ctrl-C ended the run).
#include "cli/perf.h"

#include <fmt/core.h>

#include <fstream>
#include <memory>
#include <random>

#include "cli/client_support.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "cli/tool_commands.h"
#include "core/client/admin.h"
#include "core/protocol/errors.h"

namespace kfk::cli {
namespace {

double ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

Value latency_value(const LatencyHistogram& h) {
  return Value::object()
      .set("avg", Value::fixed(h.mean() / 1000.0, 3))
      .set("min", Value::fixed(ms(h.min()), 3))
      .set("max", Value::fixed(ms(h.max()), 3))
      .set("p50", Value::fixed(ms(h.percentile(0.50)), 3))
      .set("p95", Value::fixed(ms(h.percentile(0.95)), 3))
      .set("p99", Value::fixed(ms(h.percentile(0.99)), 3))
      .set("p99_9", Value::fixed(ms(h.percentile(0.999)), 3));
}

std::string perf_json(std::string_view type, std::string_view mode, const PerfTotals& t,
                      double seconds, bool interrupted) {
  const double per_s = seconds > 0 ? 1.0 / seconds : 0.0;
  Value out = Value::object()
                  .set("type", type)
                  .set("mode", mode)
                  .set("records", t.records)
                  .set("failed", t.failed)
                  .set("bytes", t.bytes)
                  .set("seconds", Value::fixed(seconds, 6))
                  .set("records_per_sec", Value::fixed(t.records * per_s, 1))
                  .set("mb_per_sec", Value::fixed(t.bytes * per_s / 1e6, 3));
  if (t.latency_us.count() > 0) out.set("latency_ms", latency_value(t.latency_us));
  if (interrupted) out.set("interrupted", true);
  return to_json(out);
}

void add_common(CLI::App* cmd, PerfOptions& o) {
  cmd->add_option("topic", o.topic, "Topic to use")->required();
  cmd->add_option("-n,--num-records", o.num_records, "Records to send or read")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-d,--duration", o.duration_s, "Run for this many seconds instead")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--interval", o.interval_s, "Seconds between progress lines")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void add_producing(CLI::App* cmd, PerfOptions& o) {
  cmd->add_option("-s,--record-size", o.record_size, "Record value size in bytes (random bytes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64 << 20));
  cmd->add_option("--payload-file", o.payload_file,
                  "Send the lines of this file as values (in turn) instead of random bytes")
      ->check(CLI::ExistingFile);
  cmd->add_option("-r,--rate", o.rate, "Target records per second over all producers (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--acks", o.acks, "0, 1 or all")
      ->capture_default_str()
      ->check(CLI::IsMember({"0", "1", "all", "-1"}));
  cmd->add_option("-z,--compression", o.compression, "none, gzip, snappy, lz4 or zstd")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  cmd->add_option("-p,--partitions", o.partitions,
                  "Partitions of the topic when it has to be created (default: the broker's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-bytes", o.batch_bytes, "Bytes per partition batch")
      ->capture_default_str()
      ->check(CLI::Range(1024, 64 << 20));
}

}  // namespace

void print_perf_interval(const GlobalOptions& opts, std::string_view mode, const PerfTotals& w,
                         double seconds) {
  if (listing_format(opts) != OutputFormat::table) {
    fmt::print("{}\n", perf_json("interval", mode, w, seconds, false));
  } else {
    const double per_s = seconds > 0 ? 1.0 / seconds : 0.0;
    std::string line = fmt::format("{} records {}, {:.1f} records/s ({:.2f} MB/s)", w.records,
                                   mode == "produce" ? "sent" : "received", w.records * per_s,
                                   w.bytes * per_s / 1e6);
    if (w.latency_us.count() > 0) {
      line += fmt::format(", {:.2f} ms avg latency, {:.2f} ms max latency",
                          w.latency_us.mean() / 1000.0, ms(w.latency_us.max()));
    }
    if (w.failed > 0) line += fmt::format(", {} failed", w.failed);
    fmt::print("{}.\n", line);
  }
  std::fflush(stdout);
}

void print_perf_summary(const GlobalOptions& opts, std::string_view mode, const PerfTotals& t,
                        double seconds, bool interrupted) {
  if (listing_format(opts) != OutputFormat::table) {
    fmt::print("{}\n", perf_json("summary", mode, t, seconds, interrupted));
    std::fflush(stdout);
    return;
  }
  const double per_s = seconds > 0 ? 1.0 / seconds : 0.0;
  std::string line = fmt::format("{} records {} in {:.2f} s, {:.1f} records/s ({:.2f} MB/s)",
                                 t.records, mode == "produce" ? "sent" : "received", seconds,
                                 t.records * per_s, t.bytes * per_s / 1e6);
  if (t.failed > 0) line += fmt::format(", {} failed", t.failed);
  fmt::print("{}{}.\n", interrupted ? "Interrupted: " : "", line);
  const auto& h = t.latency_us;
  if (h.count() > 0) {
    fmt::print(
        "Latency ({}): avg {:.2f} ms, min {:.2f} ms, max {:.2f} ms, p50 {:.2f} ms, "
        "p95 {:.2f} ms, p99 {:.2f} ms, p99.9 {:.2f} ms.\n",
        mode == "e2e" ? "produce to consume" : "send to acknowledgement", h.mean() / 1000.0,
        ms(h.min()), ms(h.max()), ms(h.percentile(0.50)), ms(h.percentile(0.95)),
        ms(h.percentile(0.99)), ms(h.percentile(0.999)));
  }
  std::fflush(stdout);
}

client::ClientOptions perf_client_options(const GlobalOptions& opts, std::string_view command) {
  return client_options(opts, client_config(opts, command));
}

int32_t ensure_perf_topic(client::Client& client, const PerfOptions& options,
                          std::string_view command) {
  return with_client_errors(command, [&]() -> int32_t {
    const auto metadata = client.fetch_metadata(std::vector<std::string>{options.topic});
    if (auto it = metadata.topics.find(options.topic);
        it != metadata.topics.end() && it->second.partition_count() > 0) {
      return it->second.partition_count();
    }
    client::Admin admin(client);
    client::NewTopic topic;
    topic.name = options.topic;
    topic.partitions = options.partitions > 0 ? options.partitions : -1;
    const auto results = admin.create_topics({topic}, false);
    if (!results.empty() && results.front().error != 0 &&
        results.front().error != protocol::to_int(protocol::ErrorCode::topic_already_exists)) {
      throw kafka_error(results.front().error, fmt::format("{} {}", command, options.topic));
    }
    client.invalidate(options.topic);  // the cache holds the "unknown topic" answer
    return client.topic(options.topic).partition_count();
  });
}

std::vector<std::vector<uint8_t>> perf_payloads(const PerfOptions& options,
                                                std::string_view command) {
  std::vector<std::vector<uint8_t>> payloads;
  if (!options.payload_file.empty()) {
    std::ifstream in(options.payload_file, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) payloads.emplace_back(line.begin(), line.end());
    if (payloads.empty()) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: {} has no lines to send", command, options.payload_file),
                     "give a file with one payload per line");
    }
    return payloads;
  }
  // A few different random payloads: records differ, and compression sees real entropy.
  std::mt19937_64 rng(42);
  for (int i = 0; i < 16; ++i) {
    std::vector<uint8_t> p(static_cast<size_t>(options.record_size));
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    payloads.push_back(std::move(p));
  }
  return payloads;
}

void add_perf_command(CLI::App& app, GlobalOptions& opts) {
  auto* perf = app.add_subcommand("perf", "Measure throughput and latency against a broker");
  perf->require_subcommand(1);

  auto produce_options = std::make_shared<PerfOptions>();
  auto* produce = perf->add_subcommand(
      "produce", "Send records as fast as possible (or at --rate): throughput and ack latency");
  add_common(produce, *produce_options);
  add_producing(produce, *produce_options);
  produce
      ->add_option("-c,--producers", produce_options->producers,
                   "Producer connections, one thread each")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  produce->callback([&opts, produce_options] { run_perf_produce(opts, *produce_options); });

  auto consume_options = std::make_shared<PerfOptions>();
  auto* consume =
      perf->add_subcommand("consume", "Read records from the start of every partition: throughput");
  add_common(consume, *consume_options);
  consume
      ->add_option("--timeout", consume_options->idle_timeout_s,
                   "Stop when no record arrives for this many seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  consume->footer("Without -n or -d, reads every partition up to its end when the run starts.");
  consume->callback([&opts, consume_options] { run_perf_consume(opts, *consume_options); });

  auto e2e_options = std::make_shared<PerfOptions>();
  e2e_options->rate = 1000;
  e2e_options->acks = "1";
  auto* e2e = perf->add_subcommand(
      "e2e", "Produce at --rate and consume at once: latency from send to receipt");
  add_common(e2e, *e2e_options);
  add_producing(e2e, *e2e_options);
  e2e->callback([&opts, e2e_options] { run_perf_e2e(opts, *e2e_options); });
}

}  // namespace kfk::cli

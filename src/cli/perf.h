// kfk perf: what perf.cpp (options, reports) and the runs (perf_produce.cpp,
// perf_consume.cpp) share.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/perf_histogram.h"
#include "core/client/client.h"

namespace kfk::cli {

struct PerfOptions {
  std::string topic;
  int64_t num_records = -1;  // -1: not given
  double duration_s = 0;     // 0: not given
  int record_size = 100;
  std::string payload_file;  // one payload per line, used in turn
  double rate = 0;           // records/s over all producers; 0: as fast as possible
  std::string acks = "all";
  std::string compression = "none";
  int32_t partitions = 0;  // create the topic with this many when it does not exist
  int producers = 1;       // connections (one thread each)
  int batch_bytes = 65'536;
  double interval_s = 5;
  double idle_timeout_s = 10;  // consume: stop when nothing arrives for this long
};

// Counters of a run, summed over its threads.
struct PerfTotals {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t failed = 0;
  LatencyHistogram latency_us;
};

// Prints one line of a run in progress (the figures since the previous line), or the summary.
void print_perf_interval(const GlobalOptions& opts, std::string_view mode, const PerfTotals& window,
                         double seconds);
void print_perf_summary(const GlobalOptions& opts, std::string_view mode, const PerfTotals& totals,
                        double seconds, bool interrupted);

client::ClientOptions perf_client_options(const GlobalOptions& opts, std::string_view command);
// Creates the topic when it does not exist (with options.partitions, or the broker's default)
// and returns its partition count.
int32_t ensure_perf_topic(client::Client& client, const PerfOptions& options,
                          std::string_view command);

// Payloads to send: random (incompressible) bytes of record_size, or the lines of the payload
// file. Record i uses payloads[i % size].
std::vector<std::vector<uint8_t>> perf_payloads(const PerfOptions& options,
                                                std::string_view command);

void run_perf_produce(const GlobalOptions& opts, const PerfOptions& options);
void run_perf_consume(const GlobalOptions& opts, const PerfOptions& options);
void run_perf_e2e(const GlobalOptions& opts, const PerfOptions& options);

}  // namespace kfk::cli

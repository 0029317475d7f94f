// kfk perf produce: N producer threads, each with its own connection (Client + Producer),
// send records of random bytes (or the lines of a payload file) at full speed or at a target
// rate. A thread fills one partition's batch (--batch-bytes of values), then the next
// partition's, like the Java client's sticky partitioner; once every partition has a batch
// (at most 4 MiB in all) it sends them with flush(), one request per broker, and waits for
// the acknowledgement. The latency of a record is the time from its send() to
// the return of the flush() that reported it: what kafka-producer-perf-test measures (send to
// callback). When a rate limit makes a thread wait, it flushes first, so that waiting never
// counts as latency.
#include <fmt/core.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "cli/client_support.h"
#include "cli/perf.h"
#include "core/client/producer.h"

namespace kfk::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kCommand = "kfk perf produce";

// What the threads share with the reporting loop.
struct Progress {
  std::mutex mu;
  std::condition_variable changed;
  PerfTotals window;  // since the last progress line
  PerfTotals total;
  int running = 0;
  std::exception_ptr error;   // the first thread failure
  std::string first_failure;  // the first record that failed, for the final message
  std::atomic<bool> stop{false};
};

int16_t acks_value(const std::string& acks) {
  if (acks == "0") return 0;
  if (acks == "1") return 1;
  return -1;
}

struct ThreadPlan {
  int index = 0;
  int64_t records = -1;  // -1: until the deadline
  double rate = 0;       // this thread's share of the target rate
};

class ProducerThread {
 public:
  ProducerThread(const PerfOptions& options, const client::ClientOptions& client_options,
                 const std::vector<std::vector<uint8_t>>& payloads, int32_t partitions,
                 ThreadPlan plan, std::optional<Clock::time_point> deadline, Progress& progress)
      : options_(options),
        client_options_(client_options),
        payloads_(payloads),
        partitions_(partitions),
        plan_(plan),
        deadline_(deadline),
        progress_(progress) {}

  void run() {
    client::Client client(client_options_);
    client::ProducerOptions po;
    po.acks = acks_value(options_.acks);
    po.compression = *record::parse_compression(options_.compression);
    // Larger than a batch's values plus their framing, so that batches go out from flush()
    // and not from send().
    po.batch_size = 2 * static_cast<size_t>(options_.batch_bytes) + 16'384;
    po.max_request_size = std::max<size_t>(po.max_request_size, po.batch_size * 2);
    po.allow_auto_create_topics = false;
    client::Producer producer(client, po);

    int32_t partition = plan_.index % partitions_;
    const auto start = Clock::now();
    size_t window_bytes = 0;
    size_t batch_bytes = 0;
    const size_t window_limit =
        std::min<size_t>(size_t{4} << 20, static_cast<size_t>(options_.batch_bytes) *
                                              static_cast<size_t>(partitions_));
    for (int64_t i = 0;; ++i) {
      if (plan_.records >= 0 && i >= plan_.records) break;
      if (progress_.stop.load(std::memory_order_relaxed) || interrupted()) break;
      auto now = Clock::now();
      if (deadline_ && now >= *deadline_) break;
      if (plan_.rate > 0) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(i / plan_.rate));
        // A record due at or after the end of -d is not part of the run: -d 1 -r 10 sends 10.
        if (deadline_ && due >= *deadline_) break;
        if (now < due) {
          if (window_bytes > 0) {
            account(producer.flush());
            window_bytes = 0;
            batch_bytes = 0;
            partition = (partition + 1) % partitions_;
          }
          std::this_thread::sleep_until(due);
        }
      }
      const auto& payload = payloads_[static_cast<size_t>(i) % payloads_.size()];
      client::ProducerRecord rec;
      rec.topic = options_.topic;
      rec.partition = partition;
      rec.value = payload;
      sent_at_.push_back(Clock::now());
      sizes_.push_back(payload.size());
      producer.send(std::move(rec));
      window_bytes += payload.size();
      batch_bytes += payload.size();
      if (batch_bytes >= static_cast<size_t>(options_.batch_bytes)) {
        batch_bytes = 0;
        partition = (partition + 1) % partitions_;
      }
      if (window_bytes >= window_limit) {
        account(producer.flush());
        window_bytes = 0;
      }
    }
    account(producer.flush());
  }

 private:
  // Latencies and counts of the records a flush() reported.
  void account(const std::vector<client::DeliveryReport>& reports) {
    const auto now = Clock::now();
    PerfTotals local;
    std::string failure;
    for (const auto& r : reports) {
      const size_t slot = r.id - first_id_;
      if (slot >= sent_at_.size()) continue;
      if (r.ok()) {
        ++local.records;
        local.bytes += sizes_[slot];
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_[slot]).count();
        local.latency_us.record(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
      } else {
        ++local.failed;
        if (failure.empty()) {
          failure = fmt::format("{}-{}: {}{}", r.topic, r.partition, protocol::error_name(r.error),
                                r.message.empty() ? "" : " (" + r.message + ")");
        }
      }
    }
    first_id_ += sent_at_.size();
    sent_at_.clear();
    sizes_.clear();
    std::lock_guard lock(progress_.mu);
    for (PerfTotals* t : {&progress_.window, &progress_.total}) {
      t->records += local.records;
      t->bytes += local.bytes;
      t->failed += local.failed;
      t->latency_us.merge(local.latency_us);
    }
    if (!failure.empty() && progress_.first_failure.empty()) progress_.first_failure = failure;
  }

  const PerfOptions& options_;
  const client::ClientOptions& client_options_;
  const std::vector<std::vector<uint8_t>>& payloads_;
  int32_t partitions_;
  ThreadPlan plan_;
  std::optional<Clock::time_point> deadline_;
  Progress& progress_;
  size_t first_id_ = 0;                     // the producer's id of sent_at_[0]
  std::vector<Clock::time_point> sent_at_;  // records not yet reported
  std::vector<size_t> sizes_;
};

}  // namespace

void run_perf_produce(const GlobalOptions& opts, const PerfOptions& options) {
  if (options.num_records < 0 && options.duration_s <= 0) {
    throw CliError(ExitCode::usage, fmt::format("{}: say how much to send", kCommand),
                   "give -n/--num-records N or -d/--duration SECONDS");
  }
  const auto client_options = perf_client_options(opts, kCommand);
  const auto payloads = perf_payloads(options, kCommand);
  int32_t partitions = 0;
  {
    client::Client client(client_options);
    partitions = ensure_perf_topic(client, options, kCommand);
  }
  catch_interrupts();

  Progress progress;
  std::optional<Clock::time_point> deadline;
  const auto start = Clock::now();
  if (options.duration_s > 0) {
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options.duration_s));
  }
  std::vector<std::thread> threads;
  progress.running = options.producers;
  for (int t = 0; t < options.producers; ++t) {
    ThreadPlan plan;
    plan.index = t;
    if (options.num_records >= 0) {
      plan.records = options.num_records / options.producers +
                     (t < options.num_records % options.producers ? 1 : 0);
    }
    plan.rate = options.rate / options.producers;
    threads.emplace_back([&, plan] {
      try {
        ProducerThread(options, client_options, payloads, partitions, plan, deadline, progress)
            .run();
      } catch (...) {
        std::lock_guard lock(progress.mu);
        if (!progress.error) progress.error = std::current_exception();
        progress.stop = true;
      }
      std::lock_guard lock(progress.mu);
      --progress.running;
      progress.changed.notify_all();
    });
  }

  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.interval_s));
  auto last_line = start;
  {
    std::unique_lock lock(progress.mu);
    while (progress.running > 0) {
      progress.changed.wait_until(lock, last_line + interval);
      const auto now = Clock::now();
      if (progress.running > 0 && now >= last_line + interval) {
        print_perf_interval(opts, "produce", progress.window,
                            std::chrono::duration<double>(now - last_line).count());
        progress.window = PerfTotals{};
        last_line = now;
      }
    }
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (progress.error) {
    with_client_errors(kCommand, [&] { std::rethrow_exception(progress.error); });
  }
  print_perf_summary(opts, "produce", progress.total, seconds, interrupted());
  if (interrupted()) exit_interrupted();
  if (progress.total.failed > 0) {
    throw CliError(ExitCode::kafka,
                   fmt::format("{}: {} records failed, the first: {}", kCommand,
                               progress.total.failed, progress.first_failure),
                   "see the error above; the broker log may say more");
  }
}

}  // namespace kfk::cli

// kfk perf consume: reads every partition of a topic from its start (no group) and reports
// throughput. kfk perf e2e: a producer sends at --rate, each record carrying its send time in
// a header, and a consumer in another thread (its own connection) reads them from the end of
// the log: the latency from send() to the record's arrival, as EndToEndLatency measures it.
#include <fmt/core.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "cli/client_support.h"
#include "cli/perf.h"
#include "core/client/consumer.h"
#include "core/client/producer.h"

namespace kfk::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kSentHeader = "kfk.perf.sent.ns";

Clock::duration seconds_to_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

int64_t nanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<std::pair<client::TopicPartition, client::StartOffset>> all_partitions(
    const std::string& topic, int32_t count, client::StartOffset from) {
  std::vector<std::pair<client::TopicPartition, client::StartOffset>> out;
  for (int32_t p = 0; p < count; ++p) out.emplace_back(client::TopicPartition{topic, p}, from);
  return out;
}

uint64_t record_bytes(const client::ConsumerRecord& r) {
  return (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
}

// Prints progress lines from `window` every interval while `step` returns true.
class Ticker {
 public:
  Ticker(const GlobalOptions& opts, std::string_view mode, double interval_s)
      : opts_(opts), mode_(mode), interval_(seconds_to_duration(interval_s)) {}

  void maybe_print(PerfTotals& window) {
    const auto now = Clock::now();
    if (now - last_ < interval_) return;
    print_perf_interval(opts_, mode_, window, std::chrono::duration<double>(now - last_).count());
    window = PerfTotals{};
    last_ = now;
  }

 private:
  const GlobalOptions& opts_;
  std::string_view mode_;
  Clock::duration interval_;
  Clock::time_point last_ = Clock::now();
};

}  // namespace

void run_perf_consume(const GlobalOptions& opts, const PerfOptions& options) {
  constexpr std::string_view command = "kfk perf consume";
  const auto client_options = perf_client_options(opts, command);
  with_client_errors(command, [&] {
    client::Client client(client_options);
    const int32_t partitions = client.topic(options.topic).partition_count();
    client::Consumer consumer(client, client::ConsumerOptions{});
    consumer.assign(all_partitions(options.topic, partitions, client::StartOffset::earliest()));
    catch_interrupts();

    PerfTotals total;
    PerfTotals window;
    Ticker ticker(opts, "consume", options.interval_s);
    const auto start = Clock::now();
    auto last_record = start;
    const bool to_end = options.num_records < 0 && options.duration_s <= 0;
    bool idle = false;
    while (!interrupted()) {
      if (options.num_records >= 0 && static_cast<int64_t>(total.records) >= options.num_records) {
        break;
      }
      if (options.duration_s > 0 && seconds_since(start) >= options.duration_s) break;
      if (to_end && consumer.at_end()) break;
      if (seconds_since(last_record) >= options.idle_timeout_s) {
        idle = true;
        break;
      }
      const auto records = consumer.poll(std::chrono::milliseconds(200));
      if (!records.empty()) last_record = Clock::now();
      for (const auto& r : records) {
        for (PerfTotals* t : {&total, &window}) {
          ++t->records;
          t->bytes += record_bytes(r);
        }
      }
      ticker.maybe_print(window);
    }
    const double seconds = std::chrono::duration<double>(last_record - start).count();
    print_perf_summary(opts, "consume", total, idle || to_end ? seconds : seconds_since(start),
                       interrupted());
    if (interrupted()) exit_interrupted();
    if (idle && options.num_records >= 0) {
      throw CliError(ExitCode::error,
                     fmt::format("{}: {} of {} records arrived, then none for {} s", command,
                                 total.records, options.num_records, options.idle_timeout_s),
                     "the topic holds fewer records than -n asks for; produce more or lower -n");
    }
  });
}

void run_perf_e2e(const GlobalOptions& opts, const PerfOptions& options) {
  constexpr std::string_view command = "kfk perf e2e";
  if (options.num_records < 0 && options.duration_s <= 0) {
    throw CliError(ExitCode::usage, fmt::format("{}: say how much to send", command),
                   "give -n/--num-records N or -d/--duration SECONDS");
  }
  if (options.rate <= 0) {
    throw CliError(ExitCode::usage, fmt::format("{}: needs a target rate", command),
                   "give -r/--rate N (records per second)");
  }
  const auto client_options = perf_client_options(opts, command);
  const auto payloads = perf_payloads(options, command);

  with_client_errors(command, [&] {
    client::Client producer_client(client_options);
    const int32_t partitions = ensure_perf_topic(producer_client, options, command);
    client::Client consumer_client(client_options);
    client::ConsumerOptions co;
    co.fetch_max_wait_ms = 100;
    client::Consumer consumer(consumer_client, co);
    consumer.assign(all_partitions(options.topic, partitions, client::StartOffset::latest()));
    catch_interrupts();

    std::mutex mu;
    PerfTotals total;
    PerfTotals window;
    std::atomic<uint64_t> sent{0};
    std::atomic<bool> producing{true};
    std::exception_ptr consumer_error;
    Clock::time_point last_receipt = Clock::now();

    std::thread reader([&] {
      try {
        auto idle_since = Clock::now();
        while (!interrupted()) {
          const bool done_sending = !producing.load();
          {
            std::lock_guard lock(mu);
            if (done_sending && total.records + total.failed >= sent.load()) break;
          }
          if (done_sending && seconds_since(idle_since) >= options.idle_timeout_s) break;
          const auto records = consumer.poll(std::chrono::milliseconds(100));
          const auto now = Clock::now();
          if (!records.empty()) idle_since = now;
          std::lock_guard lock(mu);
          for (const auto& r : records) {
            int64_t sent_ns = -1;
            for (const auto& h : r.headers) {
              if (h.key == kSentHeader && h.value && h.value->size() == sizeof sent_ns) {
                std::memcpy(&sent_ns, h.value->data(), sizeof sent_ns);
              }
            }
            if (sent_ns < 0) continue;  // not ours
            const auto us = (nanos(now) - sent_ns) / 1000;
            for (PerfTotals* t : {&total, &window}) {
              ++t->records;
              t->bytes += record_bytes(r);
              t->latency_us.record(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
            }
            last_receipt = now;
          }
        }
      } catch (...) {
        consumer_error = std::current_exception();
      }
    });

    client::ProducerOptions po;
    po.acks = options.acks == "0" ? 0 : options.acks == "1" ? 1 : -1;
    po.compression = *record::parse_compression(options.compression);
    po.allow_auto_create_topics = false;
    client::Producer producer(producer_client, po);
    Ticker ticker(opts, "e2e", options.interval_s);
    const auto start = Clock::now();
    uint64_t failed = 0;
    try {
      for (int64_t i = 0;; ++i) {
        if (options.num_records >= 0 && i >= options.num_records) break;
        if (options.duration_s > 0 && seconds_since(start) >= options.duration_s) break;
        if (interrupted() || consumer_error) break;
        const auto due = start + seconds_to_duration(static_cast<double>(i) / options.rate);
        // A record due at or after the end of -d is not part of the run: -d 1 -r 10 sends 10.
        if (options.duration_s > 0 && due >= start + seconds_to_duration(options.duration_s)) {
          break;
        }
        if (Clock::now() < due) {
          // Everything due so far goes out before waiting: no record waits in a batch.
          for (const auto& r : producer.flush()) failed += r.ok() ? 0 : 1;
          {
            std::lock_guard lock(mu);
            total.failed = failed;
            ticker.maybe_print(window);
          }
          std::this_thread::sleep_until(due);
        }
        client::ProducerRecord rec;
        rec.topic = options.topic;
        rec.value = payloads[static_cast<size_t>(i) % payloads.size()];
        const int64_t now_ns = nanos(Clock::now());
        protocol::Bytes stamp(sizeof now_ns);
        std::memcpy(stamp.data(), &now_ns, sizeof now_ns);
        rec.headers.push_back(record::Header{std::string(kSentHeader), std::move(stamp)});
        producer.send(std::move(rec));
        sent.fetch_add(1);
      }
      for (const auto& r : producer.flush()) failed += r.ok() ? 0 : 1;
    } catch (...) {
      producing = false;
      reader.join();
      throw;
    }
    {
      std::lock_guard lock(mu);
      total.failed = failed;
    }
    producing = false;
    while (true) {
      {
        std::lock_guard lock(mu);
        ticker.maybe_print(window);
        if (total.records + total.failed >= sent.load()) break;
      }
      if (interrupted()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!reader.joinable()) break;
      if (consumer_error) break;
      // The reader stops by itself after its idle timeout.
      std::lock_guard lock(mu);
      if (seconds_since(last_receipt) > options.idle_timeout_s + 1) break;
    }
    reader.join();
    if (consumer_error) std::rethrow_exception(consumer_error);
    const double seconds = std::chrono::duration<double>(last_receipt - start).count();
    print_perf_summary(opts, "e2e", total, seconds, interrupted());
    if (interrupted()) exit_interrupted();
    const uint64_t missing = sent.load() - total.records - failed;
    if (failed > 0 || missing > 0) {
      throw CliError(ExitCode::error,
                     fmt::format("{}: {} records sent, {} failed, {} never arrived", command,
                                 sent.load(), failed, missing),
                     "the broker log may say why; raise --timeout if the broker is slow");
    }
  });
}

}  // namespace kfk::cli

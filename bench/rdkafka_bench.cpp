// Load generator for bench/broker-bench.sh, on the librdkafka C API (the client most Kafka
// applications run). Not part of the main build: broker-bench.sh compiles it with
//   c++ -O2 -std=c++20 bench/rdkafka_bench.cpp -lrdkafka -lpthread
//
// Modes (each prints one JSON object on stdout; progress and client errors go to stderr):
//   create-topic  --topic T --partitions P                 CreateTopics through the admin API
//   produce       --topic T --records N --size S           N records of S random bytes, spread
//                 [--acks A] [--compression C]             over P partitions; throughput is
//                 [--linger-ms L] [--batch-size B]         timed from the first send to the
//                 [--partitions P]                         last delivery report
//   consume       --topic T [--partitions P]               every partition from its first
//                                                          offset to its end (partition EOF)
//   offsets       --topic T [--partitions P]               the sum of the high watermarks
//   latency       --topic T --rate R --seconds D           R records/s with the send time in
//                 [--size S] [--partitions P]              the payload, read back as they
//                 [--linger-ms L]                          arrive: latency percentiles (and of
//                                                          the acknowledgements); linger.ms 0
//                                                          unless given, Nagle off
//   tcp-ceiling   [--bytes N]                              one loopback TCP connection, sender
//                                                          and receiver threads: its bandwidth
// Every mode takes --brokers HOST:PORT (except tcp-ceiling) and any number of
// -X key=value client properties, applied last.

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "rdkafka_bench: %s\n", what.c_str());
  std::exit(1);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string mode;
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "bench";
  int partitions = 8;
  int64_t records = 1'000'000;
  int size = 1024;
  std::string acks = "1";
  std::string compression = "none";
  int linger_ms = -1;  // the mode's own default: 5 to produce, 0 in the latency run
  int batch_size = 1'000'000;
  double rate = 20'000;
  double duration = 30;
  int64_t bytes = 8LL << 30;
  std::vector<std::pair<std::string, std::string>> extra;
};

Options parse(int argc, char** argv) {
  if (argc < 2) die("usage: rdkafka_bench MODE [--option value]... (see the file's header)");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    std::string key = argv[i];
    if (i + 1 >= argc) die("missing value for " + key);
    std::string value = argv[i + 1];
    if (key == "--brokers") {
      o.brokers = value;
    } else if (key == "--topic") {
      o.topic = value;
    } else if (key == "--partitions") {
      o.partitions = std::stoi(value);
    } else if (key == "--records") {
      o.records = std::stoll(value);
    } else if (key == "--size") {
      o.size = std::stoi(value);
    } else if (key == "--acks") {
      o.acks = value;
    } else if (key == "--compression") {
      o.compression = value;
    } else if (key == "--linger-ms") {
      o.linger_ms = std::stoi(value);
    } else if (key == "--batch-size") {
      o.batch_size = std::stoi(value);
    } else if (key == "--rate") {
      o.rate = std::stod(value);
    } else if (key == "--seconds") {
      o.duration = std::stod(value);
    } else if (key == "--bytes") {
      o.bytes = std::stoll(value);
    } else if (key == "-X") {
      auto eq = value.find('=');
      if (eq == std::string::npos) die("-X needs key=value, got " + value);
      o.extra.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else {
      die("unknown option " + key);
    }
  }
  if (o.partitions < 1 || o.size < 16 || o.records < 1) die("bad --partitions/--size/--records");
  return o;
}

// A configuration with the given properties, then the -X ones.
rd_kafka_conf_t* make_conf(const Options& o,
                           std::vector<std::pair<std::string, std::string>> props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  props.emplace_back("bootstrap.servers", o.brokers);
  props.insert(props.end(), o.extra.begin(), o.extra.end());
  char err[512];
  for (const auto& [key, value] : props) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      die(key + "=" + value + ": " + err);
  }
  return conf;
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) die(err);
  return rk;
}

// ---- create-topic -------------------------------------------------------------------------

int create_topic(const Options& o) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, make_conf(o, {}));
  char err[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, 1, err, sizeof err);
  if (topic == nullptr) die(err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 60'000, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(options, 120'000, err, sizeof err);
  auto t0 = Clock::now();
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 120'000);
  if (ev == nullptr) die("CreateTopics: no answer");
  if (rd_kafka_event_error(ev))
    die(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev));
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      die(std::string("CreateTopics ") + o.topic + ": " + rd_kafka_err2name(e) + " " +
          (message != nullptr ? message : ""));
  }
  std::printf("{\"mode\":\"create-topic\",\"topic\":\"%s\",\"partitions\":%d,\"seconds\":%.3f}\n",
              o.topic.c_str(), o.partitions, seconds_since(t0));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(topic);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  return 0;
}

// ---- produce ------------------------------------------------------------------------------

struct DeliveryCounts {
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> first_error{0};
  // Latency mode: send-to-acknowledgement times of the records numbered from `warmup` on.
  std::vector<int64_t>* ack_samples = nullptr;
  int64_t warmup = 0;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* counts = static_cast<DeliveryCounts*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    counts->delivered.fetch_add(1, std::memory_order_relaxed);
    if (counts->ack_samples != nullptr && m->len >= 16) {
      int64_t ts = 0, seq = 0;
      std::memcpy(&ts, m->payload, sizeof ts);
      std::memcpy(&seq, static_cast<const char*>(m->payload) + 8, sizeof seq);
      if (seq >= counts->warmup) counts->ack_samples->push_back(now_ns() - ts);
    }
  } else {
    if (counts->failed.fetch_add(1, std::memory_order_relaxed) == 0) {
      counts->first_error = m->err;
      std::fprintf(stderr, "rdkafka_bench: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
  }
}

// Sends one record, waiting for room in the client's queue when it is full.
void send(rd_kafka_t* rk, rd_kafka_topic_t* rkt, int32_t partition, void* payload, size_t len,
          int flags) {
  while (rd_kafka_produce(rkt, partition, flags, payload, len, nullptr, 0, nullptr) == -1) {
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die(std::string("produce: ") + rd_kafka_err2str(e));
    rd_kafka_poll(rk, 1);
  }
}

int produce(const Options& o) {
  DeliveryCounts counts;
  rd_kafka_conf_t* conf =
      make_conf(o, {
                       {"acks", o.acks},
                       {"compression.type", o.compression},
                       {"linger.ms", std::to_string(o.linger_ms < 0 ? 5 : o.linger_ms)},
                       {"batch.size", std::to_string(o.batch_size)},
                       {"batch.num.messages", "1000000"},
                       {"queue.buffering.max.messages", "2000000"},
                       {"queue.buffering.max.kbytes", "262144"},
                       {"message.timeout.ms", "120000"},
                   });
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &counts);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);

  // Random (incompressible) bytes; each record starts at a different place in the pool, so
  // records differ without a copy per record (flags 0: librdkafka neither copies nor frees).
  std::vector<char> pool(size_t(o.size) + 65536);
  std::mt19937_64 rng(42);
  for (auto& c : pool) c = char(rng());

  auto t0 = Clock::now();
  for (int64_t i = 0; i < o.records; ++i) {
    send(rk, rkt, int32_t(i % o.partitions), pool.data() + (i * 61) % 65536, size_t(o.size), 0);
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  double queued_s = seconds_since(t0);
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 50);
  double s = seconds_since(t0);
  int64_t ok = counts.delivered.load();
  double mb = double(ok) * o.size / 1e6;
  std::printf("{\"mode\":\"produce\",\"topic\":\"%s\",\"records\":%" PRId64 ",\"failed\":%" PRId64
              ",\"size\":%d,\"acks\":\"%s\",\"compression\":\"%s\",\"seconds\":%.3f,"
              "\"queued_seconds\":%.3f,\"mb_per_s\":%.1f,\"records_per_s\":%.0f,\"bytes\":%.0f}\n",
              o.topic.c_str(), ok, counts.failed.load(), o.size, o.acks.c_str(),
              o.compression.c_str(), s, queued_s, mb / s, double(ok) / s, double(ok) * o.size);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return counts.failed.load() == 0 ? 0 : 1;
}

// ---- consume and offsets ------------------------------------------------------------------

// A consumer without a group (the legacy per-partition API), all partitions feeding one queue.
struct Reader {
  rd_kafka_t* rk;
  rd_kafka_topic_t* rkt;
  rd_kafka_queue_t* queue;
  int partitions;

  Reader(const Options& o, std::vector<std::pair<std::string, std::string>> props, int64_t start)
      : partitions(o.partitions) {
    rk = make_client(RD_KAFKA_CONSUMER, make_conf(o, std::move(props)));
    rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    queue = rd_kafka_queue_new(rk);
    for (int p = 0; p < partitions; ++p) {
      if (rd_kafka_consume_start_queue(rkt, p, start, queue) == -1)
        die(std::string("consume_start: ") + rd_kafka_err2str(rd_kafka_last_error()));
    }
  }
  ~Reader() {
    for (int p = 0; p < partitions; ++p) rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(queue);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
  }
};

// Calls f for each message the queue holds, waiting up to timeout_ms for the first; returns
// how many there were. (rd_kafka_consume_batch_queue would wait for a full batch instead.)
template <typename F>
int serve(rd_kafka_queue_t* queue, int timeout_ms, F& f) {
  auto call = [](rd_kafka_message_t* m, void* opaque) { (*static_cast<F*>(opaque))(m); };
  int n = rd_kafka_consume_callback_queue(queue, timeout_ms, call, &f);
  if (n < 0) die(std::string("consume: ") + rd_kafka_err2str(rd_kafka_last_error()));
  return n;
}

int consume(const Options& o) {
  Reader r(o,
           {
               {"enable.partition.eof", "true"},
               // Measured best here between 64 KiB and 4 MiB per partition: larger
               // responses make the client slower (its parsing falls out of the cache).
               {"fetch.message.max.bytes", "131072"},
               {"queued.min.messages", "1000000"},
               {"queued.max.messages.kbytes", "1048576"},
           },
           RD_KAFKA_OFFSET_BEGINNING);
  std::vector<bool> at_end(size_t(o.partitions), false);
  int ended = 0;
  int64_t records = 0, bytes = 0;
  Clock::time_point t0 = Clock::now(), first{};
  bool started = false;
  auto on_message = [&](rd_kafka_message_t* m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (!at_end[size_t(m->partition)]) {
        at_end[size_t(m->partition)] = true;
        ++ended;
      }
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      die(std::string("consume: ") + rd_kafka_message_errstr(m));
    } else {
      if (!started) {
        first = Clock::now();
        started = true;
      }
      ++records;
      bytes += int64_t(m->len);
    }
  };
  while (ended < o.partitions) {
    if (serve(r.queue, 1000, on_message) == 0 && seconds_since(t0) > 600)
      die("consume: no end after 600 s");
  }
  double total = seconds_since(t0);
  double s = started ? seconds_since(first) : total;
  std::printf("{\"mode\":\"consume\",\"topic\":\"%s\",\"records\":%" PRId64 ",\"bytes\":%" PRId64
              ",\"seconds\":%.3f,\"seconds_with_connect\":%.3f,\"mb_per_s\":%.1f,"
              "\"records_per_s\":%.0f}\n",
              o.topic.c_str(), records, bytes, s, total, double(bytes) / 1e6 / s,
              double(records) / s);
  return 0;
}

int offsets(const Options& o) {
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, make_conf(o, {}));
  int64_t sum = 0;
  for (int p = 0; p < o.partitions; ++p) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &low, &high, 30'000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) die(std::string("ListOffsets: ") + rd_kafka_err2str(e));
    sum += high - low;
  }
  std::printf("{\"mode\":\"offsets\",\"topic\":\"%s\",\"records\":%" PRId64 "}\n", o.topic.c_str(),
              sum);
  rd_kafka_destroy(rk);
  return 0;
}

// ---- latency ------------------------------------------------------------------------------

// The producer thread sends at a fixed rate (each record's send time is its first 8 bytes, on
// this process's monotonic clock); the main thread reads from the end of every partition and
// keeps the difference for each record after the warm-up second.
int latency(const Options& o) {
  Reader r(o,
           {
               {"fetch.wait.max.ms", "100"},
               {"fetch.min.bytes", "1"},
               {"fetch.error.backoff.ms", "10"},
               {"socket.nagle.disable", "true"},
           },
           RD_KAFKA_OFFSET_END);
  const auto total = int64_t(o.rate * o.duration);
  const auto warmup = int64_t(o.rate);  // the first second is not counted
  std::vector<int64_t> samples, acks;
  samples.reserve(size_t(total));
  acks.reserve(size_t(total));
  DeliveryCounts counts;
  counts.ack_samples = &acks;
  counts.warmup = warmup;
  rd_kafka_conf_t* conf = make_conf(o, {
                                           {"acks", o.acks},
                                           {"linger.ms", std::to_string(std::max(o.linger_ms, 0))},
                                           {"socket.nagle.disable", "true"},
                                           {"compression.type", o.compression},
                                       });
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &counts);
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, o.topic.c_str(), nullptr);

  // Both clients connect and the consumer reaches the end of every partition before timing.
  rd_kafka_poll(producer, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));

  std::atomic<bool> done{false};
  std::thread sender([&] {
    std::vector<char> payload(size_t(o.size), 'x');
    auto t0 = Clock::now();
    for (int64_t i = 0; i < total; ++i) {
      auto due = t0 + std::chrono::nanoseconds(int64_t(double(i) * 1e9 / o.rate));
      // Sleeping, not spinning: the client must not take a core the broker needs. A sleep
      // overshoots by tens of microseconds, so records due meanwhile go out back to back.
      std::this_thread::sleep_until(due);
      rd_kafka_poll(producer, 0);
      int64_t ts = now_ns();
      std::memcpy(payload.data(), &ts, sizeof ts);
      std::memcpy(payload.data() + 8, &i, sizeof i);
      send(producer, rkt, int32_t(i % o.partitions), payload.data(), payload.size(),
           RD_KAFKA_MSG_F_COPY);
    }
    rd_kafka_flush(producer, 30'000);
    done = true;
  });

  int64_t received = 0;
  auto on_message = [&](rd_kafka_message_t* m) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->len >= 16) {
      int64_t ts = 0, seq = 0;
      std::memcpy(&ts, m->payload, sizeof ts);
      std::memcpy(&seq, static_cast<char*>(m->payload) + 8, sizeof seq);
      if (seq >= warmup) samples.push_back(now_ns() - ts);
      ++received;
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::fprintf(stderr, "rdkafka_bench: consume: %s\n", rd_kafka_message_errstr(m));
    }
  };
  Clock::time_point idle_since = Clock::now();
  while (received < total) {
    if (serve(r.queue, 100, on_message) > 0) idle_since = Clock::now();
    if (done && seconds_since(idle_since) > 5) break;  // lost records: report what arrived
  }
  sender.join();

  // Percentile q of v (sorted), in milliseconds.
  auto pct = [](const std::vector<int64_t>& v, double q) {
    if (v.empty()) return 0.0;
    return double(v[std::min(v.size() - 1, size_t(q * double(v.size())))]) / 1e6;
  };
  std::sort(samples.begin(), samples.end());
  std::sort(acks.begin(), acks.end());
  std::printf(
      "{\"mode\":\"latency\",\"topic\":\"%s\",\"rate\":%.0f,\"size\":%d,\"linger_ms\":%d,"
      "\"sent\":%" PRId64 ",\"received\":%" PRId64
      ",\"samples\":%zu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
      "\"max_ms\":%.3f,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,\"ack_p999_ms\":%.3f,"
      "\"ack_max_ms\":%.3f}\n",
      o.topic.c_str(), o.rate, o.size, std::max(o.linger_ms, 0), total, received, samples.size(),
      pct(samples, 0.50), pct(samples, 0.90), pct(samples, 0.99), pct(samples, 0.999),
      pct(samples, 1.0), pct(acks, 0.50), pct(acks, 0.99), pct(acks, 0.999), pct(acks, 1.0));
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(producer);
  return received >= total ? 0 : 1;
}

// ---- tcp-ceiling --------------------------------------------------------------------------

// One TCP connection over loopback with 1 MiB writes and reads, as a broker connection would
// carry produce or fetch data: the bandwidth the machine gives one connection.
int tcp_ceiling(const Options& o) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(server, 1) != 0 || getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("tcp-ceiling: cannot listen on 127.0.0.1");

  std::thread sender([&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("tcp-ceiling: connect");
    std::vector<char> buf(1 << 20, 'x');
    int64_t left = o.bytes;
    while (left > 0) {
      ssize_t n = write(fd, buf.data(), size_t(std::min<int64_t>(left, int64_t(buf.size()))));
      if (n <= 0) die("tcp-ceiling: write");
      left -= n;
    }
    close(fd);
  });
  int fd = accept(server, nullptr, nullptr);
  std::vector<char> buf(1 << 20);
  int64_t got = 0;
  auto t0 = Clock::now();
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    got += n;
  }
  double s = seconds_since(t0);
  sender.join();
  close(fd);
  close(server);
  std::printf("{\"mode\":\"tcp-ceiling\",\"bytes\":%" PRId64
              ",\"seconds\":%.3f,\"mb_per_s\":%.1f}\n",
              got, s, double(got) / 1e6 / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Keep the client's large receive buffers in the heap and reused: otherwise glibc maps and
  // unmaps one per fetch response, and the page faults of refilling it cost more than the
  // copy out of the socket.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  Options o = parse(argc, argv);
  if (o.mode == "create-topic") return create_topic(o);
  if (o.mode == "produce") return produce(o);
  if (o.mode == "consume") return consume(o);
  if (o.mode == "offsets") return offsets(o);
  if (o.mode == "latency") return latency(o);
  if (o.mode == "tcp-ceiling") return tcp_ceiling(o);
  die("unknown mode " + o.mode);
}

#!/usr/bin/env bash
# Measures the kfk command-line tools against a local broker and writes the figures as a
# Markdown section (for docs/benchmarks.md) to $KFK_BENCH_OUT:
#
#   1. Start-up: wall time of `kfk topic list` (process start, connect, Metadata, print, exit)
#      against a running broker holding 20 topics, and of `kfk --version` (no network).
#   2. `kfk perf produce` against librdkafka (bench/rdkafka_bench.cpp) on the same load:
#      N records of S random bytes over P partitions, acks=1, at full speed (each client with
#      its own defaults for batching), and at a fixed rate where both should keep up. The
#      records each run wrote are counted from the high watermarks (by librdkafka), so a
#      tool that reports more than it wrote would show.
#   3. Latency at a fixed rate: kfk perf produce's send-to-acknowledgement percentiles and
#      kfk perf e2e's send-to-receipt percentiles, next to librdkafka's (rdkafka_bench latency).
#
# It reports figures; it never fails because a target is missed.
#
# Environment:
#   KFK_BENCH_BUILD_DIR    where Release kfk is built (default build/release, as `make build`)
#   KFK_BENCH_SKIP_BUILD=1 use the kfk already built there
#   KFK_BENCH_RECORDS      records per throughput run (default 2000000)
#   KFK_BENCH_SIZE         record size in bytes (default 100)
#   KFK_BENCH_RATE         records/s of the fixed-rate runs (default 50000)
#   KFK_BENCH_SECONDS      duration of the fixed-rate runs (default 10)
#   KFK_BENCH_OUT          file to write (default: $KFK_BENCH_BUILD_DIR/cli-bench.md; - for stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD_DIR=${KFK_BENCH_BUILD_DIR:-build/release}
RECORDS=${KFK_BENCH_RECORDS:-2000000}
SIZE=${KFK_BENCH_SIZE:-100}
RATE=${KFK_BENCH_RATE:-50000}
SECONDS_RUN=${KFK_BENCH_SECONDS:-10}
OUT=${KFK_BENCH_OUT:-$BUILD_DIR/cli-bench.md}
PARTITIONS=8
PYTHON=/usr/bin/python3

KFK=$ROOT/$BUILD_DIR/src/cli/kfk
TOOL=$ROOT/$BUILD_DIR/bench/rdkafka_bench

log() { printf '[cli-bench %s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ ${KFK_BENCH_SKIP_BUILD:-0} != 1 ]]; then
  scripts/install-deps
  log "building Release kfk in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFK_BUILD_TESTS=OFF >/dev/null
  ninja -C "$BUILD_DIR" kfk >/dev/null
fi
[[ -x $KFK ]] || { echo "cli-bench: no kfk at $KFK" >&2; exit 1; }
mkdir -p "$(dirname "$TOOL")"
if [[ ! -x $TOOL || bench/rdkafka_bench.cpp -nt $TOOL ]]; then
  log "building $TOOL"
  c++ -O2 -std=c++20 -Wall -Wextra -o "$TOOL" bench/rdkafka_bench.cpp -lrdkafka -lpthread
fi

WORK=$(mktemp -d /var/tmp/kfk-cli-bench.XXXXXX)
BROKER_PID=""
cleanup() {
  if [[ -n $BROKER_PID ]]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The broker, on a free port; its ready line names the port.
mkfifo "$WORK/ready"
"$KFK" server start --set listeners=PLAINTEXT://127.0.0.1:0 --set "log.dirs=$WORK/logs" \
  >"$WORK/ready" 2>"$WORK/broker.log" &
BROKER_PID=$!
exec {ready_fd}<"$WORK/ready"
BROKER=""
while IFS= read -r -t 60 -u "$ready_fd" line; do
  if [[ $line =~ "listening on "([^ ]+) ]]; then BROKER=${BASH_REMATCH[1]}; break; fi
done
[[ -n $BROKER ]] || { echo "cli-bench: the broker did not start" >&2; cat "$WORK/broker.log" >&2; exit 1; }
cat <&"$ready_fd" >/dev/null &
log "broker on $BROKER"

jget() { "$PYTHON" -c 'import json, sys; d = json.loads(sys.stdin.read().strip().splitlines()[-1])
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- 1. start-up --------------------------------------------------------------------------

for i in $(seq 1 20); do "$KFK" -b "$BROKER" topic create "startup-$i" -p 3 >/dev/null; done
# Wall times in ms of 50 runs: median, 90th percentile, max.
time_runs() {
  "$PYTHON" - "$@" <<'EOF'
import statistics, subprocess, sys, time
runs = []
for _ in range(5):  # warm the page cache
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
for _ in range(50):
    t0 = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
    runs.append((time.perf_counter() - t0) * 1000)
runs.sort()
print(f"{statistics.median(runs):.1f} {runs[int(0.9 * len(runs)) - 1]:.1f} {runs[-1]:.1f}")
EOF
}
read -r LIST_P50 LIST_P90 LIST_MAX < <(time_runs "$KFK" -b "$BROKER" --output json topic list)
read -r VERSION_P50 VERSION_P90 VERSION_MAX < <(time_runs "$KFK" --version)
log "topic list: median $LIST_P50 ms, p90 $LIST_P90 ms, max $LIST_MAX ms"

# ---- 2. throughput ------------------------------------------------------------------------

high_watermarks() { "$TOOL" offsets --brokers "$BROKER" --topic "$1" --partitions "$PARTITIONS" | jget records; }

"$TOOL" create-topic --brokers "$BROKER" --topic kfk-full --partitions "$PARTITIONS" >/dev/null
"$TOOL" create-topic --brokers "$BROKER" --topic rd-full --partitions "$PARTITIONS" >/dev/null
log "full speed: kfk perf produce"
T0=$(date +%s%N)
"$KFK" -b "$BROKER" -o json perf produce kfk-full -n "$RECORDS" -s "$SIZE" --acks 1 -c 2 \
  >"$WORK/kfk-full.json"
KFK_FULL_WALL_S=$(calc %.3f "($(date +%s%N) - $T0) / 1e9")
KFK_FULL_RPS=$(jget records_per_sec <"$WORK/kfk-full.json")
KFK_FULL_MBS=$(jget mb_per_sec <"$WORK/kfk-full.json")
KFK_FULL_P99=$(jget latency_ms.p99 <"$WORK/kfk-full.json")
KFK_FULL_WRITTEN=$(high_watermarks kfk-full)
log "full speed: librdkafka"
T0=$(date +%s%N)
"$TOOL" produce --brokers "$BROKER" --topic rd-full --records "$RECORDS" --size "$SIZE" \
  --partitions "$PARTITIONS" --acks 1 >"$WORK/rd-full.json"
RD_FULL_WALL_S=$(calc %.3f "($(date +%s%N) - $T0) / 1e9")
RD_FULL_RPS=$(jget records_per_s <"$WORK/rd-full.json")
RD_FULL_MBS=$(jget mb_per_s <"$WORK/rd-full.json")
RD_FULL_WRITTEN=$(high_watermarks rd-full)

RATE_RECORDS=$((RATE * SECONDS_RUN))
"$TOOL" create-topic --brokers "$BROKER" --topic kfk-rate --partitions "$PARTITIONS" >/dev/null
log "fixed rate: kfk perf produce at $RATE/s"
"$KFK" -b "$BROKER" -o json perf produce kfk-rate -n "$RATE_RECORDS" -s "$SIZE" --acks 1 \
  -r "$RATE" >"$WORK/kfk-rate.json"
KFK_RATE_RPS=$(jget records_per_sec <"$WORK/kfk-rate.json")
KFK_RATE_WRITTEN=$(high_watermarks kfk-rate)
KFK_ACK_P50=$(jget latency_ms.p50 <"$WORK/kfk-rate.json")
KFK_ACK_P99=$(jget latency_ms.p99 <"$WORK/kfk-rate.json")

# ---- 3. latency ---------------------------------------------------------------------------

"$TOOL" create-topic --brokers "$BROKER" --topic kfk-e2e --partitions "$PARTITIONS" >/dev/null
"$TOOL" create-topic --brokers "$BROKER" --topic rd-e2e --partitions "$PARTITIONS" >/dev/null
log "fixed rate: kfk perf e2e at $RATE/s"
"$KFK" -b "$BROKER" -o json perf e2e kfk-e2e -d "$SECONDS_RUN" -r "$RATE" -s "$SIZE" --acks 1 \
  >"$WORK/kfk-e2e.json"
KFK_E2E_RPS=$(jget records_per_sec <"$WORK/kfk-e2e.json")
KFK_E2E_P50=$(jget latency_ms.p50 <"$WORK/kfk-e2e.json")
KFK_E2E_P99=$(jget latency_ms.p99 <"$WORK/kfk-e2e.json")
log "fixed rate: librdkafka latency at $RATE/s"
"$TOOL" latency --brokers "$BROKER" --topic rd-e2e --rate "$RATE" --seconds "$SECONDS_RUN" \
  --size "$SIZE" --partitions "$PARTITIONS" --acks 1 >"$WORK/rd-e2e.json"
RD_E2E_P50=$(jget p50_ms <"$WORK/rd-e2e.json")
RD_E2E_P99=$(jget p99_ms <"$WORK/rd-e2e.json")
RD_ACK_P50=$(jget ack_p50_ms <"$WORK/rd-e2e.json")
RD_ACK_P99=$(jget ack_p99_ms <"$WORK/rd-e2e.json")
RD_E2E_RPS=$(calc %.0f "$(jget received <"$WORK/rd-e2e.json") / $SECONDS_RUN")

# ---- report -------------------------------------------------------------------------------

ratio() { calc %.2f "$1 / $2"; }
MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), load $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
report() {
  cat <<EOF
## CLI tools (bench/cli-bench.sh)

$(date -u +%Y-%m-%d), Release build, one broker on loopback, $PARTITIONS partitions, acks=1,
$SIZE-byte random records; $MACHINE. Client and broker share the cores.

### Start-up

| command (50 runs)                          | median    | p90       | max       |
|--------------------------------------------|-----------|-----------|-----------|
| \`kfk topic list\` (20 topics, running broker) | $LIST_P50 ms | $LIST_P90 ms | $LIST_MAX ms |
| \`kfk --version\` (no network)               | $VERSION_P50 ms | $VERSION_P90 ms | $VERSION_MAX ms |

### kfk perf produce against librdkafka, same load

| run                                  | kfk perf produce           | librdkafka (rdkafka_bench) | kfk / librdkafka |
|--------------------------------------|----------------------------|----------------------------|------------------|
| full speed, $RECORDS records: records/s | $(calc %.0f "$KFK_FULL_RPS") ($KFK_FULL_MBS MB/s, 2 connections) | $RD_FULL_RPS ($RD_FULL_MBS MB/s) | $(ratio "$KFK_FULL_RPS" "$RD_FULL_RPS") |
| full speed: records on the broker    | $KFK_FULL_WRITTEN          | $RD_FULL_WRITTEN           |                  |
| full speed: records on the broker / wall time of the process (start-up included) | $(calc %.0f "$KFK_FULL_WRITTEN / $KFK_FULL_WALL_S") | $(calc %.0f "$RD_FULL_WRITTEN / $RD_FULL_WALL_S") | $(calc %.2f "($KFK_FULL_WRITTEN / $KFK_FULL_WALL_S) / ($RD_FULL_WRITTEN / $RD_FULL_WALL_S)") |
| $RATE records/s for ${SECONDS_RUN} s: records/s achieved | $(calc %.0f "$KFK_RATE_RPS") | $RD_E2E_RPS | $(ratio "$KFK_RATE_RPS" "$RD_E2E_RPS") |
| $RATE records/s: records on the broker | $KFK_RATE_WRITTEN        | $(calc %.0f "$RD_E2E_RPS * $SECONDS_RUN") |          |
| $RATE records/s: ack latency p50 / p99 | $KFK_ACK_P50 / $KFK_ACK_P99 ms | $RD_ACK_P50 / $RD_ACK_P99 ms | |
| $RATE records/s: send-to-receipt p50 / p99 (\`kfk perf e2e\`) | $KFK_E2E_P50 / $KFK_E2E_P99 ms ($(calc %.0f "$KFK_E2E_RPS") records/s) | $RD_E2E_P50 / $RD_E2E_P99 ms | |

The full-speed p99 acknowledgement latency of kfk perf produce was $KFK_FULL_P99 ms. Each
tool times itself (kfk perf from its first send to its last acknowledgement; rdkafka_bench from
its first send to its last delivery report); the wall-time row times both processes from the
outside and counts what reached the broker, so the two tools are measured the same way there.
kfk perf produce keeps one request in flight per connection, each carrying a 64 KiB batch for
every partition; librdkafka batches with linger.ms=5 and keeps several requests in flight.
EOF
}
if [[ $OUT == - ]]; then report; else report >"$OUT"; log "wrote $OUT"; cat "$OUT"; fi

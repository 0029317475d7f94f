#!/usr/bin/env bash
# Measures the broker on this machine: produce and consume throughput, end-to-end latency, idle
# memory, start-up with 1,000 partitions and recovery after kill -9 with a large log, each with
# the broker's CPU time and the machine's ceiling measured in the same run (loopback TCP,
# sequential disk write). Records the figures with the machine description in
# docs/benchmarks.md (the section between the broker-bench markers is replaced; the other
# sections stay). It reports figures; it never fails because a target is missed.
#
# Single broker on loopback, RF=1, 8 partitions; the load comes from bench/rdkafka_bench.cpp
# (librdkafka), which runs on the same cores as the broker.
#
# Environment:
#   KFK_BENCH_BUILD_DIR    where Release kfk is built (default build/release, as `make build`)
#   KFK_BENCH_SKIP_BUILD=1 use the kfk already built there
#   KFK_BENCH_DIR          scratch directory on the disk to measure (default: mktemp in /var/tmp)
#   KFK_BENCH_PRODUCE_GB   1 KiB records produced and then consumed (default 4)
#   KFK_BENCH_SMALL_RECORDS  100-byte records produced (default 10000000)
#   KFK_BENCH_LATENCY_SECONDS  duration of the latency run at 20,000 records/s (default 30)
#   KFK_BENCH_RECOVERY_GB  log size for the kill -9 recovery (default 10; less if disk is short)
#   KFK_BENCH_DOC          file to write (default docs/benchmarks.md; "-" prints the section only)
#   KFK_BENCH_SKIP_SLOW=1  skip start-up with 1,000 partitions and recovery (reported as not
#                          measured): the throughput and latency runs only
#   KFK_BENCH_BROKER_SET   extra broker settings for the throughput and latency runs, e.g.
#                          "num.reactor.threads=1" (space-separated key=value)
#   KFK_BENCH_PRODUCE_ONLY=1  only the 1 KiB produce runs (uncompressed and lz4): prints their
#                          figures and leaves the doc alone (for comparing two builds)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD_DIR=${KFK_BENCH_BUILD_DIR:-build/release}
PRODUCE_GB=${KFK_BENCH_PRODUCE_GB:-4}
SMALL_RECORDS=${KFK_BENCH_SMALL_RECORDS:-10000000}
LATENCY_SECONDS=${KFK_BENCH_LATENCY_SECONDS:-30}
RECOVERY_GB=${KFK_BENCH_RECOVERY_GB:-10}
DOC=${KFK_BENCH_DOC:-docs/benchmarks.md}
SKIP_SLOW=${KFK_BENCH_SKIP_SLOW:-0}
PRODUCE_ONLY=${KFK_BENCH_PRODUCE_ONLY:-0}
BROKER_SET=()
for kv in ${KFK_BENCH_BROKER_SET:-}; do BROKER_SET+=(--set "$kv"); done
# librdkafka's own defaults for what the tool tunes (the consumer's fetch sizes and queue,
# the long poll and Nagle), for the runs that show what an untuned client gets.
RDKAFKA_DEFAULT_CONSUME=(-X fetch.message.max.bytes=1048576 -X queued.min.messages=100000
  -X queued.max.messages.kbytes=65536)
RDKAFKA_DEFAULT_LATENCY=(-X fetch.wait.max.ms=500 -X fetch.error.backoff.ms=500
  -X socket.nagle.disable=false)
PYTHON=/usr/bin/python3
PARTITIONS=8

KFK=$ROOT/$BUILD_DIR/src/cli/kfk
TOOL=$ROOT/$BUILD_DIR/bench/rdkafka_bench
HZ=$(getconf CLK_TCK)

log() { printf '[broker-bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---- build ----------------------------------------------------------------------------------

if [[ ${KFK_BENCH_SKIP_BUILD:-0} != 1 ]]; then
  scripts/install-deps
  log "building Release kfk in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFK_BUILD_TESTS=OFF >/dev/null
  ninja -C "$BUILD_DIR" kfk >/dev/null
fi
[[ -x $KFK ]] || { echo "broker-bench: no kfk at $KFK" >&2; exit 1; }
mkdir -p "$(dirname "$TOOL")"
if [[ ! -x $TOOL || bench/rdkafka_bench.cpp -nt $TOOL ]]; then
  log "building $TOOL"
  c++ -O2 -std=c++20 -Wall -Wextra -o "$TOOL" bench/rdkafka_bench.cpp -lrdkafka -lpthread
fi

# ---- scratch space and brokers --------------------------------------------------------------

WORK=${KFK_BENCH_DIR:-$(mktemp -d /var/tmp/kfk-bench.XXXXXX)}
mkdir -p "$WORK"
BROKER_PID=""
cleanup() {
  if [[ -n $BROKER_PID ]]; then kill -KILL "$BROKER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_broker DIR [--set key=value]...: starts kfk on a free port with its log in DIR; sets
# BROKER_PID, BROKER (host:port) and START_S (seconds from exec to the ready line).
start_broker() {
  local dir=$1
  shift
  mkdir -p "$dir"
  rm -f "$dir/stdout.fifo"
  mkfifo "$dir/stdout.fifo"
  local t0 line fd
  t0=$(date +%s%N)
  "$KFK" server start --set listeners=PLAINTEXT://127.0.0.1:0 --set "log.dirs=$dir/logs" "$@" \
    >"$dir/stdout.fifo" 2>>"$dir/broker.log" &
  BROKER_PID=$!
  exec {fd}<"$dir/stdout.fifo"
  BROKER=""
  while IFS= read -r -t 600 -u "$fd" line; do
    if [[ $line =~ "kfk broker ready: ".*"listening on "([^ ]+) ]]; then
      BROKER=${BASH_REMATCH[1]}
      break
    fi
  done
  START_S=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  if [[ -z $BROKER ]]; then
    echo "broker-bench: the broker did not start; $dir/broker.log:" >&2
    tail -20 "$dir/broker.log" >&2
    exit 1
  fi
  cat <&"$fd" >>"$dir/stdout.log" &  # keeps the pipe drained for later lines
  exec {fd}<&-
}

stop_broker() {  # stop_broker [SIGNAL]
  [[ -n $BROKER_PID ]] || return 0
  kill "-${1:-TERM}" "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
}

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss_mb() { awk -v k="${2:-VmRSS}:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
jget() { "$PYTHON" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])' "$@"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# bench NAME MODE [ARGS...]: runs the tool against $BROKER, its JSON in $WORK/NAME.json; sets
# CPU_S (broker CPU seconds during the run) and CLIENT_CPU_S.
bench() {
  local name=$1 before after client
  shift
  before=$(cpu_ticks "$BROKER_PID")
  client=$( { TIMEFORMAT='%U %S'; time "$TOOL" "$@" --brokers "$BROKER" >"$WORK/$name.json" \
    2>"$WORK/$name.err"; } 2>&1 ) || {
    echo "broker-bench: $name failed:" >&2
    cat "$WORK/$name.err" >&2
    exit 1
  }
  after=$(cpu_ticks "$BROKER_PID")
  CPU_S=$(calc %.2f "($after - $before) / $HZ")
  CLIENT_CPU_S=$(awk '{ printf "%.2f", $1 + $2 }' <<<"$client")
  log "$name: $(cat "$WORK/$name.json") broker cpu ${CPU_S}s client cpu ${CLIENT_CPU_S}s"
}

# ---- the machine ----------------------------------------------------------------------------

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
CORES=$(nproc)
RAM=$(free -g | awk '/Mem:/ { print $2 " GiB" }')
KERNEL=$(uname -r)
DEV=$(df --output=source "$WORK" | tail -1)
FSTYPE=$(df --output=fstype "$WORK" | tail -1)
DISK_MODEL=$(lsblk -ndo MODEL "$DEV" 2>/dev/null | head -1 | sed 's/ *$//' || true)
[[ -n $DISK_MODEL ]] || DISK_MODEL="virtual disk"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $CORES cores ($CPU_MODEL), $RAM, kernel $KERNEL, $DEV ($FSTYPE), load $LOAD_BEFORE"

if [[ $PRODUCE_ONLY != 1 ]]; then
log "ceilings: loopback TCP and sequential disk write"
"$TOOL" tcp-ceiling --bytes 8000000000 >"$WORK/tcp.json"
TCP_MBS=$(jget "$WORK/tcp.json" mb_per_s)
dd_mbs() {  # dd_mbs [conv=...]: 4 GiB of zeros into the scratch disk, in MB/s
  local out
  out=$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=4096 "$@" 2>&1 | tail -1)
  rm -f "$WORK/dd.bin"
  awk -F', ' '{ split($1, b, " "); split($3, t, " "); printf "%.0f", b[1] / t[1] / 1e6 }' <<<"$out"
}
DISK_SYNC_MBS=$(dd_mbs conv=fdatasync)
DISK_CACHE_MBS=$(dd_mbs)
log "loopback ${TCP_MBS} MB/s, disk (fdatasync) ${DISK_SYNC_MBS} MB/s, page cache ${DISK_CACHE_MBS} MB/s"
fi

# ---- throughput, latency, idle memory -------------------------------------------------------

start_broker "$WORK/a" "${BROKER_SET[@]}"
log "broker ready on $BROKER in ${START_S}s (pid $BROKER_PID)"
sleep 3
IDLE_RSS=$(rss_mb "$BROKER_PID")
idle_cpu0=$(cpu_ticks "$BROKER_PID")
sleep 5
IDLE_CPU_PCT=$(calc %.1f "($(cpu_ticks "$BROKER_PID") - $idle_cpu0) / $HZ / 5 * 100")

for topic in bench1k bench1klz4 bench100 latency; do
  "$TOOL" create-topic --brokers "$BROKER" --topic "$topic" --partitions $PARTITIONS >/dev/null
done

big_records=$(( PRODUCE_GB * 1024 * 1024 ))  # PRODUCE_GB GiB of 1 KiB records
bench produce1k produce --topic bench1k --records "$big_records" --size 1024 --acks 1 \
  --partitions $PARTITIONS
P1K_MBS=$(jget "$WORK/produce1k.json" mb_per_s)
P1K_RPS=$(jget "$WORK/produce1k.json" records_per_s)
P1K_CPU=$(calc %.2f "$CPU_S / ($(jget "$WORK/produce1k.json" bytes) / 1e9)")
P1K_CLIENT=$CLIENT_CPU_S

# The same records compressed by the client with lz4 (records are slices of one 64 KiB
# random pool, so batches shrink; the broker decompresses every byte to check each record).
bench produce1klz4 produce --topic bench1klz4 --records "$big_records" --size 1024 --acks 1 \
  --partitions $PARTITIONS --compression lz4
P1KZ_MBS=$(jget "$WORK/produce1klz4.json" mb_per_s)
P1KZ_RPS=$(jget "$WORK/produce1klz4.json" records_per_s)
P1KZ_CPU=$(calc %.2f "$CPU_S / ($(jget "$WORK/produce1klz4.json" bytes) / 1e9)")
P1KZ_CLIENT=$CLIENT_CPU_S
if [[ $PRODUCE_ONLY == 1 ]]; then
  stop_broker
  printf 'produce 1 KiB, acks=1, %s GiB: none %s MB/s (%s s/GB broker CPU, client %s s); lz4 %s MB/s (%s s/GB, client %s s); load %s -> %s\n' \
    "$PRODUCE_GB" "$P1K_MBS" "$P1K_CPU" "$P1K_CLIENT" "$P1KZ_MBS" "$P1KZ_CPU" "$P1KZ_CLIENT" \
    "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

bench produce100 produce --topic bench100 --records "$SMALL_RECORDS" --size 100 --acks 1 \
  --partitions $PARTITIONS
P100_RPS=$(jget "$WORK/produce100.json" records_per_s)
P100_MBS=$(jget "$WORK/produce100.json" mb_per_s)
P100_CPU=$(calc %.2f "$CPU_S / ($(jget "$WORK/produce100.json" bytes) / 1e9)")
P100_CLIENT=$CLIENT_CPU_S

bench consume1k consume --topic bench1k --partitions $PARTITIONS
C1K_MBS=$(jget "$WORK/consume1k.json" mb_per_s)
C1K_RECORDS=$(jget "$WORK/consume1k.json" records)
C1K_CPU=$(calc %.2f "$CPU_S / ($(jget "$WORK/consume1k.json" bytes) / 1e9)")
C1K_CLIENT=$CLIENT_CPU_S
bench consume1kdefault consume --topic bench1k --partitions $PARTITIONS \
  "${RDKAFKA_DEFAULT_CONSUME[@]}"
C1KD_MBS=$(jget "$WORK/consume1kdefault.json" mb_per_s)
C1KD_CPU=$(calc %.2f "$CPU_S / ($(jget "$WORK/consume1kdefault.json" bytes) / 1e9)")
C1KD_CLIENT=$CLIENT_CPU_S

# linger.ms=0: every record leaves at once (at 20,000 records/s mostly one per request); then
# linger.ms=1, which lets the client gather a few records per request.
bench latency latency --topic latency --partitions $PARTITIONS --rate 20000 \
  --seconds "$LATENCY_SECONDS" --size 1024 --acks 1 --linger-ms 0
LAT_P50=$(jget "$WORK/latency.json" p50_ms)
LAT_P99=$(jget "$WORK/latency.json" p99_ms)
LAT_P999=$(jget "$WORK/latency.json" p999_ms)
LAT_MAX=$(jget "$WORK/latency.json" max_ms)
LAT_ACK_P50=$(jget "$WORK/latency.json" ack_p50_ms)
LAT_ACK_P99=$(jget "$WORK/latency.json" ack_p99_ms)
LAT_ACK_P999=$(jget "$WORK/latency.json" ack_p999_ms)
LAT_ACK_MAX=$(jget "$WORK/latency.json" ack_max_ms)
LAT_CPU=$CPU_S
LAT_US=$(calc %.0f "$CPU_S * 1e6 / (20000 * $LATENCY_SECONDS)")
LAT_CLIENT=$CLIENT_CPU_S
bench latency1 latency --topic latency --partitions $PARTITIONS --rate 20000 \
  --seconds "$LATENCY_SECONDS" --size 1024 --acks 1 --linger-ms 1
L1_P50=$(jget "$WORK/latency1.json" p50_ms)
L1_P99=$(jget "$WORK/latency1.json" p99_ms)
L1_P999=$(jget "$WORK/latency1.json" p999_ms)
L1_MAX=$(jget "$WORK/latency1.json" max_ms)
L1_ACK_P50=$(jget "$WORK/latency1.json" ack_p50_ms)
L1_ACK_P99=$(jget "$WORK/latency1.json" ack_p99_ms)
L1_ACK_P999=$(jget "$WORK/latency1.json" ack_p999_ms)
L1_ACK_MAX=$(jget "$WORK/latency1.json" ack_max_ms)
L1_CPU=$CPU_S
L1_US=$(calc %.0f "$CPU_S * 1e6 / (20000 * $LATENCY_SECONDS)")
L1_CLIENT=$CLIENT_CPU_S
bench latencyd latency --topic latency --partitions $PARTITIONS --rate 20000 \
  --seconds "$LATENCY_SECONDS" --size 1024 --acks 1 --linger-ms 0 "${RDKAFKA_DEFAULT_LATENCY[@]}"
LD_P50=$(jget "$WORK/latencyd.json" p50_ms)
LD_P99=$(jget "$WORK/latencyd.json" p99_ms)
LD_P999=$(jget "$WORK/latencyd.json" p999_ms)
LD_MAX=$(jget "$WORK/latencyd.json" max_ms)
LD_ACK_P50=$(jget "$WORK/latencyd.json" ack_p50_ms)
LD_ACK_P99=$(jget "$WORK/latencyd.json" ack_p99_ms)
LD_ACK_P999=$(jget "$WORK/latencyd.json" ack_p999_ms)
LD_ACK_MAX=$(jget "$WORK/latencyd.json" ack_max_ms)
LD_CPU=$CPU_S
LD_US=$(calc %.0f "$CPU_S * 1e6 / (20000 * $LATENCY_SECONDS)")
LD_CLIENT=$CLIENT_CPU_S
PEAK_RSS=$(rss_mb "$BROKER_PID" VmHWM)
stop_broker
rm -rf "$WORK/a"

# ---- start-up with 1,000 partitions ---------------------------------------------------------

starts=("not" "measured")
MANY_START="not measured"
MANY_RSS="-"
RECOVERY_WARM="not measured"
RECOVERY_COLD="not measured"
RECOVERED=0
ACKED=0
LOG_BYTES=0
CHECKPOINTED="-"
if [[ $SKIP_SLOW != 1 ]]; then
log "start-up with 1,000 partitions"
start_broker "$WORK/b"
"$TOOL" create-topic --brokers "$BROKER" --topic many --partitions 1000 >/dev/null
"$TOOL" produce --brokers "$BROKER" --topic many --partitions 1000 --records 100000 --size 100 \
  >/dev/null 2>"$WORK/many.err"
stop_broker
starts=()
for _ in 1 2 3; do
  start_broker "$WORK/b"
  starts+=("$START_S")
  MANY_RSS=$(sleep 1 && rss_mb "$BROKER_PID")
  stop_broker
done
MANY_START=$(printf '%s\n' "${starts[@]}" | sort -n | sed -n 2p)  # the median of three
log "ready in ${starts[*]} s; RSS ${MANY_RSS} MB"
rm -rf "$WORK/b"

# ---- recovery after kill -9 -----------------------------------------------------------------

avail_gb=$(( $(df -B1 --output=avail "$WORK" | tail -1) / 1000000000 ))
if (( avail_gb < RECOVERY_GB + 5 )); then
  RECOVERY_GB=$(( avail_gb > 7 ? avail_gb - 5 : 2 ))
  log "only ${avail_gb} GB free: recovery log reduced to ${RECOVERY_GB} GiB"
fi
log "recovery: ${RECOVERY_GB} GiB of log, then kill -9"
start_broker "$WORK/c"
"$TOOL" create-topic --brokers "$BROKER" --topic recovery --partitions $PARTITIONS >/dev/null
bench recovery-fill produce --topic recovery --records $(( RECOVERY_GB * 1024 * 1024 )) \
  --size 1024 --acks 1 --partitions $PARTITIONS
# The recovery point is checkpointed every log.flush.offset.checkpoint.interval.ms (60 s by
# default): wait for a checkpoint written after the fill, then add an unflushed tail.
checkpoint=$WORK/c/logs/recovery-point-offset-checkpoint
fill_done=$(date +%s)
CHECKPOINTED=no
for _ in $(seq 150); do
  if [[ -f $checkpoint ]] && (( $(stat -c %Y "$checkpoint") > fill_done )); then
    CHECKPOINTED=yes
    break
  fi
  sleep 0.5
done
bench recovery-tail produce --topic recovery --records 65536 --size 1024 --acks 1 \
  --partitions $PARTITIONS
LOG_BYTES=$(du -sb "$WORK/c/logs" | cut -f1)
stop_broker KILL

start_broker "$WORK/c"
RECOVERY_WARM=$START_S
"$TOOL" offsets --brokers "$BROKER" --topic recovery --partitions $PARTITIONS >"$WORK/offsets.json"
RECOVERED=$(jget "$WORK/offsets.json" records)
ACKED=$(( $(jget "$WORK/recovery-fill.json" records) + $(jget "$WORK/recovery-tail.json" records) ))
"$TOOL" produce --brokers "$BROKER" --topic recovery --records 65536 --size 1024 \
  --partitions $PARTITIONS >/dev/null 2>&1
stop_broker KILL
RECOVERY_COLD="not measured (cannot drop the page cache)"
if sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
  start_broker "$WORK/c"
  RECOVERY_COLD="${START_S} s"
  stop_broker
fi
log "recovery: ${RECOVERY_WARM}s (page cache warm), cold ${RECOVERY_COLD}; ${RECOVERED} of ${ACKED} acknowledged records present"
rm -rf "$WORK/c"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report -----------------------------------------------------------------------------

verdict() {  # verdict VALUE OP TARGET: "met" or "**missed**" ("-" when not measured)
  [[ $1 =~ ^[0-9.]+$ ]] || { echo "-"; return; }
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
    ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "**missed**" }'
}
log_gib=$(calc %.1f "$LOG_BYTES / 1073741824")
fmt_int() { [[ $1 =~ ^[0-9.]+$ ]] || { echo "$1"; return; }; printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

section=$(cat <<MD
<!-- broker-bench:begin -->
## Broker

Measured by \`bench/broker-bench.sh\` on $(date -u +%Y-%m-%d): $CORES cores ($CPU_MODEL), $RAM,
Linux $KERNEL, scratch on $DEV ($FSTYPE, $DISK_MODEL); load average $LOAD_BEFORE before the run,
$LOAD_AFTER after. One broker (Release build${KFK_BENCH_BROKER_SET:+, ${KFK_BENCH_BROKER_SET}}), loopback, RF=1, $PARTITIONS partitions; the load
comes from \`bench/rdkafka_bench.cpp\` (librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo "")),
which shares the cores with the broker. MB = 10^6 bytes of record values; broker CPU is
user+system time from \`/proc/<pid>/stat\` over the run, per 10^9 bytes of values.

Machine ceilings measured in the same run: one loopback TCP connection **${TCP_MBS} MB/s**;
sequential disk write (dd, 4 GiB, \`conv=fdatasync\`) **${DISK_SYNC_MBS} MB/s**; the same into the
page cache without sync **${DISK_CACHE_MBS} MB/s** (the broker does not fsync by default, so the
page cache is what a produce writes into).

| scenario | measured | target | | ceiling / context | broker CPU | client CPU |
|---|---|---|---|---|---|---|
| produce 1 KiB records, acks=1 (${PRODUCE_GB} GiB) | **${P1K_MBS} MB/s** ($(fmt_int "$P1K_RPS") records/s) | >= 300 MB/s | $(verdict "$P1K_MBS" ">=" 300) | loopback ${TCP_MBS} MB/s, page cache ${DISK_CACHE_MBS} MB/s, disk ${DISK_SYNC_MBS} MB/s | ${P1K_CPU} s/GB | ${P1K_CLIENT} s |
| the same compressed with lz4 by the client (${PRODUCE_GB} GiB of values) | **${P1KZ_MBS} MB/s** ($(fmt_int "$P1KZ_RPS") records/s) | >= 500 MB/s | $(verdict "$P1KZ_MBS" ">=" 500) | every record decompressed and checked by the broker | ${P1KZ_CPU} s/GB | ${P1KZ_CLIENT} s |
| produce 100-byte records, acks=1 ($(fmt_int "$SMALL_RECORDS")) | **$(fmt_int "$P100_RPS") records/s** (${P100_MBS} MB/s) | >= 1,000,000 records/s | $(verdict "$P100_RPS" ">=" 1000000) | loopback ${TCP_MBS} MB/s | ${P100_CPU} s/GB | ${P100_CLIENT} s |
| consume 1 KiB records from the page cache ($(fmt_int "$C1K_RECORDS") records; fetch.message.max.bytes=128 KiB, queued.min.messages=1,000,000, queued.max.messages.kbytes=1 GiB) | **${C1K_MBS} MB/s** | >= 1,000 MB/s | $(verdict "$C1K_MBS" ">=" 1000) | loopback ${TCP_MBS} MB/s | ${C1K_CPU} s/GB | ${C1K_CLIENT} s |
| the same with librdkafka's defaults (fetch.message.max.bytes=1 MiB, queued.min.messages=100,000, queued.max.messages.kbytes=64 MiB) | **${C1KD_MBS} MB/s** | >= 1,000 MB/s | $(verdict "$C1KD_MBS" ">=" 1000) | loopback ${TCP_MBS} MB/s | ${C1KD_CPU} s/GB | ${C1KD_CLIENT} s |
| end-to-end latency, 20,000 records/s of 1 KiB for ${LATENCY_SECONDS} s, linger.ms=0 (consumer fetch.wait.max.ms=100, fetch.min.bytes=1; Nagle off in both clients) | p50 ${LAT_P50} ms, **p99 ${LAT_P99} ms**, p99.9 ${LAT_P999} ms, max ${LAT_MAX} ms | p99 <= 2 ms | $(verdict "$LAT_P99" "<=" 2) | acknowledgement (acks=1): p50 ${LAT_ACK_P50} ms, p99 ${LAT_ACK_P99} ms, p99.9 ${LAT_ACK_P999} ms, max ${LAT_ACK_MAX} ms | ${LAT_CPU} s (${LAT_US} µs a record) | ${LAT_CLIENT} s |
| the same with linger.ms=1 | p50 ${L1_P50} ms, **p99 ${L1_P99} ms**, p99.9 ${L1_P999} ms, max ${L1_MAX} ms | p99 <= 2 ms | $(verdict "$L1_P99" "<=" 2) | acknowledgement: p50 ${L1_ACK_P50} ms, p99 ${L1_ACK_P99} ms, p99.9 ${L1_ACK_P999} ms, max ${L1_ACK_MAX} ms | ${L1_CPU} s (${L1_US} µs a record) | ${L1_CLIENT} s |
| the same, linger.ms=0, with librdkafka's defaults (fetch.wait.max.ms=500, fetch.min.bytes=1, Nagle on) | p50 ${LD_P50} ms, **p99 ${LD_P99} ms**, p99.9 ${LD_P999} ms, max ${LD_MAX} ms | p99 <= 2 ms | $(verdict "$LD_P99" "<=" 2) | acknowledgement: p50 ${LD_ACK_P50} ms, p99 ${LD_ACK_P99} ms, p99.9 ${LD_ACK_P999} ms, max ${LD_ACK_MAX} ms | ${LD_CPU} s (${LD_US} µs a record) | ${LD_CLIENT} s |
| idle resident memory (3 s after start) | **${IDLE_RSS} MB** (idle CPU ${IDLE_CPU_PCT} %) | <= 30 MB | $(verdict "$IDLE_RSS" "<=" 30) | | | |
| start with 1,000 partitions on disk (median of 3: ${starts[*]} s) | **${MANY_START} s** (RSS ${MANY_RSS} MB) | <= 0.5 s | $(verdict "$MANY_START" "<=" 0.5) | | | |
| ready after kill -9 with ${log_gib} GiB of log, page cache warm | **${RECOVERY_WARM} s** | <= 2 s | $(verdict "$RECOVERY_WARM" "<=" 2) | disk ${DISK_SYNC_MBS} MB/s | | |
| the same after dropping the page cache | ${RECOVERY_COLD} | | | | | |

Peak broker RSS during the throughput runs: ${PEAK_RSS} MB. After the kill -9,
$(fmt_int "$RECOVERED") of the $(fmt_int "$ACKED") acknowledged records were in the log (recovery-point checkpoint
after the fill: ${CHECKPOINTED}). Recovery trusts the segments wholly below each partition's
recovery point and CRC-checks the rest: here each partition's active segment (the log is not
fsynced by default, so the recovery point moves at segment rolls), with the 64 MiB written
after the checkpoint at its end.
<!-- broker-bench:end -->
MD
)

if [[ $DOC == "-" ]]; then
  printf '%s\n' "$section"
  exit 0
fi
[[ -f $DOC ]] || printf '# Benchmarks\n\nFigures measured by the scripts in bench/. They report; they do not pass or fail a build.\n' >"$DOC"
"$PYTHON" - "$DOC" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = r"<!-- broker-bench:begin -->.*?<!-- broker-bench:end -->"
if re.search(pattern, text, flags=re.S):
    text = re.sub(pattern, lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
log "wrote $DOC"

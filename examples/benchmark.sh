#!/usr/bin/env bash
# A quick benchmark of the broker kfk talks to: producer throughput and acknowledgement
# latency, consumer throughput, and end-to-end latency at a steady rate.
#
#   examples/benchmark.sh [TOPIC] [RECORDS] [RECORD_SIZE]   (default: kfk-bench 200000 1024)
#
# Set OUTPUT=json for one JSON summary per run instead of text. The broker comes from
# KFK_BROKERS (or a kfk profile); kfk must be on PATH. The topic is created with 3 partitions
# if needed and left in place.
set -euo pipefail

topic=${1:-kfk-bench}
records=${2:-200000}
size=${3:-1024}
output=${OUTPUT:-text}

run() {
  if [[ $output == json ]]; then
    kfk --output json perf "$@" | tail -n 1
  else
    kfk --output table perf "$@" --interval 60
  fi
}

kfk topic create "$topic" --partitions 3 --if-not-exists >/dev/null
[[ $output == json ]] || echo "== produce: $records records of $size bytes, acks=all"
run produce "$topic" --num-records "$records" --record-size "$size" --producers 2
[[ $output == json ]] || echo "== consume: everything in $topic"
run consume "$topic"
[[ $output == json ]] || echo "== end to end: 1000 records/s for 3 s"
run e2e "$topic-e2e" --rate 1000 --duration 3 --record-size "$size"

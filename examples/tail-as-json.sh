#!/usr/bin/env bash
# Follows a topic like `tail -f`, one JSON object per record (topic, partition, offset,
# timestamp, key, value, headers; values that are JSON are embedded as JSON). Starts with the
# last N records of every partition. Ctrl-C stops it.
#
#   examples/tail-as-json.sh TOPIC [N]          (N defaults to 10)
#   examples/tail-as-json.sh --once TOPIC [N]   print what is there and exit (for scripts)
#
# The broker comes from KFK_BROKERS (or a kfk profile); kfk must be on PATH.
set -euo pipefail

end=""
if [[ ${1:-} == --once ]]; then
  end=":end"
  shift
fi
topic=${1:?usage: tail-as-json.sh [--once] TOPIC [N]}
last=${2:-10}

exec kfk consume "$topic" --offset "-${last}${end}" --format json

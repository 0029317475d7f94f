#!/usr/bin/env bash
# Rewinds (or fast-forwards) a consumer group on a topic: shows the group and its lag, prints
# the plan, and applies it. The group must have no running members.
#
#   examples/reset-group.sh GROUP TOPIC [earliest|latest|DATETIME|-N]
#       earliest  (default) re-read everything still in the log
#       latest    skip to the end
#       DATETIME  e.g. 2026-01-31T08:00:00Z: from the first record at or after that time
#       -N        go back N records from the committed offset
#
# The broker comes from KFK_BROKERS (or a kfk profile); kfk must be on PATH.
set -euo pipefail

group=${1:?usage: reset-group.sh GROUP TOPIC [earliest|latest|DATETIME|-N]}
topic=${2:?usage: reset-group.sh GROUP TOPIC [earliest|latest|DATETIME|-N]}
to=${3:-earliest}

case $to in
  earliest) how=(--to-earliest) ;;
  latest) how=(--to-latest) ;;
  -[0-9]*) how=(--shift-by "$to") ;;
  *) how=(--to-datetime "$to") ;;
esac

echo "== before"
kfk --output table group describe "$group"
echo "== plan"
kfk --output table group reset-offsets "$group" --topic "$topic" "${how[@]}"
echo "== applying"
kfk --output table group reset-offsets "$group" --topic "$topic" "${how[@]}" --execute
echo "== after"
kfk --output table group describe "$group"

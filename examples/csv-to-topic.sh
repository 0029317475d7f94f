#!/usr/bin/env bash
# Creates a topic and loads a CSV file into it: one record per row, keyed by the first column,
# the row as a JSON object (named by the header line) for the value. Then reads it back.
#
#   examples/csv-to-topic.sh [CSV_FILE] [TOPIC]     (default: examples/data/cities.csv, cities)
#
# The broker comes from KFK_BROKERS (or a kfk profile); kfk must be on PATH.
set -euo pipefail

csv=${1:-$(dirname "$0")/data/cities.csv}
topic=${2:-cities}

kfk topic create "$topic" --partitions 3 --if-not-exists

# header "a,b,c" + row "x,1,2" -> key "x", TAB, value {"a":"x","b":"1","c":"2"}
# (simple CSV: no quoted commas; numbers stay strings, as CSV does not type them)
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; n = NF; next }
  NF == 0 { next }
  {
    json = "{"
    for (i = 1; i <= n; i++) {
      gsub(/\\/, "\\\\", $i); gsub(/"/, "\\\"", $i)
      json = json (i > 1 ? "," : "") "\"" name[i] "\":\"" $i "\""
    }
    print $1 "\t" json "}"
  }' "$csv" | kfk produce "$topic" --key-separator $'\t'

echo "Loaded $(($(wc -l <"$csv") - 1)) rows into $topic; the first records:"
kfk consume "$topic" --offset earliest --num 3 --format '%k  %s\n'

#!/usr/bin/env bash
# Measures how long kfk takes to build from scratch (Release, ccache off) and to rebuild after
# one message definition changes, then records the figures with the machine description in
# docs/benchmarks.md (the section between the build-time markers is replaced).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d /tmp/kfk-build-time.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export CCACHE_DISABLE=1

seconds() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

t0=$(date +%s%N)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFK_BUILD_TESTS=OFF >/dev/null
ninja -C "$dir" kfk >/dev/null
full=$(seconds "$t0")

# Touch one definition: only its translation unit (and the API table) should rebuild.
spec=src/core/protocol/spec/heartbeat.kp
cp "$spec" "$dir/spec.bak"
# A new tagged field in HeartbeatResponse (the last message in the file).
echo "  BuildTimeProbe int32 4+ tag=9999 tagged=4+" >>"$spec"
t0=$(date +%s%N)
ninja -C "$dir" kfk >"$dir/incremental.log"
incremental=$(seconds "$t0")
cp "$dir/spec.bak" "$spec"
rebuilt=$(grep -c 'Building CXX' "$dir/incremental.log" || true)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(free -g | awk '/Mem:/ {print $2 " GiB"}')
compiler=$(c++ --version | head -1)
generated=$(find "$dir/generated" -name '*.cpp' | wc -l)

section=$(cat <<MD
<!-- build-time:begin -->
## Build time

Measured by \`bench/build-time.sh\` on $(date -u +%Y-%m-%d): $(nproc) cores ($cpu), $mem,
$compiler, Ninja, ccache disabled.

| build | wall time |
|---|---|
| from scratch, Release, \`kfk\` only ($generated generated sources) | ${full} s |
| after editing one message definition (\`$spec\`) | ${incremental} s ($rebuilt files recompiled) |
<!-- build-time:end -->
MD
)

out=docs/benchmarks.md
[[ -f $out ]] || printf '# Benchmarks\n\nFigures measured by the scripts in bench/. They report; they do not pass or fail a build.\n' >"$out"
if grep -q '<!-- build-time:begin -->' "$out"; then
  python3 - "$out" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"<!-- build-time:begin -->.*?<!-- build-time:end -->", lambda m: section, text, flags=re.S)
open(path, "w").write(text)
PY
else
  printf '\n%s\n' "$section" >>"$out"
fi
echo "full build ${full} s; incremental ${incremental} s ($rebuilt recompiled)"

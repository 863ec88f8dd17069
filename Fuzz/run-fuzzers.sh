#!/usr/bin/env bash
# Runs each libFuzzer target built by `make fuzz` for SECONDS seconds, in a private network
# namespace (the parsers never reach the network; this keeps it so). The seed corpus in
# Fuzz/Corpus is read, new inputs go to .build-fuzz/corpus, crashes to .build-fuzz/artifacts.
#
#   Fuzz/run-fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
if [ -z "${VOXBRIDGE_IN_NETNS:-}" ]; then
  exec unshare -n env VOXBRIDGE_IN_NETNS=1 "$0" "$@"
fi
ip link set lo up

build=$(realpath "$1")
seconds=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for pair in FuzzHealthReading:health FuzzFleetList:fleet; do
  target=${pair%%:*}
  seeds=${pair##*:}
  corpus="$root/.build-fuzz/corpus/$seeds"
  artifacts="$root/.build-fuzz/artifacts"
  mkdir -p "$corpus" "$artifacts"
  echo "== $target for ${seconds}s"
  "$build/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target-" "$corpus" "$root/Fuzz/Corpus/$seeds" \
    >"$artifacts/$target.log" 2>&1 || { status=$?; echo "error: $target found a crash (exit $status); see $artifacts/$target.log" >&2; tail -40 "$artifacts/$target.log" >&2; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$artifacts/$target.log" || true
done
exit "$status"

#!/usr/bin/env bash
# Where a pick's time goes on this machine: the floor any request pays between two processes
# (one byte each way over loopback TCP), then picks from the dispatcher through a plain socket,
# with no HTTP client library in front (Benchmarks/Floor/*.c). Each at one exchange a
# millisecond (threads warm) and one every 100 ms (the machine idle in between, as at 10
# dialouts/s). Compare with the bench's picks through DispatchClient (docs/BENCHMARKS.md,
# "Where a pick's time goes"). First, with perf installed, what the idle dispatcher's refresh
# schedule costs in CPU and context switches. Loopback only; what it starts is stopped by PID.
#
#   Benchmarks/latency-floor.sh [DISPATCH_BINARY [SIM_BINARY]]
#
# Both binaries default to the release build `make run` and `make bench-tools` make in .build.
# Needs a C compiler (cc) and curl.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BINARY=${1:-$HERE/../.build/release/voxbridge-dispatch}
SIM=${2:-$(dirname "$BINARY")/voxcore-sim}
WORK=$(mktemp -d /tmp/voxbridge-floor.XXXXXX)
PIDS=()
cleanup() {
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
  sleep 0.2
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in cc curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
[ -x "$BINARY" ] || { echo "error: $BINARY not built (make bench-tools)" >&2; exit 1; }
[ -x "$SIM" ] || { echo "error: $SIM not built (make bench-tools)" >&2; exit 1; }
cc -O2 -o "$WORK/pingpong" "$HERE/Floor/pingpong.c"
cc -O2 -o "$WORK/rawpick" "$HERE/Floor/rawpick.c"

# 8 simulated fleet servers of ample capacity, on free ports from a base the throughput script
# does not use.
BASE_PORT=${FLOOR_BASE_PORT:-19301}
"$SIM" --servers 8 --workers 100000 --base-port "$BASE_PORT" > "$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "voxcore-sim ready" "$WORK/sim.log" 2>/dev/null && break; sleep 0.1; done
grep -q "voxcore-sim ready" "$WORK/sim.log" || { echo "error: voxcore-sim did not start within 10 s:" >&2; cat "$WORK/sim.log" >&2; exit 1; }

# Tokens from the caller's shell would guard the routes this script calls without one.
env -u VOXBRIDGE_ADMIN_TOKEN -u VOXBRIDGE_PICK_TOKEN \
  "$BINARY" serve --host 127.0.0.1 --port 0 --db "$WORK/floor.sqlite" --log-level warning > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/serve.log" | grep -o '[0-9]*$' || true)
[ -n "$PORT" ] || { echo "error: the dispatcher did not start within 10 s:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
FLEET=$(for i in $(seq 0 7); do printf '"http://127.0.0.1:%d",' $((BASE_PORT + i)); done)
curl -sf -X PUT "http://127.0.0.1:$PORT/v1/settings/voxcore_fleet" -d "{\"voxcore_fleet\": [${FLEET%,}]}" > /dev/null
curl -sf -X POST "http://127.0.0.1:$PORT/v1/pick" > /dev/null   # first probes
sleep 1
DISPATCH_PID=${PIDS[1]}
# What the refresh schedule alone costs: the dispatcher idle for 10 s with its 8 servers (perf
# stat's software counters; skipped where perf is missing).
IDLE=""
if command -v perf >/dev/null; then
  # `perf stat -x,` prints value,unit,event,...; an event counted for user space only (a non-root
  # perf) is named with ":u", and one it may not count has "<not counted>" or "<not supported>".
  COUNTS=$(perf stat -x, -e task-clock,context-switches -p "$DISPATCH_PID" -- sleep 10 2>&1 >/dev/null) || COUNTS=""
  IDLE=$(echo "$COUNTS" | awk -F, '
    $3 == "task-clock" && $1 ~ /^[0-9.]+$/ { cpu = $1 }
    $3 == "context-switches" && $1 ~ /^[0-9]+$/ { cs = $1 }
    END { if (cpu != "" && cs != "") printf "%.0f ms CPU, %d context switches", cpu, cs }')
  [ -n "$IDLE" ] || IDLE="not measured (perf may not count this process here: run as root)"
fi

FAST_ECHO=$("$WORK/pingpong" 1000 2000)
IDLE_ECHO=$("$WORK/pingpong" 100000 200)
FAST_PICK=$("$WORK/rawpick" "$PORT" 1000 2000)
IDLE_PICK=$("$WORK/rawpick" "$PORT" 100000 200)

echo "### Latency floor ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| what | one a millisecond | one every 100 ms |"
echo "| --- | --- | --- |"
echo "| two C processes, 1 byte each way (\`Floor/pingpong.c\`) | ${FAST_ECHO#*: } | ${IDLE_ECHO#*: } |"
echo "| POST /v1/pick from a plain socket (\`Floor/rawpick.c\`) | ${FAST_PICK#*: } | ${IDLE_PICK#*: } |"
if [ -n "$IDLE" ]; then
  echo
  echo "The dispatcher idle for 10 s with 8 servers (perf stat, before the picks): $IDLE."
fi

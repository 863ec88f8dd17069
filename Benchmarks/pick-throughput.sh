#!/usr/bin/env bash
# Pick throughput and latency, side by side with nginx serving a small static JSON file, in one
# run on this machine. The fleet is voxcore-sim (8 servers of ample capacity), so the
# dispatcher's background probes cost what they cost while it answers picks. Loopback only;
# everything started here is stopped by PID on exit.
#
#   Benchmarks/pick-throughput.sh [DISPATCH_BINARY [SIM_BINARY]]
#   PICK_TOKEN=secret Benchmarks/pick-throughput.sh     # picks guarded by a token, as in production
#   NGINX_WORKERS=1 Benchmarks/pick-throughput.sh       # one nginx worker (default auto: one per core)
#
# Both binaries default to the release build `make run` and `make bench-tools` make in .build.
# Needs nginx and wrk (apt-get install nginx-light wrk). Prints a markdown table.
set -euo pipefail

BINARY=${1:-.build/release/voxbridge-dispatch}
SIM=${2:-$(dirname "$BINARY")/voxcore-sim}
DURATION=${DURATION:-10s}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
WORK=$(mktemp -d /tmp/voxbridge-throughput.XXXXXX)
FAKE_BASE_PORT=${FAKE_BASE_PORT:-19101}
STATIC_PORT=${STATIC_PORT:-19199}
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (apt-get install nginx-light wrk curl)" >&2; exit 1; }
done
[ -x "$BINARY" ] || { echo "error: $BINARY not built (make bench-tools)" >&2; exit 1; }
[ -x "$SIM" ] || { echo "error: $SIM not built (make bench-tools)" >&2; exit 1; }

# 8 simulated fleet servers of ample capacity.
"$SIM" --servers 8 --workers 100000 --base-port "$FAKE_BASE_PORT" > "$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "voxcore-sim ready" "$WORK/sim.log" 2>/dev/null && break; sleep 0.1; done
grep -q "voxcore-sim ready" "$WORK/sim.log" || { echo "error: voxcore-sim did not start within 10 s:" >&2; cat "$WORK/sim.log" >&2; exit 1; }

# The static baseline in nginx.
mkdir -p "$WORK/html" "$WORK/logs"
printf '{"server":"http://127.0.0.1:19101","available":100000,"workers":100000,"reservation_id":"0123456789abcdef0123456789abcdef","elapsed_ms":0.012}' > "$WORK/html/static.json"
{
  echo "pid $WORK/nginx.pid; worker_processes $NGINX_WORKERS; error_log $WORK/logs/error.log;"
  echo "events { worker_connections 4096; }"
  echo "http { access_log off; client_body_temp_path $WORK; proxy_temp_path $WORK; fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;"
  echo "  server { listen 127.0.0.1:$STATIC_PORT; root $WORK/html; location = /static.json { default_type application/json; } }"
  echo "}"
} > "$WORK/nginx.conf"
nginx -p "$WORK" -c "$WORK/nginx.conf"

# The dispatcher with the default options.
PICK_TOKEN=${PICK_TOKEN:-}
VOXBRIDGE_PICK_TOKEN="$PICK_TOKEN" "$BINARY" serve --host 127.0.0.1 --port 0 --db "$WORK/bench.sqlite" --log-level warning > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
DISPATCH_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/serve.log" | grep -o '[0-9]*$' || true)
[ -n "$PORT" ] || { echo "error: the dispatcher did not start within 10 s:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
FLEET=$(for i in $(seq 0 7); do printf '"http://127.0.0.1:%d",' $((FAKE_BASE_PORT + i)); done)
curl -sf -X PUT "$URL/v1/settings/voxcore_fleet" -d "{\"voxcore_fleet\": [${FLEET%,}]}" > /dev/null
AUTH=(); [ -n "$PICK_TOKEN" ] && AUTH=(-H "Authorization: Bearer $PICK_TOKEN")
curl -sf "${AUTH[@]}" -X POST "$URL/v1/pick" > /dev/null   # first probes

cat > "$WORK/pick.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
LUA
[ -n "$PICK_TOKEN" ] && echo "wrk.headers[\"Authorization\"] = \"Bearer $PICK_TOKEN\"" >> "$WORK/pick.lua"

run_wrk() { wrk "$@" 2>&1; }
rps() { echo "$1" | awk '/Requests\/sec/ {print $2}'; }
non2xx() { local v; v=$(echo "$1" | awk '/Non-2xx/ {print $NF}'); echo "${v:-0}"; }

# Alternate the two targets ROUNDS times, so that a change in the machine's load falls on both;
# the median ratio is the figure.
ROUNDS=${ROUNDS:-3}
ratios=(); ours_all=(); nginx_all=(); ours_non2xx=0
# Warm both up first (connections, caches, the dispatcher's first reservations), unmeasured.
run_wrk -t2 -c32 -d3s -s "$WORK/pick.lua" "$URL/v1/pick" > /dev/null
run_wrk -t2 -c32 -d3s "http://127.0.0.1:$STATIC_PORT/static.json" > /dev/null
for round in $(seq 1 "$ROUNDS"); do
  ours=$(run_wrk -t2 -c32 -d"$DURATION" -s "$WORK/pick.lua" "$URL/v1/pick")
  nginx_out=$(run_wrk -t2 -c32 -d"$DURATION" "http://127.0.0.1:$STATIC_PORT/static.json")
  ours_all+=("$(rps "$ours")"); nginx_all+=("$(rps "$nginx_out")")
  ours_non2xx=$((ours_non2xx + $(non2xx "$ours")))
  ratios+=("$(awk -v a="$(rps "$ours")" -v b="$(rps "$nginx_out")" 'BEGIN { printf "%.2f", a / b }')")
done
sequential=$(run_wrk -t1 -c1 -d"$DURATION" --latency -s "$WORK/pick.lua" "$URL/v1/pick")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$DISPATCH_PID/status")
metrics=$(curl -sf "${AUTH[@]}" "$URL/metrics")
picked=$(echo "$metrics" | awk '/^voxbridge_picks_total\{outcome="picked"\}/ {print $2}')
early=$(echo "$metrics" | awk '/^voxbridge_picks_answered_in_pipeline_total/ {print $2}')
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ours_rps=$(median "${ours_all[@]}"); nginx_rps=$(median "${nginx_all[@]}"); ratio=$(median "${ratios[@]}")

echo "### Pick throughput vs nginx ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, wrk -t2 -c32 -d$DURATION, $ROUNDS alternating rounds)"
echo
echo "| target | requests/s, median (each round) | non-2xx |"
echo "| --- | --- | --- |"
echo "| voxbridge-dispatch POST /v1/pick (voxcore-sim, 8 servers, default options${PICK_TOKEN:+, a pick token}) | $ours_rps (${ours_all[*]}) | $ours_non2xx |"
echo "| nginx worker_processes $NGINX_WORKERS, static JSON file | $nginx_rps (${nginx_all[*]}) | 0 |"
echo "| ratio ours / nginx, median (each round) | $ratio (${ratios[*]}) | |"
echo
echo "Sequential picks (wrk -t1 -c1 --latency): $(rps "$sequential") picks/s;" \
     "p50 $(echo "$sequential" | awk '$1=="50%" {print $2}'), p90 $(echo "$sequential" | awk '$1=="90%" {print $2}')," \
     "p99 $(echo "$sequential" | awk '$1=="99%" {print $2}'); non-2xx: $(non2xx "$sequential")."
echo "Dispatcher peak RSS: $((rss_kb / 1024)) MiB. Picks answered: $picked, of which in the pipeline" \
     "(without waiting for a probe): $early."

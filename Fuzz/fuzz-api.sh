#!/usr/bin/env bash
# Runs schemathesis against a live `voxbridge-dispatch serve` on 127.0.0.1, checking every answer
# against docs/openapi.yaml. Generated fleet lists name arbitrary hosts, which the service would
# then probe, so everything runs in a private network namespace with only loopback up.
#
#   Fuzz/fuzz-api.sh BINARY SCHEMATHESIS [MAX_EXAMPLES] [SEED]
#
# Exits non-zero when schemathesis reports a failure or the service dies.
set -euo pipefail

if [ -z "${VOXBRIDGE_IN_NETNS:-}" ]; then
  exec unshare -n env VOXBRIDGE_IN_NETNS=1 "$0" "$@"
fi
ip link set lo up

binary=$(realpath "$1")
st=$(realpath "$2")
max_examples=${3:-200}
seed=${4:-20261129}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/voxbridge-fuzz-api.XXXXXX)
admin_token="fuzz-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
pick_token="fuzz-pick-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

VOXBRIDGE_ADMIN_TOKEN=$admin_token VOXBRIDGE_PICK_TOKEN=$pick_token \
  "$binary" serve --host 127.0.0.1 --port 0 --db "$work/fuzz.sqlite" --probe-timeout-ms 200 \
  >"$work/serve.log" 2>&1 &
serve_pid=$!
cleanup() {
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "error: serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

# Two passes: with the admin token (every operation allowed), then with the pick token (the
# writes must answer 401, the reads as with the admin token).
status=0
for pass in admin pick; do
  if [ "$pass" = admin ]; then token=$admin_token; else token=$pick_token; fi
  echo "== schemathesis with the $pass token"
  (cd "$work" && "$st" --config-file "$root/Fuzz/schemathesis.toml" run "$root/docs/openapi.yaml" \
    --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" \
    --max-examples "$max_examples" --seed "$seed" \
    --request-timeout 5 --workers 2 \
    --report junit --report-junit-path "$work/junit-$pass.xml") || status=$?
  if [ -f "$work/junit-$pass.xml" ]; then
    python3 - "$work/junit-$pass.xml" "$pass" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
print(f"schemathesis junit ({sys.argv[2]} token):", " ".join(re.findall(r'<testsuites?\b[^>]*>', text)[:1]))
PY
  fi
done
if ! kill -0 "$serve_pid" 2>/dev/null; then
  echo "error: serve died during the run" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
exit "$status"

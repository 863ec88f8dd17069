#!/usr/bin/env bash
# Tests the package in a minimal Debian 12 without Swift (run by `make package-test`, as root):
#   - debootstrap bookworm (minbase) from the machine's Debian mirror into
#     .build-package-test/bookworm once (cached), and copy it for each run;
#   - apt-get install ./<this commit's .deb> (dependencies from the mirror): the user, the state
#     folder, random tokens in the environment file, --version;
#   - serve on a loopback port with the packaged environment file, as the unit would (as
#     voxbridge), GET /health, fleet add of a voxcore-sim started outside, a pick through it;
#   - upgrade to a second build (a later version): the database and the edited environment file
#     stay; serve and pick again; systemd-analyze verify on the installed units;
#   - remove keeps the database and the environment file; purge deletes both.
# Every wait is bounded; every process started is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${PACKAGE_TEST_DIR:-$root/.build-package-test}
base=$work/bookworm
run=$work/run
sim_bin=$root/.build/debug/voxcore-sim

step() { printf '== %s\n' "$*"; }
fail() { echo "package-test FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
[ -x "$sim_bin" ] || fail "$sim_bin is missing: swift build --product voxcore-sim"

# The first mirror the machine's apt uses (deb822 or one-line format).
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}')
fi
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list 2>/dev/null | awk '/^deb / && $0 !~ /security/ {print $2; exit}')
fi
mirror=${mirror:-http://deb.debian.org/debian}

# The two packages: this commit's (made by `make package`) and a later build of it.
v1=$(scripts/version.sh)
build1=$(scripts/version.sh --build)
v2_part=${build1:+$build1.}1
v2="$(tr -d ' \t\r\n' < VERSION)+$v2_part"
dpkg --compare-versions "$v1" lt "$v2" || fail "$v2 does not sort after $v1"
deb1=$root/dist/voxbridge-dispatch_${v1}_amd64.deb
deb2=$root/dist/voxbridge-dispatch_${v2}_amd64.deb
[ -f "$deb1" ] || fail "$deb1 is missing: make package"
mkdir -p "$work"
step "second package, $v2"
scripts/package-deb.sh --build-part "$v2_part" > "$work/package2.log" 2>&1 || { tail -20 "$work/package2.log"; fail "second package"; }
grep '^== ' "$work/package2.log"

# The chroot: cached debootstrap, copied for this run.
if [ ! -f "$base/.complete" ]; then
  step "debootstrap bookworm (minbase) from $mirror into $base"
  rm -rf "$base.partial"
  timeout 1200 debootstrap --variant=minbase bookworm "$base.partial" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  cp /etc/resolv.conf "$base.partial/etc/resolv.conf"
  timeout 600 chroot "$base.partial" apt-get update -q > "$work/apt-update.log" 2>&1 || { tail "$work/apt-update.log"; fail "apt-get update"; }
  touch "$base.partial/.complete"
  rm -rf "$base" && mv "$base.partial" "$base"
else
  step "debootstrap bookworm: cached in $base"
fi
rm -rf "$run"
cp -a "$base" "$run"
cp /etc/resolv.conf "$run/etc/resolv.conf"
[ ! -e "$run/usr/bin/swift" ] && ! ls "$run"/usr/lib/swift* >/dev/null 2>&1 || fail "the chroot has Swift"

# Runs a command in the chroot in a private mount namespace: /proc and /dev are mounted there
# only, and go away with the last process. Each step execs the next, so `(exec in_chroot_command
# …) &` leaves $! the command's own PID.
MOUNT_AND_CHROOT='mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"'
in_chroot() {
  unshare --mount --propagation private -- /bin/sh -c "$MOUNT_AND_CHROOT" "$run" "$@"
}
# As the unit runs it: the environment file read as root, then the voxbridge user.
AS_SERVICE='set -a; . /etc/voxbridge-dispatch.env; set +a; cd /var/lib/voxbridge-dispatch; exec setpriv --reuid=voxbridge --regid=voxbridge --init-groups "$@"'

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Waits (at most $3 seconds) for a line matching $2 in the log $1 of process $4; prints the match.
wait_for_line() {
  local log=$1 pattern=$2 seconds=$3 pid=$4
  for _ in $(seq $((seconds * 10))); do
    if grep -Eo "$pattern" "$log" 2>/dev/null | head -1 | grep .; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "process $pid exited while waiting for '$pattern'"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "no '$pattern' within $seconds s"
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "process $pid did not stop within 15 s of SIGTERM"; }
  wait "$pid" 2>/dev/null || true
}

# voxcore-sim outside the chroot: one fleet server on loopback.
"$sim_bin" --servers 1 --workers 16 > "$work/sim.log" 2>&1 &
sim_pid=$!
pids+=("$sim_pid")
wait_for_line "$work/sim.log" 'voxcore-sim ready' 30 "$sim_pid" >/dev/null
sim_url=$(grep -Eo '^server 0 http://127\.0\.0\.1:[0-9]+' "$work/sim.log" | awk '{print $3}')
step "voxcore-sim: $sim_url (pid $sim_pid)"

# Serves from the chroot until the "listening on" line; sets serve_pid, port and start_ms.
serve() {
  local log=$work/serve-$1.log
  local started=$(date +%s%N)
  (exec unshare --mount --propagation private -- /bin/sh -c "$MOUNT_AND_CHROOT" "$run" \
    /bin/sh -c "$AS_SERVICE" sh /usr/bin/voxbridge-dispatch serve --host 127.0.0.1 --port 0) > "$log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  local line
  line=$(wait_for_line "$log" 'listening on http://127\.0\.0\.1:[0-9]+' 30 "$serve_pid")
  start_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  port=${line##*:}
}

# GET /health, a pick without a token (401) and with the pick token (the sim's server).
check_serving() {
  local health status pick
  health=$(curl -sS --max-time 5 "http://127.0.0.1:$port/health")
  [ "$health" = '{"status":"ok"}' ] || fail "/health answered $health"
  echo "GET /health: $health"
  status=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/pick")
  [ "$status" = 401 ] || fail "a pick without the token answered $status"
  pick=$(curl -sS --max-time 5 -X POST -H "Authorization: Bearer $(token VOXBRIDGE_PICK_TOKEN)" "http://127.0.0.1:$port/v1/pick")
  echo "POST /v1/pick (no token: 401): $pick"
  python3 -c 'import json, sys; p = json.loads(sys.argv[1]); assert p["server"] == sys.argv[2] and p["workers"] == 16, p' "$pick" "$sim_url" \
    || fail "the pick did not name $sim_url"
  [ "$(cat "/proc/$serve_pid/comm")" = voxbridge-dispa ] || fail "pid $serve_pid is $(cat "/proc/$serve_pid/comm"), not serve"
  rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")
}

token() { sed -n "s/^$1=//p" "$run/etc/voxbridge-dispatch.env"; }

step "apt-get install ./$(basename "$deb1")"
cp "$deb1" "$deb2" "$run/tmp/"
in_chroot env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "/tmp/$(basename "$deb1")" < /dev/null \
  > "$work/install.log" 2>&1 || { tail -30 "$work/install.log"; fail "install"; }
grep -E '^(The following NEW packages|Setting up voxbridge|voxbridge-dispatch:)' "$work/install.log" || true
grep -A3 '^The following NEW packages' "$work/install.log" | tail -n +2 || true
version=$(in_chroot env -i /usr/bin/voxbridge-dispatch --version)
echo "--version (empty environment): $version"
[ "$version" = "voxbridge-dispatch $v1" ] || fail "--version said '$version'"
echo "$(in_chroot id voxbridge); $(in_chroot stat -c '%n %U:%G %a' /var/lib/voxbridge-dispatch /etc/voxbridge-dispatch.env | tr '\n' ';')"
for env in "$run"/etc/voxbridge*.env; do
  [ "$(stat -c %a "$env")" = 600 ] || fail "$env is not 0600"
done
echo "environment files (0600): $(cd "$run" && ls etc/voxbridge*.env | tr '\n' ' ')"
for variable in VOXBRIDGE_ADMIN_TOKEN VOXBRIDGE_PICK_TOKEN; do
  value=$(token "$variable")
  printf '%s=%s… (%d hex digits)\n' "$variable" "${value:0:8}" "${#value}"
  echo "$value" | grep -Eqx '[0-9a-f]{64}' || fail "$variable is '$value', not a generated token"
done
[ "$(token VOXBRIDGE_ADMIN_TOKEN)" != "$(token VOXBRIDGE_PICK_TOKEN)" ] || fail "both tokens are the same"
refusal=$(in_chroot env VOXBRIDGE_ADMIN_TOKEN=change-me /usr/bin/voxbridge-dispatch serve --port 0 --db /tmp/refuse.sqlite 2>&1 >/dev/null) \
  && fail "serve started with a placeholder token" || status=$?
[ "$status" = 1 ] && [ "$(printf '%s\n' "$refusal" | wc -l)" = 1 ] || fail "placeholder refusal: exit $status, '$refusal'"
echo "serve with VOXBRIDGE_ADMIN_TOKEN=change-me: exit $status: $refusal"

step "serve from the package (as voxbridge, the packaged environment file, 127.0.0.1, a free port)"
serve first
echo "listening on port $port after $start_ms ms (pid $serve_pid)"
added=$(in_chroot /bin/sh -c "$AS_SERVICE" sh /usr/bin/voxbridge-dispatch fleet add "$sim_url")
echo "fleet add: $added"
check_serving
echo "serve: start $start_ms ms, RSS $rss_kib KiB after the pick"
stop_pid "$serve_pid"

step "edit the environment file, then upgrade to $v2"
sed -i 's/^VOXBRIDGE_PROBE_TIMEOUT_MS=500$/VOXBRIDGE_PROBE_TIMEOUT_MS=750/' "$run/etc/voxbridge-dispatch.env"
echo '# edited by package-test' >> "$run/etc/voxbridge-dispatch.env"
env_before=$(md5sum < "$run/etc/voxbridge-dispatch.env")
db_before=$(in_chroot /bin/sh -c "$AS_SERVICE" sh /usr/bin/voxbridge-dispatch fleet list)
in_chroot env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "/tmp/$(basename "$deb2")" < /dev/null \
  > "$work/upgrade.log" 2>&1 || { tail -30 "$work/upgrade.log"; fail "upgrade"; }
grep -E '^(Preparing to unpack|Unpacking|Setting up voxbridge)' "$work/upgrade.log" || true
version=$(in_chroot /usr/bin/voxbridge-dispatch --version)
echo "--version: $version"
[ "$version" = "voxbridge-dispatch $v2" ] || fail "--version after the upgrade said '$version'"
[ "$(md5sum < "$run/etc/voxbridge-dispatch.env")" = "$env_before" ] || fail "the upgrade changed the edited environment file"
grep -qx 'VOXBRIDGE_PROBE_TIMEOUT_MS=750' "$run/etc/voxbridge-dispatch.env" || fail "the edit is gone"
[ "$(stat -c %a "$run/etc/voxbridge-dispatch.env")" = 600 ] || fail "the environment file is not 0600 after the upgrade"
echo "environment file: unchanged by the upgrade (the edit and both tokens kept, mode 600)"
db_after=$(in_chroot /bin/sh -c "$AS_SERVICE" sh /usr/bin/voxbridge-dispatch fleet list)
[ "$db_after" = "$db_before" ] && [ "$db_after" = "$sim_url" ] || fail "the fleet list was '$db_before', is '$db_after'"
echo "fleet list after the upgrade: $db_after"
serve second
check_serving
echo "serve after the upgrade: start $start_ms ms, RSS $rss_kib KiB"
stop_pid "$serve_pid"

# The chroot has no systemd: verify on this machine, with the binary's path pointing into the
# chroot; any message (an unknown key is only a warning there) fails the test.
step "systemd-analyze verify"
units_dir=$work/units
rm -rf "$units_dir" && mkdir -p "$units_dir"
for unit in "$run"/lib/systemd/system/voxbridge*.service; do
  sed "s#/usr/bin/voxbridge-dispatch#$run/usr/bin/voxbridge-dispatch#g" "$unit" > "$units_dir/$(basename "$unit")"
  messages=$(timeout 60 systemd-analyze verify --man=no "$units_dir/$(basename "$unit")" 2>&1) \
    && [ -z "$messages" ] || fail "systemd-analyze verify $(basename "$unit"): $messages"
  echo "/lib/systemd/system/$(basename "$unit"): verified, no message"
done
[ -f "$run/usr/share/man/man1/voxbridge-dispatch.1.gz" ] || fail "the man page the unit names is missing"

step "apt-get remove"
in_chroot env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get remove -y -q voxbridge-dispatch < /dev/null > "$work/remove.log" 2>&1 \
  || { tail -20 "$work/remove.log"; fail "remove"; }
[ ! -e "$run/usr/bin/voxbridge-dispatch" ] || fail "the binary is still there"
[ -f "$run/var/lib/voxbridge-dispatch/voxbridge.sqlite" ] || fail "remove deleted the database"
[ "$(md5sum < "$run/etc/voxbridge-dispatch.env")" = "$env_before" ] || fail "remove changed the environment file"
echo "$(in_chroot dpkg-query -W -f '${Package} ${Status}\n' voxbridge-dispatch); kept: $(cd "$run" && ls var/lib/voxbridge-dispatch/voxbridge.sqlite etc/voxbridge-dispatch.env | tr '\n' ' ')"

step "apt-get purge"
in_chroot env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -q voxbridge-dispatch < /dev/null > "$work/purge.log" 2>&1 \
  || { tail -20 "$work/purge.log"; fail "purge"; }
[ ! -e "$run/var/lib/voxbridge-dispatch" ] || fail "purge left /var/lib/voxbridge-dispatch"
! ls "$run"/etc/voxbridge*.env >/dev/null 2>&1 || fail "purge left $(ls "$run"/etc/voxbridge*.env)"
in_chroot dpkg-query -W voxbridge-dispatch >/dev/null 2>&1 && fail "dpkg still knows the package"
echo "purged: /var/lib/voxbridge-dispatch and the environment files are gone"

stop_pid "$sim_pid"
step "package-test passed: $v1 installed, served, picked, upgraded to $v2, removed, purged"

#!/usr/bin/env bash
# Runs a command with a private PostgreSQL 15 server: installs Debian's `postgresql` when missing
# (as root), creates a cluster in a temporary folder owned by the `postgres` user, starts it on a
# free loopback port, runs the command with VOXBRIDGE_TEST_POSTGRES pointing at it, and stops the
# server and removes the folder whatever happens.
#
#   scripts/with-postgres.sh swift test
set -euo pipefail

PG_BIN="${VOXBRIDGE_TEST_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"

if [ ! -x "$PG_BIN/pg_ctl" ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "error: PostgreSQL 15 is missing ($PG_BIN/pg_ctl): run 'sudo apt-get install postgresql'" >&2
    exit 1
  fi
  echo "installing: postgresql"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi

# PostgreSQL refuses to run as root: as root, run it as `postgres`; otherwise as the caller.
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir="$(mktemp -d /tmp/voxbridge-pg.XXXXXX)"
chmod 0755 "$dir"
[ "$(id -u)" = "0" ] && chown postgres:postgres "$dir"
cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U voxbridge >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
# Enough connections for the parallel tests (each store holds two). This throwaway server never
# crashes during the run (the crash tests kill `serve`, not PostgreSQL, and the outage tests stop
# a private server cleanly), so it skips fsync: each test's CREATE DATABASE stays quick.
as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
echo "PostgreSQL on 127.0.0.1:$port (data in $dir)"

export VOXBRIDGE_TEST_POSTGRES="postgres://voxbridge@127.0.0.1:$port/postgres"
export VOXBRIDGE_TEST_POSTGRES_BIN="$PG_BIN"
status=0
"$@" || status=$?
exit $status

#!/usr/bin/env bash
# Prints the version of the commit checked out, as packages and `--version` name it:
#   VERSION                        at a commit tagged v<VERSION> (a release)
#   VERSION+git<N>.<commit>        anywhere else, N = commits since VERSION last changed
# N only grows along the branch, so dpkg sees every later build as an upgrade; the next release
# raises VERSION, which sorts above every +git build of the one before (0.9.0+git99.x < 0.9.1).
#
#   scripts/version.sh           the whole version
#   scripts/version.sh --build   the part after "+" (empty for a release)
set -euo pipefail
cd "$(dirname "$0")/.."

release=$(tr -d ' \t\r\n' < VERSION)
if ! printf '%s' "$release" | grep -Eq '^[0-9]+(\.[0-9]+){1,3}$'; then
  echo "error: VERSION holds '$release', not a release number such as 0.9.0" >&2
  exit 1
fi
if git rev-parse --is-shallow-repository 2>/dev/null | grep -q true; then
  echo "error: a shallow clone cannot count its commits; fetch the history (git fetch --unshallow)" >&2
  exit 1
fi
commit=$(git rev-parse --short=7 HEAD)
since=$(git log -1 --format=%H -- VERSION)
if [ -n "$since" ]; then
  count=$(git rev-list --count "$since..HEAD")
else
  count=$(git rev-list --count HEAD)  # VERSION not committed yet
fi
if git tag --points-at HEAD | grep -qx "v$release"; then
  build=""
else
  build="git$count.$commit"
fi
if [ "${1:-}" = "--build" ]; then
  printf '%s\n' "$build"
else
  printf '%s\n' "$release${build:++$build}"
fi

#!/usr/bin/env bash
# Builds dist/voxbridge-dispatch_<version>_amd64.deb from the commit checked out (see
# scripts/version.sh for the version):
#   - exports the commit into $PACKAGE_BUILD/src (only files that changed are touched, so the
#     next build is incremental) with the build part of the version written into it;
#   - builds the release binary there with --static-swift-stdlib (Swift runtime and Foundation
#     linked in) and strips it;
#   - Depends from dpkg-shlibdeps, the units deploy/*.service, the environment files
#     deploy/*.env as conffiles, maintainer scripts, man page (help2man from every command's --help), copyright;
#   - runs lintian, failing on any error or warning not explained in deploy/debian/lintian-overrides.
# Uncommitted changes are not packaged (the version names a commit); a warning says so.
#
#   scripts/package-deb.sh [--build-part TEXT]   TEXT replaces the build part (package-test's second build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stage=${PACKAGE_BUILD:-$root/.build-package}
dist=$root/dist
swift=${SWIFT:-swift}

build_part=$(scripts/version.sh --build)
if [ "${1:-}" = "--build-part" ]; then
  [ -n "${2:-}" ] || { echo "error: --build-part needs a value" >&2; exit 1; }
  build_part=$2
fi
release=$(tr -d ' \t\r\n' < VERSION)
version=$release${build_part:++$build_part}
if ! git diff --quiet HEAD -- 2>/dev/null; then
  echo "warning: uncommitted changes are not in the package; it is built from $(git rev-parse --short=7 HEAD)" >&2
fi
echo "== voxbridge-dispatch $version"

# The commit's files, copied over the previous export only where their content differs.
mkdir -p "$stage/src"
export_dir=$(mktemp -d "$stage/export.XXXXXX")
trap 'rm -rf "$export_dir"' EXIT
git archive --format=tar HEAD | tar -x -C "$export_dir"
printf '%s\n' "$build_part" > "$export_dir/Sources/VoxBridgeDispatch/Version/build"
rsync -rlc --delete --exclude /.build --exclude /Package.resolved "$export_dir/" "$stage/src/"

started=$(date +%s)
# No $ORIGIN run path: nothing is installed beside the binary (and lintian rejects it). Bind
# every symbol at start, so the relocations can be read-only (full RELRO, as Debian hardens).
(cd "$stage/src" && "$swift" build -c release --static-swift-stdlib --disable-local-rpath \
  -Xlinker -z -Xlinker now --product voxbridge-dispatch)
built="$stage/src/.build/release/voxbridge-dispatch"
echo "== release build: $(( $(date +%s) - started )) s"
if ldd "$built" | grep -i swift; then
  echo "error: the binary still needs the Swift libraries above" >&2
  exit 1
fi

pkg="$stage/root"
src="$stage/src"  # the commit's files: the package holds only what the version names
rm -rf "$pkg"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc" \
  "$pkg/usr/share/doc/voxbridge-dispatch" "$pkg/usr/share/man/man1" "$pkg/usr/share/lintian/overrides"
strip --strip-unneeded --remove-section=.comment -o "$pkg/usr/bin/voxbridge-dispatch" "$built"
chmod 0755 "$pkg/usr/bin/voxbridge-dispatch"
bin="$pkg/usr/bin/voxbridge-dispatch"
[ "$("$bin" --version)" = "voxbridge-dispatch $version" ] || { echo "error: the binary says '$("$bin" --version)', not $version" >&2; exit 1; }

# Every unit in deploy/, run from /usr/bin (the files in deploy/ name /usr/local/bin, where a
# build from source goes).
units=""
for unit in "$src"/deploy/*.service; do
  sed -E 's#^(Exec[A-Za-z]*=[-@:+!]*)/usr/local/bin/#\1/usr/bin/#' "$unit" > "$pkg/lib/systemd/system/$(basename "$unit")"
  chmod 0644 "$pkg/lib/systemd/system/$(basename "$unit")"
  units="$units $(basename "$unit")"
done
units=${units# }

# Every environment file in deploy/ (the units' EnvironmentFile=), as a conffile readable by root only.
env_files=""
: > "$pkg/DEBIAN/conffiles"
for env in "$src"/deploy/*.env; do
  install -m 0600 "$env" "$pkg/etc/$(basename "$env")"
  echo "/etc/$(basename "$env")" >> "$pkg/DEBIAN/conffiles"
  env_files="$env_files /etc/$(basename "$env")"
done
env_files=${env_files# }
for script in postinst prerm postrm; do
  sed -e "s/@UNIT@/voxbridge-dispatch.service/g" -e "s/@UNITS@/$units/g" -e "s#@ENV_FILES@#$env_files#g" \
    "$src/deploy/debian/$script" > "$pkg/DEBIAN/$script"
  chmod 0755 "$pkg/DEBIAN/$script"
done
install -m 0644 "$src/deploy/debian/lintian-overrides" "$pkg/usr/share/lintian/overrides/voxbridge-dispatch"

# copyright: ours, then the licence of each Swift package the build resolved (Apache 2.0 ones by
# reference to common-licenses, others in full).
{
  cat "$src/deploy/debian/copyright"
  for checkout in "$stage"/src/.build/checkouts/*/; do
    name=$(basename "$checkout")
    license=$(ls "$checkout" | grep -iE '^(license|licence|copying)(\.(txt|md))?$' | head -1 || true)
    echo
    if [ -z "$license" ]; then
      echo "$name: no licence file in its sources."
    elif grep -q 'Apache License' "$checkout/$license" && grep -q 'Version 2.0' "$checkout/$license"; then
      echo "$name: Apache License 2.0, see /usr/share/common-licenses/Apache-2.0."
    else
      echo "$name:"
      sed -e 's/^[[:space:]]*$/ ./' -e 's/^/ /' "$checkout/$license"
    fi
  done
} > "$pkg/usr/share/doc/voxbridge-dispatch/copyright"
chmod 0644 "$pkg/usr/share/doc/voxbridge-dispatch/copyright"

# changelog (a native package's): this build and the commit it was made from.
{
  echo "voxbridge-dispatch ($version) unstable; urgency=medium"
  echo
  echo "  * Built from commit $(git rev-parse --short=7 HEAD): $(git log -1 --format=%s HEAD | cut -c1-45)"
  echo
  echo " -- $(sed -n 's/^Maintainer: //p' "$src/deploy/debian/control")  $(git log -1 --format=%aD HEAD)"
} | gzip -9n > "$pkg/usr/share/doc/voxbridge-dispatch/changelog.gz"
chmod 0644 "$pkg/usr/share/doc/voxbridge-dispatch/changelog.gz"

# The man page: help2man over --help and --version, with every subcommand's --help after it.
h2m="$stage/voxbridge-dispatch.h2m"
help_section() {
  local text
  text=$("$bin" "$@" --help)
  printf '.SS "voxbridge-dispatch %s"\n.nf\n' "$*"
  printf '%s\n' "$text" | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
  printf '.fi\n'
  for sub in $(printf '%s\n' "$text" | awk '/^SUBCOMMANDS:/ {on=1; next} /^[^ ]/ {on=0} on && /^  [a-z]/ {print $1}'); do
    [ "$sub" = help ] || help_section "$@" "$sub"
  done
}
{
  echo "[COMMANDS]"
  for sub in $("$bin" --help | awk '/^SUBCOMMANDS:/ {on=1; next} /^[^ ]/ {on=0} on && /^  [a-z]/ {print $1}'); do
    [ "$sub" = help ] || help_section "$sub"
  done
  cat <<'H2M'
[FILES]
.TP
.I /etc/voxbridge-dispatch.env
The service's environment (mode 0600): every serve option as VOXBRIDGE_<OPTION>, and the tokens,
which the package generates on the first install.
.TP
.I /etc/voxbridge-ingress-sync.env
The ingress sync's options (VOXBRIDGE_INGRESS_OPTIONS) for voxbridge-ingress-sync.service.
.TP
.I /var/lib/voxbridge-dispatch/voxbridge.sqlite
The fleet list, its operator states and history (kept on remove, deleted on purge).
.TP
.I /lib/systemd/system/voxbridge-dispatch.service
The unit: systemctl enable --now voxbridge-dispatch.
H2M
} > "$h2m"
help2man --no-info --section=1 --name="picks the VoxCore fleet server for each outbound call" \
  --include="$h2m" "$bin" | gzip -9n > "$pkg/usr/share/man/man1/voxbridge-dispatch.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/voxbridge-dispatch.1.gz"

# Depends: the shared libraries the binary still uses, as dpkg-shlibdeps reads them.
shlib_dir=$(mktemp -d "$stage/shlibdeps.XXXXXX")
mkdir "$shlib_dir/debian"
printf 'Source: voxbridge-dispatch\n\nPackage: voxbridge-dispatch\nArchitecture: amd64\n' > "$shlib_dir/debian/control"
depends=$(cd "$shlib_dir" && dpkg-shlibdeps -O "$bin" | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlib_dir"
[ -n "$depends" ] || { echo "error: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$depends, adduser"  # postinst creates the user with it
installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s/@DEPENDS@/$depends/" \
  "$src/deploy/debian/control" > "$pkg/DEBIAN/control"
(cd "$pkg" && find usr lib -type f -exec md5sum {} + | sort -k2) > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles" "$pkg/DEBIAN/md5sums"

mkdir -p "$dist"
deb="$dist/voxbridge-dispatch_${version}_amd64.deb"
dpkg-deb --root-owner-group --build "$pkg" "$deb"
echo "== Depends: $depends"
echo "== $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB; binary $(du -k "$bin" | cut -f1) KiB installed, $(du -k "$built" | cut -f1) KiB before strip"
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning --display-info "$deb"
  echo "== lintian: no unexplained error or warning"
fi

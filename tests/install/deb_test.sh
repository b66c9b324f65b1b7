#!/usr/bin/env bash
# The Debian package, built and taken apart without installing it: cpack on
# this build directory (cmake/Package.cmake, the same settings `make package`
# uses on the Release build) into a temporary directory; its control fields,
# file list, conffiles and maintainer scripts checked with dpkg-deb; the
# maintainer scripts run against stub commands to see what they would do to
# a machine; the package extracted into a throwaway root and its binary run
# from elsewhere with the packaged config; lintian, when installed, must
# report no error. Installing it for real is tests/install/package_install_test.sh
# (make test-package-install), which changes the machine.
#   usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[[ -n $version ]] || fail "no project version in $build/CMakeCache.txt"
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/out") > "$work/cpack.log" 2>&1 ||
  fail "cpack failed: $(cat "$work/cpack.log")"
deb=$work/out/parley_${version}_amd64.deb
[[ -f $deb ]] || fail "cpack did not write parley_${version}_amd64.deb: $(ls "$work/out")"

# ---- control fields
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == parley ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version: $(field Version), not $version"
[[ $(field Architecture) == amd64 ]] || fail "Architecture: $(field Architecture)"
[[ $(field Section) == net ]] || fail "Section: $(field Section)"
[[ $(field Maintainer) == *"<"*"@"*">" ]] || fail "Maintainer: $(field Maintainer)"
[[ -n $(field Homepage) ]] || fail "no Homepage"
[[ $(field Description) == *$'\n'* ]] || fail "Description has no extended part: $(field Description)"
depends=$(field Depends)
deps=$(tr ',' '\n' <<< "$depends" | sed 's/^ *//; s/ .*//; s/|.*//')
grep -q -- '-dev$' <<< "$deps" && fail "Depends names a -dev package: $depends"
required=(adduser libc6 libsqlite3-0 libsodium23 libsystemd0 liblz4-1 zlib1g libstdc++6)
readelf -d "$build/server/parley" | grep -q 'NEEDED.*libssl\.so\.3' && required+=(libssl3)
for d in "${required[@]}"; do
  grep -qx "$d" <<< "$deps" || fail "Depends lacks $d: $depends"
done

# ---- files
dpkg-deb -c "$deb" | awk '{print $1, $6}' > "$work/files"
has() { grep -q -E "^$1 \./$2\$" "$work/files" || fail "the package has no $2 ($1)"; }
has '-rwxr-xr-x' usr/bin/parley
has '-rw-r--r--' usr/share/parley/web/index.html
has '-rw-r--r--' 'usr/share/parley/wasm/[^/]*\.wasm'
has '-rw-r--r--' usr/share/parley/wasm/parley.js
has '-rw-r--r--' lib/systemd/system/parley.service
has '-rw-r--r--' lib/systemd/system/parley-backup.service
has '-rw-r--r--' lib/systemd/system/parley-backup.timer
has '-rw-r--r--' etc/parley/parley.conf
has '-rw-r--r--' usr/share/man/man1/parley.1.gz
has '-rw-r--r--' usr/share/doc/parley/copyright
has '-rw-r--r--' usr/share/doc/parley/changelog.gz
grep -q ' \./usr/local/' "$work/files" && fail "the package has files under /usr/local"

# ---- control archive: conffiles and maintainer scripts
dpkg-deb -e "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/parley/parley.conf ]] ||
  fail "conffiles: $(cat "$work/control/conffiles")"
for s in postinst prerm postrm; do
  [[ -x $work/control/$s ]] || fail "no executable $s"
  sh -n "$work/control/$s" || fail "$s does not parse"
done
[[ $(stat -c %a "$work/control/md5sums") == 644 ]] || fail "no md5sums"

# The scripts against stubs: every external command they call is a stub that
# logs its arguments (an unexpected command fails, as PATH holds nothing
# else). STUB_EXISTING lists the getent databases in which parley exists.
stubs=$work/stubs
mkdir -p "$stubs"
for c in adduser deluser delgroup userdel groupdel mkdir chown chmod rm dpkg-statoverride \
         deb-systemd-helper deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >> "$STUB_LOG"\n%s\n' "$c" \
    "$([[ $c == dpkg-statoverride ]] && echo 'exit 1' || echo 'exit 0')" > "$stubs/$c"
done
printf '#!/bin/sh\necho "getent $*" >> "$STUB_LOG"\ncase " $STUB_EXISTING " in *" $1 "*) exit 0;; esac\nexit 2\n' > "$stubs/getent"
chmod +x "$stubs"/*
run_script() {  # run_script LOG EXISTING SCRIPT ARGS...
  local log=$1 existing=$2 script=$3
  shift 3
  : > "$log"
  STUB_LOG=$log STUB_EXISTING=$existing PATH=$stubs /bin/sh "$work/control/$script" "$@" 2> "$log.err" ||
    fail "$script $* failed: $(cat "$log" "$log.err")"
}
expect() { grep -qxF -- "$2" "$1" || fail "expected \"$2\" among: $(cat "$1")"; }
refuse() { grep -qE -- "$2" "$1" && fail "did not expect /$2/ among: $(cat "$1")"; return 0; }

run_script "$work/fresh" "" postinst configure
expect "$work/fresh" "adduser --quiet --system --group --home /var/lib/parley --no-create-home --gecos Parley chat server parley"
expect "$work/fresh" "mkdir -p /var/lib/parley"
expect "$work/fresh" "chown parley:parley /var/lib/parley"
expect "$work/fresh" "chmod 0750 /var/lib/parley"
expect "$work/fresh" "deb-systemd-helper enable parley.service"
refuse "$work/fresh" '(start|restart)'

run_script "$work/again" "passwd group" postinst configure "$version"
refuse "$work/again" '^adduser'
expect "$work/again" "deb-systemd-helper enable parley.service"
refuse "$work/again" ' start'

run_script "$work/lone-group" "group" postinst configure
expect "$work/lone-group" "adduser --quiet --system --ingroup parley --home /var/lib/parley --no-create-home --gecos Parley chat server parley"

run_script "$work/purge" "passwd group" postrm purge
expect "$work/purge" "deluser --quiet --system parley"
expect "$work/purge" "delgroup --quiet --system parley"
expect "$work/purge" "deb-systemd-helper purge parley.service"
refuse "$work/purge" '^(rm|chown|chmod) '

run_script "$work/remove" "passwd group" postrm remove
refuse "$work/remove" '^(deluser|delgroup|userdel|groupdel|rm) '
run_script "$work/prerm" "passwd group" prerm upgrade "$version"
refuse "$work/prerm" 'stop'

# ---- the extracted tree, run from an unrelated directory
dpkg-deb -x "$deb" "$work/root"
grep -qx "ExecStart=/usr/bin/parley --config /etc/parley/parley.conf" "$work/root/lib/systemd/system/parley.service" ||
  fail "the unit's ExecStart: $(grep ExecStart "$work/root/lib/systemd/system/parley.service")"
grep -qx "User=parley" "$work/root/lib/systemd/system/parley.service" || fail "the unit does not run as parley"
grep -qx "data-dir = /var/lib/parley" "$work/root/etc/parley/parley.conf" || fail "the config's data-dir is not /var/lib/parley"
zcat "$work/root/usr/share/man/man1/parley.1.gz" | grep -q '^\.TH PARLEY 1' || fail "the man page has no .TH header"
printed=$("$work/root/usr/bin/parley" --config "$work/root/etc/parley/parley.conf" --print-config)
grep -qE "^data-dir = /var/lib/parley    # .*/etc/parley/parley\.conf:[0-9]+$" <<< "$printed" ||
  fail "the packaged config does not set data-dir: $printed"

mkdir -p "$work/elsewhere" && cd "$work/elsewhere"
source "$here/../support/start_parley.sh"
start_parley "$work/root/usr/bin/parley" --config "$work/root/etc/parley/parley.conf"
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$data" "$work"' EXIT
page=$(curl -fsS "http://127.0.0.1:$port/") || fail "GET / failed"
grep -q "<title>" <<< "$page" || fail "GET / is not the client: $page"
curl -fsS -o "$work/module.wasm" "http://127.0.0.1:$port/wasm/parley_protocol.wasm" || fail "GET /wasm/parley_protocol.wasm failed"
[[ $(head -c 4 "$work/module.wasm" | od -An -tx1 | tr -d ' \n') == 0061736d ]] || fail "/wasm/parley_protocol.wasm is not wasm"
[[ -f $data/parley.db ]] || fail "the flag's data directory was not used"
stop_parley || fail "the packaged server did not stop cleanly"

# ---- lintian
if command -v lintian > /dev/null; then
  # (lintian warns that it runs as root, which make test does here; not a tag.)
  lintian --fail-on error --info "$deb" 2>&1 | grep -v '^running with root privileges' > "$work/lintian.log" &&
    status=0 || status=${PIPESTATUS[0]}
  cat "$work/lintian.log"
  [[ $status -eq 0 ]] || fail "lintian reports errors (status $status)"
  echo "deb_test: lintian: $(grep -c '^[EWIP]:' "$work/lintian.log" || true) tag(s)"
else
  echo "deb_test: lintian is not installed; skipped"
fi
echo "deb_test: parley_${version}_amd64.deb: fields, files, conffiles and scripts checked; the extracted server served / and /wasm/"

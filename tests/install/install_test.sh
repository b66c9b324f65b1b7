#!/usr/bin/env bash
# An installed Parley, run from somewhere else: `cmake --install` of the
# build into a DESTDIR, every file where an operator (and systemd) expects
# it, then the installed binary started from an unrelated working directory
# with the installed config file. It must find its client and wasm module
# by itself and serve them.
#   usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(mktemp -d)
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$root"; }
trap cleanup EXIT
fail() { echo "install_test: $*" >&2; [[ -f $root/server.log ]] && cat "$root/server.log" >&2; exit 1; }

DESTDIR=$root/dest cmake --install "$build" > "$root/install.log" || fail "cmake --install failed: $(cat "$root/install.log")"
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
sysconf=$(cache CMAKE_INSTALL_SYSCONFDIR)
[[ $sysconf == /* ]] || { [[ $prefix == /usr ]] && sysconf=/$sysconf || sysconf=$prefix/$sysconf; }
p=$root/dest$prefix
unit_dir=$p/lib/systemd/system
[[ $prefix == /usr ]] && unit_dir=$root/dest/lib/systemd/system

for f in "$p/bin/parley" "$p/share/parley/web/index.html" "$p/share/parley/web/js/chat.js" \
         "$p/share/parley/wasm/parley_protocol.wasm" "$p/share/parley/wasm/parley.js" \
         "$p/share/man/man1/parley.1.gz" "$unit_dir/parley.service" "$unit_dir/parley-backup.service" "$unit_dir/parley-backup.timer" "$root/dest$sysconf/parley/parley.conf"; do
  [[ -f $f ]] || fail "missing $f"
done
[[ -x $p/bin/parley ]] || fail "bin/parley is not executable"
grep -qx "ExecStart=$prefix/bin/parley --config $sysconf/parley/parley.conf" "$unit_dir/parley.service" ||
  fail "the unit does not start this install's binary: $(grep ExecStart "$unit_dir/parley.service")"
grep -q "exec $prefix/bin/parley backup --config $sysconf/parley/parley.conf " "$unit_dir/parley-backup.service" ||
  fail "the backup unit does not run this install's binary: $(grep ExecStart= "$unit_dir/parley-backup.service")"
zcat "$p/share/man/man1/parley.1.gz" | grep -q "^\.TH PARLEY 1" || fail "the man page has no .TH header"

# A prefix given at install time moves the config and the unit with it.
DESTDIR=$root/opt cmake --install "$build" --prefix /opt/parley-elsewhere > "$root/install-opt.log" ||
  fail "cmake --install --prefix failed: $(cat "$root/install-opt.log")"
opt_unit=$root/opt/opt/parley-elsewhere/lib/systemd/system/parley.service
opt_conf=/opt/parley-elsewhere/etc/parley/parley.conf
[[ $(cache CMAKE_INSTALL_SYSCONFDIR) == /* ]] && opt_conf=$(cache CMAKE_INSTALL_SYSCONFDIR)/parley/parley.conf
[[ -f $root/opt$opt_conf ]] || fail "--prefix /opt/parley-elsewhere: no $opt_conf"
grep -qx "ExecStart=/opt/parley-elsewhere/bin/parley --config $opt_conf" "$opt_unit" ||
  fail "--prefix /opt/parley-elsewhere: the unit says $(grep ExecStart "$opt_unit" 2>&1)"

# From an unrelated directory that has a web/ of its own: the installed tree wins.
mkdir -p "$root/elsewhere/web" && echo "not parley" > "$root/elsewhere/web/index.html"
cd "$root/elsewhere"
conf=$root/dest$sysconf/parley/parley.conf
printed=$("$p/bin/parley" --config "$conf" --data-dir "$root/data" --print-config)
grep -q "^data-dir = $root/data    # flag --data-dir$" <<< "$printed" || fail "print-config: $printed"
grep -q "^# config file: $conf$" <<< "$printed" || fail "print-config does not name the file: $printed"

"$p/bin/parley" --config "$conf" --data-dir "$root/data" --listen 127.0.0.1:0 --password-cost min \
  2> "$root/server.log" &
pid=$!
port=""
for _ in $(seq 1 100); do
  # the text log's "listening scheme=http host=127.0.0.1 port=PORT ..."
  port=$(sed -n 's|.* listening .*host=127.0.0.1 port=\([0-9]*\).*|\1|p' "$root/server.log" | head -1)
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || fail "the installed server exited"
  sleep 0.1
done
[[ -n $port ]] || fail "the installed server did not start listening"
page=$(curl -fsS "http://127.0.0.1:$port/") || fail "GET / failed"
grep -q "<title>" <<< "$page" || fail "GET / is not the client: $page"
grep -q "not parley" <<< "$page" && fail "GET / served the working directory's web/"
curl -fsS -o "$root/module.wasm" "http://127.0.0.1:$port/wasm/parley_protocol.wasm" || fail "GET /wasm/parley_protocol.wasm failed"
magic=$(head -c 4 "$root/module.wasm" | od -An -tx1 | tr -d ' \n')
[[ $magic == 0061736d ]] || fail "GET /wasm/parley_protocol.wasm is not a wasm module ($magic)"
curl -fsS -o /dev/null "http://127.0.0.1:$port/wasm/parley.js" || fail "GET /wasm/parley.js failed"
[[ -f $root/data/parley.db ]] || fail "no database in the data directory"
kill "$pid"
wait "$pid" || fail "the installed server did not stop cleanly"
pid=""
echo "install_test: installed under $prefix (DESTDIR), served the client and the wasm module from another directory"

#!/usr/bin/env bash
# The Debian package installed for real, then purged: what its maintainer
# scripts do to a machine. Needs root and a machine where no parley package,
# user or /var/lib/parley exist yet; it changes the machine, so it is not
# part of make test (make test-package-install runs it).
#
#   after dpkg -i     the parley system user and group exist, /var/lib/parley
#                     is 0750 parley:parley, the unit is enabled (the
#                     multi-user.target.wants symlink when systemd is not
#                     running) but not started, the config is a conffile
#   after dpkg --purge  the user and group are gone, the unit's enable state
#                     is gone, /var/lib/parley and its contents are kept
#
# It removes what the package kept (/var/lib/parley) at the end, so the
# machine is as it was before.
#   usage: package_install_test.sh PATH/TO/parley_<version>_amd64.deb
set -euo pipefail
deb=$(realpath "$1")
fail() { echo "package_install_test: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "run as root (it installs a package)"
dpkg-query -W -f='${Status}' parley 2>/dev/null | grep -q "installed" && fail "a parley package is already installed"
getent passwd parley >/dev/null && fail "a parley user already exists"
[[ -e /var/lib/parley ]] && fail "/var/lib/parley already exists"
wants=/etc/systemd/system/multi-user.target.wants/parley.service
systemd_running=false
[[ -d /run/systemd/system ]] && systemd_running=true
cleanup() {
  dpkg --purge parley >/dev/null 2>&1 || true
  rm -rf /var/lib/parley
}
trap cleanup EXIT

# apt-get resolves the Depends (adduser and the runtime libraries) like an operator's apt install.
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" > /tmp/parley-package-install.log 2>&1 ||
  fail "apt-get install failed: $(cat /tmp/parley-package-install.log)"

# ---- installed
[[ $(dpkg-query -W -f='${Status}' parley) == "install ok installed" ]] || fail "parley is not installed"
getent passwd parley > /dev/null || fail "no parley user"
getent group parley > /dev/null || fail "no parley group"
user=$(getent passwd parley)
[[ $(cut -d: -f6 <<< "$user") == /var/lib/parley ]] || fail "the parley user's home: $user"
[[ $(id -u parley) -lt 1000 ]] || fail "parley is not a system user: $(id parley)"
[[ $(stat -c '%a %U %G' /var/lib/parley) == "750 parley parley" ]] ||
  fail "/var/lib/parley is $(stat -c '%a %U %G' /var/lib/parley)"
dpkg-query --showformat='${Conffiles}\n' --show parley | grep -q "/etc/parley/parley.conf" ||
  fail "/etc/parley/parley.conf is not a conffile"
[[ -x /usr/bin/parley && -f /lib/systemd/system/parley.service ]] || fail "the binary or the unit is missing"
if $systemd_running; then
  systemctl is-enabled --quiet parley || fail "the unit is not enabled"
  systemctl is-active --quiet parley && fail "the unit was started"
else
  [[ $(readlink "$wants") == /lib/systemd/system/parley.service ]] || fail "no enable symlink $wants"
  pgrep -u parley > /dev/null && fail "the parley user runs a process: $(pgrep -a -u parley)"
fi

# The installed server, as its unit would run it (the parley user, the
# packaged config and data directory), on a free port for a moment.
setpriv --reuid=parley --regid=parley --init-groups /usr/bin/parley --config /etc/parley/parley.conf --listen 127.0.0.1:0 \
  --password-cost min 2> /tmp/parley-package-server.log &
pid=$!
port=""
for _ in $(seq 1 100); do
  # "listening on http://127.0.0.1:PORT" or, in key=value form, "listening scheme=http host=127.0.0.1 port=PORT"
  port=$(sed -En 's/.*listening (on http:\/\/127\.0\.0\.1:|scheme=http host=127\.0\.0\.1 port=)([0-9]+).*/\2/p' \
    /tmp/parley-package-server.log | head -1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { kill "$pid" 2>/dev/null; fail "the installed server did not start: $(cat /tmp/parley-package-server.log)"; }
page=$(curl -fsS "http://127.0.0.1:$port/") || { kill "$pid"; fail "GET / failed"; }
grep -q "<title>" <<< "$page" || { kill "$pid"; fail "GET / is not the client: $page"; }
kill "$pid"; wait "$pid" || fail "the installed server did not stop cleanly"
[[ -f /var/lib/parley/parley.db ]] || fail "the server did not write /var/lib/parley/parley.db"

# ---- a reinstall configures again: harmless (the scripts are idempotent)
DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$deb" >> /tmp/parley-package-install.log 2>&1 ||
  fail "reinstalling failed: $(tail -20 /tmp/parley-package-install.log)"
[[ $(stat -c '%a %U %G' /var/lib/parley) == "750 parley parley" ]] || fail "a reinstall changed /var/lib/parley"

# ---- purged
dpkg --purge parley > /tmp/parley-package-purge.log 2>&1 || fail "dpkg --purge failed: $(cat /tmp/parley-package-purge.log)"
grep -q "/var/lib/parley" /tmp/parley-package-purge.log || fail "the purge did not say it kept /var/lib/parley"
getent passwd parley > /dev/null && fail "the parley user is still there"
getent group parley > /dev/null && fail "the parley group is still there"
[[ -e $wants || -L $wants ]] && fail "the enable symlink is still there"
[[ -e /etc/parley/parley.conf ]] && fail "the purge left /etc/parley/parley.conf"
[[ -f /var/lib/parley/parley.db ]] || fail "the purge removed the data in /var/lib/parley"
echo "package_install_test: installed, checked and purged $(basename "$deb"); /var/lib/parley was kept by the purge (and removed by this test)"

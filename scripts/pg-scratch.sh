#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, benchmarks and development.
#
# Everything lives in one directory DIR: the cluster (DIR/data), its log
# (DIR/postgres.log), its unix socket (DIR/.s.PGSQL.PORT; /var/run/postgresql
# is never touched), its port (DIR/port) and its URL (DIR/url). Listens on
# 127.0.0.1 only, with trust authentication for the superuser `postgres`, and
# has a database `parley`. Remove DIR (after `stop`) to throw it all away.
#
# Usage:
#   pg-scratch.sh start DIR [PORT]  initdb DIR/data if it is not there yet, start the
#                                   server (on PORT, else on the port it had before,
#                                   else on a free one), create database parley, and
#                                   print its URL, postgresql://postgres@127.0.0.1:PORT/parley,
#                                   as the only line on stdout (also in DIR/url)
#   pg-scratch.sh stop DIR          pg_ctl -m fast stop, then kill if that fails;
#                                   succeeds when it is not running
#   pg-scratch.sh kill DIR          kill -9 the postmaster and its children (a crash,
#                                   for fault tests; the next start recovers)
#   pg-scratch.sh restart DIR       stop, then start on the same port and data
#   pg-scratch.sh status DIR        exit 0 when it is running, 1 when not
#   pg-scratch.sh url DIR           print the URL
#   pg-scratch.sh psql DIR [ARGS]   run psql ARGS against database parley
#
# Environment:
#   PG_SCRATCH_FAST=1     fsync, synchronous_commit and full_page_writes off:
#                         faster, but a crash of the machine may corrupt the
#                         cluster and `kill` may lose the last commits
#                         (synchronous_commit=off), so fault tests that count
#                         commits must not set it. Default: all three on.
#   PG_SCRATCH_TIMEOUT=N  seconds to wait for the server to start or stop (30)
#   PG_BINDIR=DIR         where initdb, pg_ctl and postgres are; default: the
#                         newest /usr/lib/postgresql/*/bin, else $PATH
#
# PostgreSQL refuses to run as root. Run as root, this script creates (once)
# the system user parley-test, gives DIR to it and runs initdb and postgres as
# it (runuser). That user must be able to reach DIR: create DIR under a
# directory everyone can traverse, e.g. d=$(mktemp -d); chmod 755 "$d";
# pg-scratch.sh start "$d/pg". (mktemp -d makes 0700 directories.) Run as
# anyone else, it runs everything as that user.
#
# Exit status: 0 done, 1 failed (the reason, and the log's tail, on stderr),
# 2 bad usage.
set -euo pipefail

readonly TEST_USER=parley-test
readonly TIMEOUT=${PG_SCRATCH_TIMEOUT:-30}
prog=$(basename "$0")

die() { echo "$prog: $*" >&2; exit 1; }
usage() {
  sed -n '/^# Usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- the PostgreSQL binaries -------------------------------------------------
find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    [[ -x "$PG_BINDIR/postgres" ]] || die "PG_BINDIR=$PG_BINDIR has no postgres"
    echo "$PG_BINDIR"
    return
  fi
  local d best=""
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
    [[ -x "$d/initdb" && -x "$d/postgres" ]] && best=$d   # the newest is kept
  done
  if [[ -n "$best" ]]; then echo "$best"; return; fi
  local initdb
  initdb=$(command -v initdb 2>/dev/null) ||
    die "PostgreSQL server binaries not found (install postgresql-15, or set PG_BINDIR)"
  dirname "$(readlink -f "$initdb")"
}

# pg_tool NAME: the path of a PostgreSQL program, from the server's bin
# directory if it has it (Debian's postgresql-client puts psql there too),
# else from $PATH.
pg_tool() {
  if [[ -x "$BINDIR/$1" ]]; then echo "$BINDIR/$1"; return; fi
  command -v "$1" 2>/dev/null || die "$1 not found (install postgresql-client-15)"
}

# --- running as the cluster's owner ------------------------------------------
is_root() { [[ $(id -u) -eq 0 ]]; }

ensure_test_user() {
  id -u "$TEST_USER" >/dev/null 2>&1 && return
  # Another start may create it at the same moment: then useradd fails and
  # the user exists.
  useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER" 2>/dev/null ||
    id -u "$TEST_USER" >/dev/null 2>&1 || die "cannot create the system user $TEST_USER"
}

# as_owner CMD...: run CMD as the user who owns the cluster (from /, which
# that user can always enter).
as_owner() {
  if is_root; then
    (cd / && runuser -u "$TEST_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# Root only: DIR must be reachable by parley-test. Names the first directory
# on the way that is not.
check_reachable() {
  local d=$1 path=""
  local part
  IFS=/ read -r -a parts <<<"${d#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    [[ -d "$path" ]] || break
    if ! runuser -u "$TEST_USER" -- test -x "$path"; then
      die "$path is not traversable by $TEST_USER (mode $(stat -c %a "$path")); create DIR under a 0755 parent, e.g. d=\$(mktemp -d); chmod 755 \"\$d\"; $prog start \"\$d/pg\""
    fi
  done
}

# --- state in DIR --------------------------------------------------------------
# alive PID: the process exists and is not a zombie (a killed process whose
# parent has not reaped it yet is as good as gone).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

# zombie PID: the process has exited but its parent (the postmaster's is
# init) has not reaped it yet. postgres takes such a pid for a live one.
zombie() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" == Z ]]
}

# postmaster_pid: the running postmaster's pid, or nothing (exit 1).
postmaster_pid() {
  local pidfile="$DATA/postmaster.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  echo "$pid"
}

log_tail() {
  if [[ -f "$LOG" ]]; then
    echo "--- last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    echo "---" >&2
  fi
}

# free_port: a port nobody listens on: the kernel's pick by python3, else a
# random one that ss does not list.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
    return
  fi
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
  die "no free port found"
}

url_for() { echo "postgresql://postgres@127.0.0.1:$1/parley"; }

# wait_gone PID...: wait (bounded) until none of the processes exist.
wait_gone() {
  local deadline=$((SECONDS + TIMEOUT)) p alive
  while :; do
    alive=0
    for p in "$@"; do alive "$p" && alive=1; done
    [[ $alive -eq 0 ]] && return 0
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.1
  done
}

# --- commands -------------------------------------------------------------------
init_cluster() {
  [[ -f "$DATA/PG_VERSION" ]] && return
  local initlog="$DIR/initdb.log"
  if ! as_owner "$BINDIR/initdb" -D "$DATA" -A trust -U postgres --no-sync -E UTF8 --locale=C \
      >"$initlog" 2>&1; then
    cat "$initlog" >&2
    die "initdb into $DATA failed"
  fi
  # The settings of this script, rewritten at every start (see write_conf).
  echo "include_if_exists = 'pg-scratch.conf'" >>"$DATA/postgresql.conf"
}

write_conf() {
  local port=$1 conf="$DATA/pg-scratch.conf"
  {
    echo "# Written by pg-scratch.sh at every start; edits are lost."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '${DIR//\'/\'\'}'"
    echo "max_connections = 200"
    echo "logging_collector = off"
    if [[ "${PG_SCRATCH_FAST:-0}" == 1 ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$conf"
  is_root && chown "$TEST_USER" "$conf"
  return 0
}

# try_start PORT: start the postmaster on PORT and wait until it accepts
# connections. Exit status 0 ready, 1 failed, 3 the port was taken.
try_start() {
  local port=$1 before out isready
  isready=$(pg_tool pg_isready)
  write_conf "$port"
  # A killed server leaves its lock files (the pid file, the socket's lock);
  # postgres removes them itself when their pid is gone, but refuses them
  # while it is a zombie init has not reaped yet (seconds, on some machines).
  local lock pid
  for lock in "$DATA/postmaster.pid" "$DIR"/.s.PGSQL.*.lock; do
    [[ -f "$lock" ]] || continue
    pid=$(head -n 1 "$lock" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && zombie "$pid"; then rm -f "$lock"; fi
  done
  before=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
  if ! out=$(as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$TIMEOUT" start 2>&1); then
    if tail -c +"$((before + 1))" "$LOG" 2>/dev/null | grep -q "could not bind\|Address already in use"; then
      return 3
    fi
    echo "$out" >&2
    return 1
  fi
  # pg_ctl -w saw the postmaster ready; confirm over TCP as clients will come.
  local deadline=$((SECONDS + TIMEOUT))
  until "$isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; do
    if [[ $SECONDS -ge $deadline ]] || ! postmaster_pid >/dev/null; then
      return 1
    fi
    sleep 0.1
  done
}

cmd_start() {
  local port=${1:-}
  if [[ -n "$port" && ! "$port" =~ ^[0-9]+$ ]]; then
    echo "$prog: PORT must be a number, not '$port'" >&2
    exit 2
  fi
  if postmaster_pid >/dev/null; then
    die "already running in $DIR ($(cat "$DIR/url" 2>/dev/null || echo "no url")); use restart or stop"
  fi
  # A unix socket's path is limited to 107 bytes.
  [[ ${#DIR} -le 90 ]] || die "DIR is too long for a unix socket path (${#DIR} > 90 characters): $DIR"

  mkdir -p "$DIR"
  if is_root; then
    ensure_test_user
    chown "$TEST_USER" "$DIR"
    [[ -d "$DATA" ]] && chown -R "$TEST_USER" "$DATA"
    check_reachable "$DIR"
  fi
  touch "$LOG"
  is_root && chown "$TEST_USER" "$LOG"
  init_cluster

  # The port: the one asked for, else the one it had, else a free one (which
  # someone may take before the postmaster binds it: then another).
  local chosen=0
  if [[ -z "$port" && -f "$DIR/port" ]]; then port=$(cat "$DIR/port"); fi
  if [[ -z "$port" ]]; then port=$(free_port); chosen=1; fi
  local attempt rc
  for attempt in 1 2 3 4 5; do
    rc=0
    try_start "$port" || rc=$?
    [[ $rc -eq 0 ]] && break
    if [[ $rc -eq 3 && $chosen -eq 1 && $attempt -lt 5 ]]; then
      port=$(free_port)
      continue
    fi
    log_tail
    if [[ $rc -eq 3 ]]; then die "port $port on 127.0.0.1 is taken"; fi
    # Do not leave a half-started server behind.
    local pid
    if pid=$(postmaster_pid); then kill -9 "$pid" 2>/dev/null || true; fi
    die "the server in $DATA did not start within ${TIMEOUT}s"
  done
  echo "$port" >"$DIR/port"

  local psql exists
  psql=$(pg_tool psql)
  exists=$("$psql" -X -q -t -A -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'parley'") ||
    { log_tail; die "cannot query the server on port $port"; }
  if [[ "$exists" != 1 ]]; then
    "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE parley" >/dev/null || { log_tail; die "CREATE DATABASE parley failed"; }
  fi
  url_for "$port" >"$DIR/url"
  url_for "$port"
}

cmd_stop() {
  local pid children
  if ! pid=$(postmaster_pid); then
    echo "$prog: not running in $DIR" >&2
    return 0
  fi
  if as_owner "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null 2>&1; then
    return 0
  fi
  echo "$prog: pg_ctl stop failed; killing $pid" >&2
  children=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  # shellcheck disable=SC2086  # one pid a word
  wait_gone "$pid" $children && return 0
  # shellcheck disable=SC2086
  kill -9 "$pid" $children 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_gone "$pid" $children || die "cannot stop the postmaster $pid"
}

cmd_kill() {
  local pid children
  pid=$(postmaster_pid) || die "not running in $DIR"
  # The postmaster and its children together, as a crash of the machine would:
  # children outliving their postmaster keep the shared memory, and the next
  # start would refuse it until they notice and exit.
  children=$(pgrep -P "$pid" || true)
  # shellcheck disable=SC2086
  kill -9 "$pid" $children 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_gone "$pid" $children || die "processes of $pid outlived kill -9"
}

cmd_restart() {
  [[ -f "$DATA/PG_VERSION" ]] || die "no cluster in $DATA (use start)"
  cmd_stop
  cmd_start "$(cat "$DIR/port" 2>/dev/null || true)"
}

cmd_url() {
  [[ -f "$DIR/url" ]] || die "no server was started in $DIR"
  cat "$DIR/url"
}

cmd_psql() {
  local url
  url=$(cmd_url)
  postmaster_pid >/dev/null || die "not running in $DIR"
  exec "$(pg_tool psql)" -d "$url" "$@"
}

# --- main ---------------------------------------------------------------------
[[ $# -ge 2 ]] || usage
cmd=$1
DIR=$(realpath -m -- "$2")
shift 2
DATA="$DIR/data"
LOG="$DIR/postgres.log"
BINDIR=$(find_bindir)
readonly DIR DATA LOG BINDIR

case "$cmd" in
  start)   [[ $# -le 1 ]] || usage; cmd_start "${1:-}" ;;
  stop)    [[ $# -eq 0 ]] || usage; cmd_stop ;;
  kill)    [[ $# -eq 0 ]] || usage; cmd_kill ;;
  restart) [[ $# -eq 0 ]] || usage; cmd_restart ;;
  status)  [[ $# -eq 0 ]] || usage; postmaster_pid >/dev/null ;;
  url)     [[ $# -eq 0 ]] || usage; cmd_url ;;
  psql)    cmd_psql "$@" ;;
  *)       usage ;;
esac

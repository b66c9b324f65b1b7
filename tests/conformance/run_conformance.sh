#!/usr/bin/env bash
# Starts a fresh parley on a free port with a temporary data directory, runs
# parley-conformance against it, then stops it with SIGTERM and checks that
# it exits cleanly. Used by CTest (label `server`).
#   run_conformance.sh PARLEY_BINARY CONFORMANCE_BINARY [--tls|--postgres|--cluster]
# With --tls the server serves a self-signed certificate made here, and the
# runner speaks wss:// (and HTTPS) trusting only that certificate. With
# --postgres the server stores everything in a scratch PostgreSQL server
# (scripts/pg-scratch.sh) started here and stopped afterwards. With
# --cluster it is also a cluster node (--cluster, --node-id) over a
# redis-server started here on a free loopback port, without persistence.
set -euo pipefail
here=$(dirname "$0")
source "$here/../support/start_parley.sh"
tls=()
store=()
if [[ ${3:-} == --postgres || ${3:-} == --cluster ]]; then
  pgroot=$(mktemp -d)
  chmod 755 "$pgroot"  # the server runs as an unprivileged user when we are root
  at_exit='"$here/../../scripts/pg-scratch.sh" stop "$pgroot/pg" >/dev/null || true; rm -rf "$pgroot"'
  trap 'eval "$at_exit"' EXIT
  url=$(PG_SCRATCH_FAST=1 "$here/../../scripts/pg-scratch.sh" start "$pgroot/pg")
  store=(--store "postgres:$url")
fi
if [[ ${3:-} == --cluster ]]; then
  redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$pgroot" --save '' --appendonly no --daemonize no \
    >"$pgroot/redis.log" 2>&1 &
  redis_pid=$!
  disown "$redis_pid"  # its kill -9 at exit is expected, not a job to report
  at_exit="kill -9 $redis_pid 2>/dev/null || true; $at_exit"
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  store+=(--cluster "redis://127.0.0.1:$redis_port" --node-id conformance)
fi
if [[ ${3:-} == --tls ]]; then
  certs=$(mktemp -d)
  make_test_cert "$certs"
  tls=(--tls-cert "$certs/server.crt" --tls-key "$certs/server.key")
fi
start_parley "$1" --message-rate 1000/1000 --auth-rate 100/100 "${tls[@]}" "${store[@]}"
status=0
if [[ ${#tls[@]} -gt 0 ]]; then
  "$2" "wss://127.0.0.1:$port" --ca "$certs/server.crt" || status=$?
  rm -rf "$certs"
else
  "$2" "ws://127.0.0.1:$port" || status=$?
fi
stop_parley
exit $status

#!/usr/bin/env bash
# Starts a fresh parley on a free port with a temporary data directory, runs
# parley-conformance against it, then stops it with SIGTERM and checks that
# it exits cleanly. Used by CTest (label `server`).
#   run_conformance.sh PARLEY_BINARY CONFORMANCE_BINARY
set -euo pipefail
parley=$1
runner=$2
data=$(mktemp -d)
log=$data/server.log
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$data"' EXIT

"$parley" --listen 127.0.0.1:0 --data-dir "$data" --password-cost min --message-rate 1000/1000 \
  --auth-rate 100/100 2>"$log" &
pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || { echo "parley did not start:"; cat "$log"; exit 1; }

status=0
"$runner" "ws://127.0.0.1:$port" || status=$?
kill -TERM "$pid"
wait "$pid" || { echo "parley exited with $? after SIGTERM"; cat "$log"; exit 1; }
exit $status

#!/usr/bin/env bash
# A few seconds of load against a fresh parley: passes when nothing was lost,
# duplicated or disconnected (no timing assertions). Run by CTest.
#   bench/smoke.sh PARLEY LOADGEN
set -euo pipefail
data=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$data"' EXIT
"$1" --listen 127.0.0.1:0 --data-dir "$data" --password-cost min --message-rate 100000/100000 \
  --auth-rate 100000/100000 --batch-delay-ms 200 2>"$data/server.log" &
pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/server.log" | head -1)
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || { cat "$data/server.log"; exit 1; }
"$2" --url "ws://127.0.0.1:$port" --clients 60 --rooms 3 --senders 6 --window 4 --duration 3 --warmup 1 \
  --server-pid "$pid" --label smoke
"$2" --url "ws://127.0.0.1:$port" --clients 60 --rooms 2 --senders 4 --rate 200 --duration 2 --warmup 1 \
  --server-pid "$pid" --label smoke-rate --user-prefix rate
kill -TERM "$pid"
wait "$pid"

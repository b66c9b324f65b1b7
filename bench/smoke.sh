#!/usr/bin/env bash
# A few seconds of load against a fresh parley: passes when nothing was lost,
# duplicated or disconnected (no timing assertions). Run by CTest.
#   bench/smoke.sh PARLEY LOADGEN
set -euo pipefail
source "$(dirname "$0")/../tests/support/start_parley.sh"
start_parley "$1" --message-rate 100000/100000 --auth-rate 100000/100000 --batch-delay-ms 200 --max-connections-per-address 0
"$2" --url "ws://127.0.0.1:$port" --clients 60 --rooms 3 --senders 6 --window 4 --duration 3 --warmup 1 \
  --server-pid "$pid" --label smoke
"$2" --url "ws://127.0.0.1:$port" --clients 60 --rooms 2 --senders 4 --rate 200 --duration 2 --warmup 1 \
  --server-pid "$pid" --label smoke-rate --user-prefix rate
stop_parley

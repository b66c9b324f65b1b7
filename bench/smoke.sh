#!/usr/bin/env bash
# A few seconds of load against a fresh parley: passes when nothing was lost,
# duplicated or disconnected (no timing assertions). Run by CTest.
#   bench/smoke.sh PARLEY LOADGEN
set -euo pipefail
source "$(dirname "$0")/../tests/support/start_parley.sh"
# At saturation the senders are paced by their acks, not by how fast the
# receivers read, so a generator starved of CPU by the tests running beside
# it (a browser, the soak) falls behind for a moment, and a server with the
# default queue bounds rightly disconnects it as a slow consumer (that policy
# has its own tests: chat_test, hostile_test). Here the bounds are wide, so
# that this run checks delivery alone: nothing lost, nothing twice.
start_parley "$1" --message-rate 100000/100000 --auth-rate 100000/100000 --batch-delay-ms 200 --max-connections-per-address 0 \
  --queue-packets 10000000 --queue-bytes 1073741824
# A failed run shows what the server said about it (disconnects are logged).
server_said() { echo "smoke: the server's log:" >&2; grep -vE " (debug|info) +(parley|listening|registration|purged)" "$data/server.log" | tail -40 >&2; exit 1; }
"$2" --url "ws://127.0.0.1:$port" --clients 60 --rooms 3 --senders 6 --window 4 --duration 3 --warmup 1 \
  --server-pid "$pid" --label smoke || server_said
"$2" --url "ws://127.0.0.1:$port" --clients 60 --rooms 2 --senders 4 --rate 200 --duration 2 --warmup 1 \
  --server-pid "$pid" --label smoke-rate --user-prefix rate || server_said
stop_parley

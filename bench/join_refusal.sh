#!/usr/bin/env bash
# Starts a parley of BUILD_DIR on a free loopback port with an empty data
# directory, times refused joins against it (bench/join_refusal.cpp), stops it.
#   bench/join_refusal.sh BUILD_DIR [ROUNDS]
set -euo pipefail
build=$1
rounds=${2:-5000}
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/server/parley" --listen "127.0.0.1:$port" --data-dir "$data" --password-cost min --log-level warn &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$build/bench/parley-join-refusal" "$port" "$rounds"

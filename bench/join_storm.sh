#!/usr/bin/env bash
# Connect storms into one room (make bench-storm; docs/benchmarks.md): N
# people sign in, then connect and join the same room at once, the
# generator keeping its share of handshakes in flight. Each size runs twice
# on one database: "first" (nobody is a member yet: every join is also a
# membership event that everyone in the room receives) and, after a
# restart, "again" (everyone is a member: the reconnect storm after a
# deploy). Reports the time until the last client had room_joined and the
# server's CPU for the whole storm, settling included (the presence the
# room tells after it), per connection: flat across sizes means linear.
#
#   bench/join_storm.sh BUILD_DIR [SIZES...]        (default 1000 2500 5000 10000)
#   BASE_BUILD=DIR bench/join_storm.sh BUILD_DIR    also runs DIR's parley and
#                                                   loadgen, interleaved
set -euo pipefail
build=$1
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 2500 5000 10000)
builds=("$build")
[ -n "${BASE_BUILD:-}" ] && builds+=("$BASE_BUILD")
ulimit -n "$(ulimit -Hn)"

run_one() {  # BUILD DATA LABEL N: one storm; prints "seconds cpu_ms_per_connection"
  local b=$1 data=$2 label=$3 n=$4 port pid out
  for _ in 1 2 3 4 5; do  # a free port below the ephemeral range
    port=$((10000 + RANDOM % 20000))
    "$b/server/parley" --listen "127.0.0.1:$port" --data-dir "$data" --password-cost min \
      --message-rate 1000000/1000000 --auth-rate 1000000/1000000 --max-connections-per-address 0 \
      --threads "${PARLEY_THREADS:-1}" --log-level warn 2>>"$data/server.log" &
    pid=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && break
  done
  out=$("$b/bench/parley-loadgen" --url "ws://127.0.0.1:$port" --clients "$n" --rooms 1 --idle \
          --server-pid "$pid" --threads "${LOADGEN_THREADS:-$(nproc)}" --label "$label" --user-prefix storm 2>>"$data/loadgen.log")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # (a build before the generator reported server CPU in storms prints "-")
  node -e 'const r = JSON.parse(process.argv[1]); console.log(r.connect_seconds.toFixed(2), r.server_cpu_ms_per_connection?.toFixed(3) ?? "-")' "$out"
}

printf '%-40s %7s %12s %14s %12s %14s\n' build people "first: s" "first: ms/conn" "again: s" "again: ms/conn"
for n in "${sizes[@]}"; do
  for b in "${builds[@]}"; do
    data=$(mktemp -d)
    read -r first_s first_cpu < <(run_one "$b" "$data" first "$n")
    read -r again_s again_cpu < <(run_one "$b" "$data" again "$n")
    printf '%-40s %7s %12s %14s %12s %14s\n' "$b" "$n" "$first_s" "$first_cpu" "$again_s" "$again_cpu"
    rm -rf "$data"
  done
done

#!/usr/bin/env bash
# Connect storms into one room (make bench-storm; docs/benchmarks.md): N
# people sign in, then connect and join the same room at once, the
# generator keeping its share of handshakes in flight. Two kinds:
#   first  nobody is a member yet: every join is also a membership event
#          that everyone already in the room receives (n events to up to n
#          members: quadratic by what it promises); sizes up to
#          STORM_FIRST_MAX (default 2000)
#   again  everyone is already a member (the reconnect storm after a
#          deploy), on a database seeded by parley-many-rooms members
# Reports the time until the last client had room_joined and the server's
# CPU for the whole storm, settling included (the presence the room tells
# after it), per connection: flat across sizes means linear.
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

seed=$build/bench/parley-many-rooms  # the schema is the same for both builds
printf '%-32s %7s %9s %14s %9s %14s\n' build people "first: s" "first: ms/conn" "again: s" "again: ms/conn"
for n in "${sizes[@]}"; do
  for b in "${builds[@]}"; do
    first_s=- first_cpu=-
    if [ "$n" -le "${STORM_FIRST_MAX:-2000}" ]; then
      data=$(mktemp -d)
      read -r first_s first_cpu < <(run_one "$b" "$data" first "$n")
      rm -rf "$data"
    fi
    data=$(mktemp -d)
    "$seed" members "$data" "$n" storm >/dev/null 2>&1
    read -r again_s again_cpu < <(run_one "$b" "$data" again "$n")
    rm -rf "$data"
    printf '%-32s %7s %9s %14s %9s %14s\n' "$b" "$n" "$first_s" "$first_cpu" "$again_s" "$again_cpu"
  done
done

#!/usr/bin/env bash
# The benchmark matrix behind `make bench`: Parley and the servers a chat
# developer would pick instead, interleaved in the same run, each scenario
# REPS times, every server started fresh. Raw results go to RESULTS/runs.jsonl;
# medians and same-run ratios to RESULTS/summary.md (bench/summarize.mjs).
#
#   bench/run_matrix.sh BUILD_DIR RESULTS_DIR [REPS]
#
# Servers, in the order each scenario runs them:
#   ws        Node.js `ws` relay (bench/baselines/ws_relay.js), loadgen --raw
#   beast     plain Boost.Beast relay (BUILD_DIR/bench/beast-relay), --raw
#   socketio  Socket.IO 4.8 relay (bench/baselines/socketio_relay.js), --socketio
#   go1, go2  Go hub on gorilla/websocket (BUILD_DIR/bench/go-hub, make bench
#             builds it) with GOMAXPROCS=1 and 2, --length-prefixed; the clients
#             it dropped for a full send queue are recorded as "dropped"
#   parley    BUILD_DIR/server/parley, persistence on, --threads PARLEY_THREADS
#   parley2   the same on two event loops (--threads 2): against go2 on all cores
#   base      PARLEY_BASE_BUILD's parley (see below)
# Scenarios: busy-100, busy-1000, rate-50k, idle-5000 and storm-2000 against
# every server; many-rooms and history against Parley only.
#
# Environment:
#   LOADGEN_THREADS    the generator's --threads (default: the number of cores,
#                      2 on the build machine), the same for every server. With
#                      as many threads as cores no generator thread can be the
#                      bottleneck; on 2 cores they cost some 10-20% more
#                      generator CPU than one thread would, next to the server
#                      (the summary reports it, and the busiest thread's share)
#   PARLEY_THREADS     Parley's --threads (default 1)
#   BENCH_SCENARIOS    space-separated scenarios to run (default: all), e.g.
#                      BENCH_SCENARIOS="busy-1000 rate-50k"
#   BENCH_SERVERS      space-separated servers to run (default: all), e.g.
#                      BENCH_SERVERS="go1 parley"
#   PARLEY_BASE_BUILD  another build directory (a release build of an earlier
#                      commit, say): its parley runs as server "base" beside
#                      Parley in every scenario, so a change is compared with
#                      what came before in one run. It is driven by that
#                      build's own generator when it has one (an earlier
#                      commit may speak an earlier protocol version).
set -euo pipefail
build=$1
results=$2
reps=${3:-3}
base=${PARLEY_BASE_BUILD:-}
loadgen_threads=${LOADGEN_THREADS:-$(nproc)}
parleys=(parley parley2)
[[ -n $base ]] && parleys+=(base)
servers=(ws beast socketio go1 go2 "${parleys[@]}")
[[ -z ${BENCH_SERVERS:-} ]] || read -r -a servers <<< "$BENCH_SERVERS"
here=$(cd "$(dirname "$0")" && pwd)
loadgen=$build/bench/parley-loadgen
mkdir -p "$results"
runs=$results/runs.jsonl
: > "$runs"
ulimit -n "$(ulimit -Hn)"

server_pid=""
server_port=""
server_log=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; [[ -z $server_log ]] || rm -f "$server_log"' EXIT

wait_port() {  # wait until something listens on $1 (or the server died)
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

start_server() {  # start_server NAME: on a free port below the ephemeral range
  for _ in 1 2 3 4 5; do
    launch_server "$1" && return 0
    stop_server
  done
  echo "$1 did not start" >&2
  return 1
}

# Each server's stderr goes to $server_log for the run, then to RESULTS/NAME.log.
launch_server() {
  server_port=$(( 10000 + RANDOM % 20000 ))
  : > "$server_log"
  case $1 in
    parley|parley2|base)
      local data binary=$build/server/parley threads=${PARLEY_THREADS:-1}
      [[ $1 == base ]] && binary=$base/server/parley
      [[ $1 == parley2 ]] && threads=2
      data=$(mktemp -d)
      "$binary" --listen "127.0.0.1:$server_port" --data-dir "$data" --password-cost min \
        --message-rate 1000000/1000000 --auth-rate 1000000/1000000 --threads "$threads" \
        --max-connections-per-address 0 \
        --log-level warn 2>>"$server_log" &
      ;;
    ws)       node "$here/baselines/ws_relay.js" "$server_port" 2>>"$server_log" & ;;
    socketio) node "$here/baselines/socketio_relay.js" "$server_port" 2>>"$server_log" & ;;
    beast)    "$build/bench/beast-relay" "$server_port" 1 2>>"$server_log" & ;;
    go1)      GOMAXPROCS=1 "$build/bench/go-hub" "$server_port" 2>>"$server_log" & ;;
    go2)      GOMAXPROCS=2 "$build/bench/go-hub" "$server_port" 2>>"$server_log" & ;;
    *)        echo "unknown server $1" >&2; return 1 ;;
  esac
  server_pid=$!
  wait_port "$server_port"
}

wire_of() {  # the loadgen flag for what SERVER speaks
  case $1 in
    ws|beast) echo --raw ;;
    socketio) echo --socketio ;;
    go1|go2)  echo --length-prefixed ;;
  esac
}

# run SCENARIO SERVER [loadgen flags...]
run() {
  local scenario=$1 server=$2
  shift 2
  local mode=()
  [[ -n $(wire_of "$server") ]] && mode=("$(wire_of "$server")")
  server_log=$(mktemp)
  start_server "$server"
  echo "== $scenario / $server (rep $rep)" >&2
  local line dropped=null gen=$loadgen
  [[ $server == base && -x $base/bench/parley-loadgen ]] && gen=$base/bench/parley-loadgen
  if line=$("$gen" --url "ws://127.0.0.1:$server_port" "${mode[@]}" --server-pid "$server_pid" \
              --threads "$loadgen_threads" --label "$scenario" "$@" 2> >(tail -1 >&2)); then :; else
    echo "   (loadgen reported loss, duplicates or disconnects)" >&2
  fi
  stop_server
  if [[ $server == go* ]]; then
    dropped=$(sed -n 's/^go-hub: dropped \([0-9]*\) clients.*/\1/p' "$server_log" | tail -1)
    [[ -n $dropped ]] || dropped=null
    [[ $dropped == null || $dropped == 0 ]] || echo "   (go-hub dropped $dropped slow clients)" >&2
  fi
  cat "$server_log" >> "$results/$server.log"
  rm -f "$server_log"
  server_log=""
  [[ -n "$line" ]] && echo "{\"server\":\"$server\",\"rep\":$rep,\"dropped\":$dropped,\"run\":$line}" >> "$runs"
}

wanted() { [[ -z ${BENCH_SCENARIOS:-} || " $BENCH_SCENARIOS " == *" $1 "* ]]; }

# each SCENARIO [loadgen flags...]: SCENARIO against every server, if selected.
each() {
  local scenario=$1 server
  shift
  wanted "$scenario" || return 0
  for server in "${servers[@]}"; do run "$scenario" "$server" "$@"; done
}

# each_parley SCENARIO [loadgen flags...]: the same, Parley builds only.
each_parley() {
  local scenario=$1 server
  shift
  wanted "$scenario" || return 0
  for server in "${servers[@]}"; do
    [[ $server == parley* || $server == base ]] && run "$scenario" "$server" "$@"
  done
  return 0
}

echo "servers: ${servers[*]}; generator threads: $loadgen_threads; scenarios: ${BENCH_SCENARIOS:-all}" >&2
for rep in $(seq 1 "$reps"); do
  each busy-100 --clients 100 --senders 10 --window 8 --duration 5 --warmup 2
  each busy-1000 --clients 1000 --senders 10 --window 16 --duration 5 --warmup 2
  each rate-50k --clients 1000 --senders 10 --rate 50 --duration 5 --warmup 2
  each_parley many-rooms --clients 1000 --rooms 100 --senders 100 --window 4 --duration 5 --warmup 2
  each_parley history --clients 1000 --rooms 10 --senders 10 --rate 200 --history-rate 50 --duration 5 --warmup 2
  each idle-5000 --clients 5000 --rooms 50 --idle
  each storm-2000 --clients 2000 --rooms 20 --storm
done

node "$here/summarize.mjs" "$runs" > "$results/summary.md"
cat "$results/summary.md"

#!/usr/bin/env bash
# The benchmark matrix behind `make bench`: Parley and its baselines (a Node.js
# `ws` relay, a plain Beast relay) interleaved in the same run, each scenario
# REPS times, every server started fresh. Raw results go to RESULTS/runs.jsonl;
# medians and same-run ratios to RESULTS/summary.md (bench/summarize.mjs).
#
#   bench/run_matrix.sh BUILD_DIR RESULTS_DIR [REPS]
#
# PARLEY_BASE_BUILD, another build directory (a release build of an earlier
# commit, say), adds its parley binary as server "base" beside Parley in
# every scenario, so a change is compared with what came before in one run.
set -euo pipefail
build=$1
results=$2
reps=${3:-3}
base=${PARLEY_BASE_BUILD:-}
parleys=(parley)
[[ -n $base ]] && parleys+=(base)
here=$(cd "$(dirname "$0")" && pwd)
loadgen=$build/bench/parley-loadgen
mkdir -p "$results"
runs=$results/runs.jsonl
: > "$runs"
ulimit -n "$(ulimit -Hn)"

server_pid=""
server_port=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

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

launch_server() {
  server_port=$(( 10000 + RANDOM % 20000 ))
  case $1 in
    parley|base)
      local data binary=$build/server/parley
      [[ $1 == base ]] && binary=$base/server/parley
      data=$(mktemp -d)
      "$binary" --listen "127.0.0.1:$server_port" --data-dir "$data" --password-cost min \
        --message-rate 1000000/1000000 --auth-rate 1000000/1000000 --threads "${PARLEY_THREADS:-1}" \
        --max-connections-per-address 0 \
        --log-level warn 2>>"$results/$1.log" &
      ;;
    ws)    node "$here/baselines/ws_relay.js" "$server_port" 2>>"$results/ws.log" & ;;
    beast) "$build/bench/beast-relay" "$server_port" 1 2>>"$results/beast.log" & ;;
  esac
  server_pid=$!
  wait_port "$server_port"
}

# run SCENARIO SERVER [loadgen flags...]
run() {
  local scenario=$1 server=$2
  shift 2
  local mode=()
  [[ $server != parley && $server != base ]] && mode=(--raw)
  start_server "$server"
  echo "== $scenario / $server (rep $rep)" >&2
  local line
  if line=$("$loadgen" --url "ws://127.0.0.1:$server_port" "${mode[@]}" --server-pid "$server_pid" \
              --label "$scenario" "$@" 2> >(tail -1 >&2)); then :; else
    echo "   (loadgen reported loss, duplicates or disconnects)" >&2
  fi
  stop_server
  [[ -n "$line" ]] && echo "{\"server\":\"$server\",\"rep\":$rep,\"run\":$line}" >> "$runs"
}

for rep in $(seq 1 "$reps"); do
  for server in ws beast "${parleys[@]}"; do
    run busy-100 "$server" --clients 100 --senders 10 --window 8 --duration 5 --warmup 2
  done
  for server in ws beast "${parleys[@]}"; do
    run busy-1000 "$server" --clients 1000 --senders 10 --window 16 --duration 5 --warmup 2
  done
  for server in ws beast "${parleys[@]}"; do
    run rate-50k "$server" --clients 1000 --senders 10 --rate 50 --duration 5 --warmup 2
  done
  for server in "${parleys[@]}"; do
    run many-rooms "$server" --clients 1000 --rooms 100 --senders 100 --window 4 --duration 5 --warmup 2
    run history "$server" --clients 1000 --rooms 10 --senders 10 --rate 200 --history-rate 50 --duration 5 --warmup 2
  done
  for server in ws beast "${parleys[@]}"; do
    run idle-5000 "$server" --clients 5000 --rooms 50 --idle
  done
  for server in ws beast "${parleys[@]}"; do
    run storm-2000 "$server" --clients 2000 --rooms 20 --storm
  done
done

node "$here/summarize.mjs" "$runs" > "$results/summary.md"
cat "$results/summary.md"

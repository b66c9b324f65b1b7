# Sourced by test scripts: start_parley BINARY [FLAGS...] starts a parley on a
# free loopback port with a fresh data directory, and sets `pid`, `port` and
# `data` (removed, and the server killed, when the script exits).
start_parley() {
  local binary=$1
  shift
  data=$(mktemp -d)
  trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$data"' EXIT
  "$binary" --listen 127.0.0.1:0 --data-dir "$data" --password-cost min "$@" 2>"$data/server.log" &
  pid=$!
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/server.log" | head -1)
    [[ -n "$port" ]] && return 0
    sleep 0.05
  done
  echo "parley did not start:" >&2
  cat "$data/server.log" >&2
  return 1
}

# stop_parley: SIGTERM, then fail unless the server exits cleanly.
stop_parley() {
  kill -TERM "$pid"
  if ! wait "$pid"; then
    echo "parley did not exit cleanly after SIGTERM:" >&2
    cat "$data/server.log" >&2
    return 1
  fi
}

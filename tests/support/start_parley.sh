# Sourced by test scripts: start_parley BINARY [FLAGS...] starts a parley on a
# free loopback port with a fresh data directory, and sets `pid`, `port` and
# `data` (removed, and the server killed, when the script exits, before the
# caller's own `at_exit` command, if it set one).
start_parley() {
  local binary=$1
  shift
  data=$(mktemp -d)
  trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$data"; eval "${at_exit:-}"' EXIT
  "$binary" --listen 127.0.0.1:0 --data-dir "$data" --password-cost min "$@" 2>"$data/server.log" &
  pid=$!
  port=""
  for _ in $(seq 1 200); do
    # "listening on http(s)://127.0.0.1:PORT" or its structured form "listening ... port=PORT"
    port=$(grep -m1 -oE 'listening on https?://127\.0\.0\.1:[0-9]+|listening.* port=[0-9]+' "$data/server.log" | grep -oE '[0-9]+$' || true)
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

# make_test_cert DIR [NAME]: a self-signed certificate for localhost and
# 127.0.0.1 (ECDSA P-256, valid two days) as DIR/NAME.crt and DIR/NAME.key.
make_test_cert() {
  local dir=$1 name=${2:-server}
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/$name.key" -out "$dir/$name.crt" 2>/dev/null
}

#!/usr/bin/env bash
# Start-up time, idle RSS and first-join latency of a parley of BUILD_DIR
# over databases of 10, 100,000 and 1,000,000 stored rooms (most of them
# direct conversations), seeded by bench/many_rooms.cpp.
#   bench/many_rooms.sh BUILD_DIR [ROOM COUNTS...]
set -euo pipefail
build=$1
shift
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10 100000 1000000)
tool="$build/bench/parley-many-rooms"
printf '%10s %12s %10s %s\n' rooms start-up_s rss_MiB "first joins"
for n in "${counts[@]}"; do
  data=$(mktemp -d)
  "$tool" seed "$data" "$n" >/dev/null
  port=$((20000 + RANDOM % 20000))
  t0=$(date +%s.%N)
  "$build/server/parley" --listen "127.0.0.1:$port" --data-dir "$data" --password-cost min --log-level warn &
  server=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.01; done
  t1=$(date +%s.%N)
  sleep 1
  rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server/status")
  joins=$("$tool" probe "$port" "$n" 50)
  printf '%10s %12.2f %10s %s\n' "$n" "$(awk "BEGIN { print $t1 - $t0 }")" "$rss" "$joins"
  kill "$server"; wait "$server" 2>/dev/null || true
  rm -rf "$data"
done

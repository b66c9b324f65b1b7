#!/usr/bin/env bash
# make bench-store: parley-store-bench on a SQLite file and on a scratch
# PostgreSQL server (scripts/pg-scratch.sh, durable settings: fsync on),
# alternating, REPS times each, flat out and at RATE events per second, and
# flat out with one INSERT per message (--rows-per-insert 1) as the baseline.
#   store_bench.sh BUILD_DIR [REPS] [EVENTS] [RATE]
set -euo pipefail
build=$1 reps=${2:-3} events=${3:-200000} rate=${4:-20000}
bench=$build/bench/parley-store-bench
root=$(mktemp -d)
chmod 755 "$root"  # the PostgreSQL server runs as parley-test when we are root
scratch="$(dirname "$0")/../scripts/pg-scratch.sh"
trap '"$scratch" stop "$root/pg" >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
url=$("$scratch" start "$root/pg")
fresh_pg() {  # fresh_pg NAME: a new database, as a --store value
  "$scratch" psql "$root/pg" -q -c "CREATE DATABASE $1" >/dev/null
  echo "postgres:${url%/*}/$1"
}
for i in $(seq 1 "$reps"); do
  "$bench" --store "sqlite:$root/flat$i.db" --events "$events"
  "$bench" --store "$(fresh_pg "flat$i")" --events "$events"
  "$bench" --store "sqlite:$root/one$i.db" --events "$events" --rows-per-insert 1
  "$bench" --store "$(fresh_pg "one$i")" --events "$((events / 4))" --rows-per-insert 1
  "$bench" --store "sqlite:$root/rate$i.db" --rate "$rate" --seconds 10
  "$bench" --store "$(fresh_pg "rate$i")" --rate "$rate" --seconds 10
done

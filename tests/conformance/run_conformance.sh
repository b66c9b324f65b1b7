#!/usr/bin/env bash
# Starts a fresh parley on a free port with a temporary data directory, runs
# parley-conformance against it, then stops it with SIGTERM and checks that
# it exits cleanly. Used by CTest (label `server`).
#   run_conformance.sh PARLEY_BINARY CONFORMANCE_BINARY
set -euo pipefail
source "$(dirname "$0")/../support/start_parley.sh"
start_parley "$1" --message-rate 1000/1000 --auth-rate 100/100
status=0
"$2" "ws://127.0.0.1:$port" || status=$?
stop_parley
exit $status

#!/usr/bin/env bash
# Installs the Debian 12 packages Parley needs to build, test and run.
#
# Idempotent: a package is installed only when dpkg says it is missing, so a
# second run does nothing and needs no network. Nothing is downloaded from
# outside Debian's archive (and, for the browser tests, the npm registry, which
# the test scripts use themselves).
#
# Usage: scripts/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -euo pipefail

packages=(
  # toolchain
  g++ make cmake ninja-build pkg-config ccache git
  clang libclang-rt-14-dev          # libFuzzer + sanitizers for the fuzz targets
  # libraries (Boost 1.81, not the 1.74 default)
  libboost1.81-dev liblz4-dev zlib1g-dev libcereal-dev libsqlite3-dev sqlite3
  nlohmann-json3-dev libsodium-dev libsystemd-dev libssl-dev openssl
  # tests and benchmarks (Go and gorilla/websocket for the Go hub peer of make bench)
  libgtest-dev libbenchmark-dev golang-go golang-github-gorilla-websocket-dev
  # WebAssembly build: emscripten, and dpkg-dev for `apt-get source` of lz4/zlib
  emscripten dpkg-dev
  # the Debian package (cmake/Package.cmake): cpack's dpkg-shlibdeps (dpkg-dev)
  # finds the binaries with file; tests/install/deb_test.sh runs lintian
  file lintian
  # browser end-to-end tests: Debian's Chromium, driven by playwright-core
  chromium
  # used by scripts and tests (python3-yaml: tests/install/monitoring_test.py)
  curl procps python3 python3-yaml
  # cluster mode: tests start their own redis-server; haproxy fronts the nodes
  redis-server haproxy
  # PostgreSQL storage: the server links libpq; tests start their own
  # scratch server (scripts/pg-scratch.sh)
  postgresql-15 postgresql-client-15 libpq-dev
)

# Node.js and npm come from Debian unless the machine already has them (any
# version >= 18 works).
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ "${1:-}" == "--check" ]]; then
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# A bare machine may have empty package lists; refresh them once, and only when
# an install is actually needed.
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Parley — the two commands:
#   make run    install what is missing, build, start the server on http://localhost:8080
#   make test   install what is missing, build, run every test suite
#
# Other targets: build, wasm, install, package, test-package-install, test-protocol, soak, test-tsan, test-asan, fuzz, fuzz-protocol, bench,
# bench-protocol, bench-access, bench-rooms, bench-storm, bench-tls, bench-wasm, clean.
# Builds are incremental (Ninja + ccache) in build/; sanitizer, fuzz and wasm
# builds live in build-<preset>/.

PRESET        ?= dev
BUILD         := build
CTEST_JOBS    ?= 2
FUZZ_SECONDS  ?= 600
FUZZ_SMOKE_SECONDS ?= 12
SOAK_SECONDS  ?= 600
CMAKE         := cmake
SHELL         := /bin/bash

.PHONY: all deps configure build wasm run install package test-package-install test test-protocol soak test-tsan test-asan fuzz-build fuzz fuzz-protocol fuzz-smoke bench-store \
        bench bench-protocol bench-access bench-rooms bench-storm bench-tls bench-wasm clean help

all: build

help:
	@sed -n '1,8p' Makefile

deps:
	@scripts/install-deps.sh

# Configure once; afterwards CMake re-runs itself when CMakeLists change.
$(BUILD)/build.ninja:
	$(CMAKE) --preset $(PRESET)

configure: deps $(BUILD)/build.ninja

build: configure
	$(CMAKE) --build $(BUILD)

# protocol/ compiled to WebAssembly for the browser by the wasm preset in
# build-wasm/, published to build/wasm/ and served at /wasm/. Incremental; the
# first configure fetches lz4 and zlib sources from Debian's archive.
WASM := build-wasm

$(WASM)/build.ninja:
	$(CMAKE) --preset wasm

wasm: deps $(WASM)/build.ninja
	$(CMAKE) --build $(WASM)

# ARGS passes flags to the server, e.g. make run ARGS="--listen 0.0.0.0:8080".
# Builds only what running needs: the server and the wasm module.
run: configure wasm
	$(CMAKE) --build $(BUILD) --target parley
	exec $(BUILD)/server/parley $(ARGS)

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: a Release build of the
# server and the wasm module, installed by cmake --install (cmake/Install.cmake
# lists what goes where).
PREFIX ?= /usr/local
install: deps wasm
	$(CMAKE) --preset release -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	$(CMAKE) --build $(RELEASE) --target parley
	DESTDIR=$(DESTDIR) $(CMAKE) --install $(RELEASE)

# make package: the Debian package $(RELEASE)/parley_<version>_amd64.deb
# (cmake/Package.cmake), from a Release build of the server and the wasm module.
# make test-package-install: installs that package (apt-get install ./FILE.deb), checks what
# its scripts did, then purges it. It changes this machine (a user, a unit,
# /var/lib/parley, which the purge keeps), so it is not part of make test.
VERSION := $(shell sed -n 's/^project(parley VERSION \([0-9.]*\) .*)$$/\1/p' CMakeLists.txt)
DEB = $(RELEASE)/parley_$(VERSION)_amd64.deb
package: deps wasm
	$(CMAKE) --preset release
	$(CMAKE) --build $(RELEASE) --target parley
	cd $(RELEASE) && cpack
	@echo "package: $(DEB)"

test-package-install: package
	tests/install/package_install_test.sh $(DEB)

test: build wasm
	cd $(BUILD) && ctest --output-on-failure -j$(CTEST_JOBS)
	$(MAKE) --no-print-directory fuzz-smoke

test-protocol: build wasm
	cd $(BUILD) && ctest --output-on-failure -j$(CTEST_JOBS) -L protocol

# The soak test for SOAK_SECONDS (a 60 s run is part of `make test`); SOAK_SEED
# repeats a run's choices (its seed is printed first).
soak: configure
	$(CMAKE) --build $(BUILD) --target parley parley-soak
	PARLEY_BINARY_DIR=$(BUILD) $(BUILD)/tests/soak/parley-soak --seconds $(SOAK_SECONDS) $(if $(SOAK_SEED),--seed $(SOAK_SEED))

# ---- sanitizers --------------------------------------------------------------
# The server, storage and cluster suites under ThreadSanitizer (races); the
# protocol, server and storage suites under AddressSanitizer +
# UndefinedBehaviorSanitizer.
test-tsan: deps
	$(CMAKE) --preset tsan
	$(CMAKE) --build build-tsan
	cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --output-on-failure -j$(CTEST_JOBS) -L "server|storage|cluster"

test-asan: deps wasm
	$(CMAKE) --preset sanitize
	$(CMAKE) --build build-sanitize
	cd build-sanitize && ctest --output-on-failure -j$(CTEST_JOBS) -L "protocol|server|storage"

# ---- fuzzing ---------------------------------------------------------------
# libFuzzer targets (fuzz/CMakeLists.txt says what each one feeds): the
# protocol decoders, seeded with the golden vectors, and the server's HTTP
# handling and room sessions, seeded from fuzz/seeds/. Findings land in
# build-fuzz/findings/ (crash-*, leak-*): turn each into a regression seed or test.
#   make fuzz            every fuzzer for FUZZ_SECONDS (default 600) each
#   make fuzz-protocol   the protocol fuzzers only
#   make fuzz-smoke      every fuzzer for FUZZ_SMOKE_SECONDS (run by make test)
# FUZZ_ONLY="http session" narrows any of them.
FUZZ_DIR := build-fuzz

$(FUZZ_DIR)/build.ninja:
	$(CMAKE) --preset fuzz

PROTOCOL_FUZZERS := decode payload stateful
FUZZERS  := $(PROTOCOL_FUZZERS) http session
FUZZ_ONLY ?= $(FUZZERS)

fuzz-build: deps build $(FUZZ_DIR)/build.ninja
	$(CMAKE) --build $(FUZZ_DIR) --target $(addprefix fuzz_,$(FUZZ_ONLY))
	@rm -rf $(FUZZ_DIR)/seeds && $(BUILD)/tests/vectors/parley-make-vectors --corpus $(FUZZ_DIR)/seeds
	@cp -r fuzz/seeds/. $(FUZZ_DIR)/seeds/
	@mkdir -p $(FUZZ_DIR)/findings $(addprefix $(FUZZ_DIR)/corpus/,$(FUZZ_ONLY))

# Each fuzzer runs FUZZ_SECONDS on one core; a finding stops the run with a
# non-zero status. fuzz/<name>.dict, when it exists, is the fuzzer's
# dictionary; fuzz/<name>.options holds extra libFuzzer flags.
fuzz: fuzz-build
	@for f in $(FUZZ_ONLY); do \
	  echo "== fuzz_$$f for $(FUZZ_SECONDS)s"; \
	  extra=$$(cat fuzz/$$f.options 2>/dev/null); test -f fuzz/$$f.dict && extra="$$extra -dict=fuzz/$$f.dict"; \
	  $(FUZZ_DIR)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 $$extra \
	    -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_DIR)/findings/ -print_final_stats=1 \
	    $(FUZZ_DIR)/corpus/$$f $(FUZZ_DIR)/seeds/$$f 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|stat::|==|SUMMARY|ERROR|fuzz_)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

fuzz-protocol:
	$(MAKE) --no-print-directory fuzz FUZZ_ONLY="$(PROTOCOL_FUZZERS)"

# Five fuzzers at 12 s: about a minute of CI, on top of the build.
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

# ---- benchmarks ------------------------------------------------------------
RELEASE := build-release

$(RELEASE)/build.ninja:
	$(CMAKE) --preset release

# The load-generator matrix against the baselines and peers (see docs/benchmarks.md).
# BENCH_REPS repetitions (default 3); results in build-release/bench-results/.
# BENCH_SCENARIOS, BENCH_SERVERS and LOADGEN_THREADS narrow or tune it
# (bench/run_matrix.sh says how).
BENCH_REPS ?= 3
BENCH_ROUNDS ?= 5000

# BASE_BUILD, the build directory of another release build (an earlier commit),
# runs its parley beside this one in every scenario: the same-run comparison.
bench: deps $(RELEASE)/build.ninja bench/baselines/node_modules
	$(CMAKE) --build $(RELEASE) --target parley parley-loadgen beast-relay
	$(MAKE) --no-print-directory $(GO_HUB)
	PARLEY_BASE_BUILD=$(BASE_BUILD) bench/run_matrix.sh $(RELEASE) $(RELEASE)/bench-results $(BENCH_REPS)

# The Go hub peer, built offline in GOPATH mode from Debian's
# golang-github-gorilla-websocket-dev (no module proxy, nothing downloaded);
# rebuilt when its source changes.
GO_HUB := $(RELEASE)/bench/go-hub

$(GO_HUB): bench/baselines/go_hub/main.go
	@mkdir -p $(@D)
	GO111MODULE=off GOPROXY=off GOPATH=/usr/share/gocode GOCACHE=$(abspath $(RELEASE))/go-cache \
	  go build -o $@ ./bench/baselines/go_hub

bench/baselines/node_modules: bench/baselines/package-lock.json
	cd bench/baselines && npm ci --no-audit --no-fund
	@touch $@

bench-protocol: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target protocol_bench
	$(RELEASE)/bench/protocol_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
	  --benchmark_min_time=0.2 $(BENCH_ARGS)

# Refused joins timed: an address of no room against a private room's (see docs/benchmarks.md).
bench-access: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target parley parley-join-refusal
	bench/join_refusal.sh $(RELEASE) $(BENCH_ROUNDS)

# Start-up, idle RSS and first joins over 10, 100,000 and 1,000,000 stored rooms (docs/benchmarks.md).
bench-rooms: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target parley parley-many-rooms
	bench/many_rooms.sh $(RELEASE) $(BENCH_ROOM_COUNTS)

# Connect storms of 1,000 to 10,000 people into one room, first joins and reconnects
# (docs/benchmarks.md); BENCH_STORM_SIZES to choose, BASE_BUILD to compare.
bench-storm: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target parley parley-loadgen parley-many-rooms
	bench/join_storm.sh $(RELEASE) $(BENCH_STORM_SIZES)

# What TLS adds to an idle connection's memory, against the same binary without it.
BENCH_TLS_CONNECTIONS ?= 2000
bench-tls: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target parley
	bench/tls_idle.py $(RELEASE)/server/parley $(BENCH_TLS_CONNECTIONS)

# The batch writer on SQLite and PostgreSQL: flat out, and lag at BENCH_STORE_RATE events/s.
BENCH_STORE_RATE ?= 20000
bench-store: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target parley-store-bench
	bench/store_bench.sh $(RELEASE) $(BENCH_REPS) 200000 $(BENCH_STORE_RATE)

# The wasm codec beside JSON.stringify/JSON.parse in node (see docs/benchmarks.md).
bench-wasm: wasm
	node bench/wasm_bench.mjs $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(FUZZ_DIR) $(RELEASE) $(WASM) build-sanitize build-tsan

# Parley — the two commands:
#   make run    install what is missing, build, start the server on http://localhost:8080
#   make test   install what is missing, build, run every test suite
#
# Other targets: build, wasm, test-protocol, test-tsan, test-asan, fuzz-protocol, bench,
# bench-protocol, bench-wasm, clean.
# Builds are incremental (Ninja + ccache) in build/; sanitizer and fuzz builds
# live in build-<preset>/.

PRESET        ?= dev
BUILD         := build
CTEST_JOBS    ?= 2
FUZZ_SECONDS  ?= 600
FUZZ_SMOKE_SECONDS ?= 15
CMAKE         := cmake
SHELL         := /bin/bash

.PHONY: all deps configure build wasm run test test-protocol test-tsan test-asan fuzz-build fuzz-protocol fuzz-smoke \
        bench bench-protocol bench-wasm clean help

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

# protocol/ compiled to WebAssembly for the browser: build/wasm/, served at
# /wasm/. Incremental; the first run fetches lz4 and zlib sources from Debian.
wasm: deps
	wasm/build.sh

# ARGS passes flags to the server, e.g. make run ARGS="--listen 0.0.0.0:8080".
run: build wasm
	exec $(BUILD)/server/parley $(ARGS)

test: build wasm
	cd $(BUILD) && ctest --output-on-failure -j$(CTEST_JOBS)
	$(MAKE) --no-print-directory fuzz-smoke

test-protocol: build wasm
	cd $(BUILD) && ctest --output-on-failure -j$(CTEST_JOBS) -L protocol

# ---- sanitizers --------------------------------------------------------------
# The server and storage suites under ThreadSanitizer (races) and under
# AddressSanitizer + UndefinedBehaviorSanitizer.
test-tsan: deps
	$(CMAKE) --preset tsan
	$(CMAKE) --build build-tsan
	cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --output-on-failure -j$(CTEST_JOBS) -L "server|storage"

test-asan: deps wasm
	$(CMAKE) --preset sanitize
	$(CMAKE) --build build-sanitize
	cd build-sanitize && ctest --output-on-failure -j$(CTEST_JOBS) -L "protocol|server|storage"

# ---- fuzzing ---------------------------------------------------------------
# The decoder fuzzer, seeded with the golden vectors. Findings land in
# build-fuzz/findings/ (crash-*, leak-*): turn each into a regression test.
FUZZ_DIR := build-fuzz

$(FUZZ_DIR)/build.ninja:
	$(CMAKE) --preset fuzz

FUZZERS  := decode payload stateful

fuzz-build: deps build $(FUZZ_DIR)/build.ninja
	$(CMAKE) --build $(FUZZ_DIR) --target $(addprefix fuzz_,$(FUZZERS))
	@rm -rf $(FUZZ_DIR)/seeds && $(BUILD)/tests/vectors/parley-make-vectors --corpus $(FUZZ_DIR)/seeds
	@mkdir -p $(FUZZ_DIR)/findings $(addprefix $(FUZZ_DIR)/corpus/,$(FUZZERS))

# Each fuzzer runs FUZZ_SECONDS; a finding stops the run with a non-zero status.
fuzz-protocol: fuzz-build
	@for f in $(FUZZERS); do \
	  echo "== fuzz_$$f for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_DIR)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_DIR)/findings/ -print_final_stats=1 \
	    $(FUZZ_DIR)/corpus/$$f $(FUZZ_DIR)/seeds/$$f 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|stat::|==|SUMMARY|ERROR)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

fuzz-smoke:
	$(MAKE) --no-print-directory fuzz-protocol FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

# ---- benchmarks ------------------------------------------------------------
RELEASE := build-release

$(RELEASE)/build.ninja:
	$(CMAKE) --preset release

# The load-generator matrix against the baselines (see docs/benchmarks.md).
# BENCH_REPS repetitions (default 3); results in build-release/bench-results/.
BENCH_REPS ?= 3

bench: deps $(RELEASE)/build.ninja bench/baselines/node_modules
	$(CMAKE) --build $(RELEASE) --target parley parley-loadgen beast-relay
	bench/run_matrix.sh $(RELEASE) $(RELEASE)/bench-results $(BENCH_REPS)

bench/baselines/node_modules: bench/baselines/package-lock.json
	cd bench/baselines && npm ci --no-audit --no-fund
	@touch $@

bench-protocol: deps $(RELEASE)/build.ninja
	$(CMAKE) --build $(RELEASE) --target protocol_bench
	$(RELEASE)/bench/protocol_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
	  --benchmark_min_time=0.2 $(BENCH_ARGS)

# The wasm codec beside JSON.stringify/JSON.parse in node (see docs/benchmarks.md).
bench-wasm: wasm
	node bench/wasm_bench.mjs $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(FUZZ_DIR) $(RELEASE) build-sanitize build-tsan

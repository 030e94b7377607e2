# Sprout — the two commands a new user needs are `make run` and `make test` (see README.md).
BUILD_DIR     ?= build
BUILD_TYPE    ?= Release
JOBS          ?= $(shell nproc)
FUZZ_SECONDS  ?= 60
FUZZ_ONLY     ?=
CMAKE_FLAGS   ?=
RUN_ARGS      ?= --data-dir ./data
SOAK_ITERATIONS ?= 50
CONFORMANCE_TARGET ?= sprout

.PHONY: all deps configure build run test unit e2e soak conformance bench fuzz sanitize format clean

all: build

deps:
	@scripts/deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: deps build
	$(BUILD_DIR)/bin/sprout all $(RUN_ARGS)

# Tests labelled `pending16` (issue 16's TraceQL metrics e2e, written before the feature lands) are
# left out of every target here; run them with `ctest --test-dir build -L pending16`.
test: deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -LE pending16

# Only the GoogleTest unit tests, or only the end-to-end tests.
unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit -LE pending16
e2e: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L e2e -LE pending16

# The soak and kill-loop tests (label `soak`) in their long form; `make test` runs them short.
soak: build
	SPROUT_E2E_KILL_ITERATIONS=$(SOAK_ITERATIONS) \
	  ctest --test-dir $(BUILD_DIR) --output-on-failure -L soak -LE pending16

# The differential PromQL conformance harness: every expanded case of
# tests/conformance/promql-test-queries.yml against Debian's prometheus and CONFORMANCE_TARGET
# (sprout | victoria | prometheus); writes $(BUILD_DIR)/conformance/report.{md,json} and fails
# below CONFORMANCE_MIN_PASS percent (default 99). Only the sprout target needs a build.
conformance: deps configure
	$(if $(filter sprout,$(CONFORMANCE_TARGET)),cmake --build $(BUILD_DIR) -j $(JOBS) --target sprout)
	cd tests/conformance && CONFORMANCE_TARGET=$(CONFORMANCE_TARGET) \
	  SPROUT_BIN=$(abspath $(BUILD_DIR))/bin/sprout CONFORMANCE_OUT=$(abspath $(BUILD_DIR))/conformance \
	  node run.js

bench: deps build
	bench/run_collector_bench.sh
	bench/run_prw_bench.sh

# libFuzzer targets, built with clang into build-fuzz; each runs for FUZZ_SECONDS, one at a time
# (FUZZ_ONLY: a grep -E pattern of target names, e.g. FUZZ_ONLY='wal|block|chunkenc|remote_write').
fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSPROUT_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target fuzzers
	scripts/run_fuzzers.sh build-fuzz $(FUZZ_SECONDS) '$(FUZZ_ONLY)'

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPROUT_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS) -L unit

format:
	find src bench tests -name '*.cc' -o -name '*.h' | grep -v node_modules | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz

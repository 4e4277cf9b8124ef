# inferd: the commands a person types. CMake does the building underneath.
#   make run          install missing packages, build, serve examples/models on :8000
#   make test         every test tier that needs no special hardware
#   make check-asan   the unit and integration tests under ASan + UBSan
#   make check-tsan   the integration tests under ThreadSanitizer
#   make bench        load benchmark: nginx, FastAPI peer, batching on/off, pinned (~5 min)
#   make bench-swap   20 version swaps under 32 connections: failed requests and p99
#   make conformance  the ONNX backend test suite, test by test
#   make fuzz         run each libFuzzer harness for FUZZ_SECONDS (clang)
#   make models       regenerate examples/models with torch (tools/)

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
PORT       ?= 8000
JOBS       ?= $(shell nproc)
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PYTHON     := /usr/bin/python3

.PHONY: all deps build run test unit integration check-asan check-tsan bench bench-onnx bench-swap conformance conformance-update fuzz models format clean

all: build

deps:
	@scripts/install-deps.sh build test

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/inferd serve --model-repository examples/models --http-port $(PORT)

unit: build
	cd $(BUILD) && ctest --output-on-failure

integration: build
	INFERD_BIN=$(abspath $(BUILD)/inferd) $(PYTHON) -m pytest -q tests/integration

test: unit integration

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DINFERD_SANITIZE=ON

check-asan: deps $(ASAN_BUILD)/Makefile
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) INFERD_BIN=$(abspath $(ASAN_BUILD)/inferd) \
	  INFERD_SANITIZED=1 $(PYTHON) -m pytest -q tests/integration

# The scheduler's unit tests and the server under ThreadSanitizer: a race makes the process exit
# with status 66, which fails the unit test run or the integration tests' teardown.
check-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DINFERD_TSAN=ON
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target inferd test_sched
	TSAN_OPTIONS="exitcode=66" $(TSAN_BUILD)/test_sched
	TSAN_OPTIONS="exitcode=66 halt_on_error=0" INFERD_BIN=$(abspath $(TSAN_BUILD)/inferd) \
	  INFERD_SANITIZED=1 $(PYTHON) -m pytest -q tests/integration

bench: build
	@scripts/install-deps.sh bench
	BENCH_MODELS_DIR=$(abspath $(BUILD))/bench-models bench/run.sh $(abspath $(BUILD)/inferd)

bench-swap: build
	@scripts/install-deps.sh bench
	/usr/bin/python3 bench/swap.py $(abspath $(BUILD)/inferd)

bench-onnx: build
	@scripts/install-deps.sh tools ort
	BUILD=$(BUILD) bench/onnx/run.sh

conformance: build
	$(BUILD)/onnx_conformance

# After adding operators: record what passes now, so that it cannot silently regress.
conformance-update: build
	$(BUILD)/onnx_conformance -q --write-expect tests/conformance/expected_pass.txt.new
	{ head -n 2 tests/conformance/expected_pass.txt; cat tests/conformance/expected_pass.txt.new; } \
	  > tests/conformance/expected_pass.txt && rm tests/conformance/expected_pass.txt.new

# New findings go to $(FUZZ_BUILD)/findings/<target>; copy a crashing input into
# tests/fuzz/corpus/<target>/ once fixed so that `make test` replays it for ever.
fuzz: deps
	@scripts/install-deps.sh fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINFERD_FUZZ=ON
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_v2_request fuzz_config fuzz_onnx_model fuzz_tfs_codec
	@for t in v2_request config onnx_model tfs_codec; do \
	  mkdir -p $(FUZZ_BUILD)/findings/$$t $(FUZZ_BUILD)/work/$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
	    -artifact_prefix=$(FUZZ_BUILD)/findings/$$t/ $(FUZZ_BUILD)/work/$$t tests/fuzz/corpus/$$t \
	    2>&1 | tail -n 3 || exit 1; \
	done

models:
	@scripts/install-deps.sh tools
	$(PYTHON) tools/make_example_models.py

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)

# inferd: the commands a person types. CMake does the building underneath.
#   make run          install missing packages, build, serve examples/models on :8000
#   make test         every test tier that needs no special hardware
#   make check-asan   the unit and integration tests under ASan + UBSan
#   make bench        load benchmark against nginx (and later references)
#   make models       regenerate examples/models with torch (tools/)

BUILD      ?= build
ASAN_BUILD ?= build-asan
PORT       ?= 8000
JOBS       ?= $(shell nproc)
PYTHON     := /usr/bin/python3

.PHONY: all deps build run test unit integration check-asan bench models format clean

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
	INFERD_BIN=$(abspath $(ASAN_BUILD)/inferd) INFERD_SANITIZED=1 $(PYTHON) -m pytest -q tests/integration

bench: build
	@scripts/install-deps.sh bench
	bench/run.sh $(abspath $(BUILD)/inferd)

models:
	@scripts/install-deps.sh tools
	$(PYTHON) tools/make_example_models.py

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

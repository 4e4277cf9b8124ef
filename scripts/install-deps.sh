#!/usr/bin/env bash
# Installs the Debian packages inferd needs, and only those that are missing.
# Usage: scripts/install-deps.sh [build|test|bench|tools|fuzz|ort|all]...   (default: build test)
# Idempotent: when nothing is missing it asks dpkg once and returns.
set -euo pipefail

build_pkgs=(
  cmake make gcc pkg-config
  libh2o-evloop-dev libssl-dev          # HTTP front end (h2o 2.2, evloop flavour)
  libprotobuf-c-dev protobuf-c-compiler # ONNX parsing; C code generated at build time
  libonnx-dev                           # /usr/include/onnx/onnx.proto
  libdnnl-dev                           # oneDNN 2.6: dense math
  libjsmn-dev                           # JSON tokenizer (numbers parsed exactly, no per-node malloc)
  libsqlite3-dev                        # the registry's default store
  libcurl4-openssl-dev                  # the command line's HTTP client (inferd models, inferd audit)
)
test_pkgs=(
  libcmocka-dev                         # unit tests
  python3 python3-pytest python3-requests python3-numpy  # integration tests
  libonnx-testdata                      # the ONNX backend test suite (tests/conformance)
  prometheus                            # promtool checks the /metrics exposition
  curl                                  # HTTP/2 requests in the integration tests
)
bench_pkgs=(wrk nginx-light python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-torch python3-onnx)  # make bench: FastAPI peer (uvicorn[standard]); torch, onnx also make its CNNs
fuzz_pkgs=(clang libclang-rt-14-dev)    # libFuzzer and the sanitizer runtimes
ort_pkgs=(nodejs npm)                   # ONNX Runtime (npm onnxruntime-node) for make bench-onnx
tools_pkgs=(python3-torch python3-onnx python3-sklearn python3-numpy)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build test)
wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build_pkgs[@]}") ;;
    test) wanted+=("${test_pkgs[@]}") ;;
    bench) wanted+=("${bench_pkgs[@]}") ;;
    tools) wanted+=("${tools_pkgs[@]}") ;;
    fuzz) wanted+=("${fuzz_pkgs[@]}") ;;
    ort) # a node and npm already on PATH (e.g. not from Debian) will do
      command -v node >/dev/null && command -v npm >/dev/null || wanted+=("${ort_pkgs[@]}") ;;
    all) wanted+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}" "${tools_pkgs[@]}" "${fuzz_pkgs[@]}")
      command -v node >/dev/null && command -v npm >/dev/null || wanted+=("${ort_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown group '$g' (build|test|bench|tools|fuzz|ort|all)" >&2; exit 2 ;;
  esac
done

missing=()
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${wanted[@]}" 2>/dev/null || true)
for p in "${wanted[@]}"; do
  grep -q "^$p ii" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# dedupe while keeping order
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
echo "install-deps.sh: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

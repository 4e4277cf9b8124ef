#!/usr/bin/env bash
# bench/onnx/run.sh: inferd's ONNX executor against ONNX Runtime, model by model.
#
# For each model (mlp, lenet, cnn, resnet18, transformer) x batch (1, 64) x intra-op threads (1, 2),
# runs build/onnx_bench (inferd) and bench/onnx/ort_bench.js (onnxruntime-node) in turn,
# alternating which goes first, BENCH_ONNX_REPS times each; every run prints the median latency
# of one inference over many; the table shows the median of those medians and inferd/ORT.
# A model inferd cannot load yet is listed as "unsupported: <the loader's reason>".
#
# Usage: bench/onnx/run.sh               (make bench-onnx builds inferd first, then runs this)
# Env:   BUILD            the CMake build folder holding onnx_bench (default build)
#        BENCH_ONNX_REPS  runs of each engine per case (default 3)
# Needs: build/onnx_bench; /usr/bin/python3 with torch and onnx (to make the models, once); node
#        and npm (to install onnxruntime-node into build/ort, once).
# Output: progress on stderr; the table on stdout, saved to bench/results/onnx-latest.txt.
# Exit:  0 when the table was written (unsupported models included), 1 on a setup failure.
set -euo pipefail

die() {
  echo "bench-onnx: $*" >&2
  exit 1
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
REPS=${BENCH_ONNX_REPS:-3}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ONNX_REPS must be a positive integer, got '$REPS'"

PY=/usr/bin/python3
ONNX_BENCH=$BUILD/onnx_bench
ORT_BENCH=bench/onnx/ort_bench.js
ORT_DIR=$BUILD/ort
MODELS_DIR=$BUILD/bench-models
RESULTS=bench/results/onnx-latest.txt
RUN_TIMEOUT_S=180 # one engine, one case; a hung run is reported, not waited for

BATCHES=(1 64)
THREADS=(1 2)
declare -A MODEL_PATH=(
  [mlp]=examples/models/mnist_mlp/2/model.onnx
  [lenet]=$MODELS_DIR/lenet.onnx
  [cnn]=$MODELS_DIR/cnn.onnx
  [resnet18]=$MODELS_DIR/resnet18.onnx
  [transformer]=$MODELS_DIR/transformer.onnx
)
MODELS=(mlp lenet cnn resnet18 transformer)

# Timed runs per engine run for the slow cases (default: as many as fit in 1 s, at least 20),
# keeping the whole benchmark under about 10 minutes on 2 cores.
runs_option() { # model batch
  case "$1/$2" in
    resnet18/64) echo "--runs 10" ;;
    *) echo "" ;;
  esac
}

# ---- set-up: the binary, the models, ONNX Runtime ----
[ -x "$ONNX_BENCH" ] || die "$ONNX_BENCH not found (build it first: make build)"
command -v node >/dev/null || die "node not found (apt-get install nodejs npm)"
for model in "${MODELS[@]}"; do
  if [ "$model" != cnn ] && [ ! -f "${MODEL_PATH[$model]}" ]; then
    echo "bench-onnx: making the benchmark models in $MODELS_DIR" >&2
    "$PY" tools/make_bench_models.py "$MODELS_DIR" >&2 || die "tools/make_bench_models.py failed"
    break
  fi
done
if [ ! -f "${MODEL_PATH[cnn]}" ] || [ bench/make_cnn.py -nt "${MODEL_PATH[cnn]}" ]; then
  echo "bench-onnx: making ${MODEL_PATH[cnn]} (the make bench CNN)" >&2
  "$PY" bench/make_cnn.py "${MODEL_PATH[cnn]}" >&2 || die "bench/make_cnn.py failed"
fi
for model in "${MODELS[@]}"; do
  [ -f "${MODEL_PATH[$model]}" ] || die "${MODEL_PATH[$model]} is missing"
done
if [ ! -f "$ORT_DIR/node_modules/onnxruntime-node/package.json" ]; then
  command -v npm >/dev/null || die "npm not found (apt-get install npm)"
  echo "bench-onnx: installing onnxruntime-node into $ORT_DIR" >&2
  # The package's install script would fetch optional GPU binaries from a host that is not
  # reachable here; the CPU runtime ships inside the npm package itself.
  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$ORT_DIR" --no-audit --no-fund \
    onnxruntime-node >&2 || die "npm install onnxruntime-node failed"
fi
export ORT_NODE_DIR=$ROOT/$ORT_DIR

# ---- measuring ----
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Runs one engine once; prints its median in us. On failure prints nothing and leaves the reason
# in $WORK/reason; returns the engine's exit status (3: the model does not load).
run_engine() { # engine model batch threads
  local engine=$1 model=$2 batch=$3 threads=$4 status=0 runs
  runs=$(runs_option "$model" "$batch")
  local cmd=("$ONNX_BENCH")
  if [ "$engine" = ort ]; then cmd=(node "$ORT_BENCH"); fi
  # shellcheck disable=SC2086 # $runs is empty or two words on purpose
  timeout "$RUN_TIMEOUT_S" "${cmd[@]}" "${MODEL_PATH[$model]}" --batch "$batch" --threads "$threads" $runs \
    >"$WORK/out" 2>"$WORK/err" || status=$?
  if [ "$status" -ne 0 ]; then
    if [ "$status" -eq 124 ]; then
      echo "timed out after ${RUN_TIMEOUT_S} s" >>"$WORK/err"
    elif [ "$status" -gt 128 ]; then
      echo "crashed (signal $((status - 128)))" >>"$WORK/err"
    fi
    # the reason, without the program's name, on one line
    sed -e 's/^\(onnx_bench\|ort_bench\): //' "$WORK/err" | tr '\n' ' ' | sed -e 's/ *$//' \
      >"$WORK/reason"
    return "$status"
  fi
  echo "  $engine: $(cat "$WORK/out")" >&2
  sed -n 's/.* median_us=\([0-9.]*\).*/\1/p' "$WORK/out"
}

# The middle value (the lower of the two middle ones for an even count).
median() { # values...
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Largest over smallest of the values (1.00 when they agree).
spread() { # values...
  printf '%s\n' "$@" | sort -g | awk 'NR == 1 { low = $1 } { high = $1 } END { printf "%.2f", high / low }'
}

# Repetitions whose medians differ by more than this factor are marked noisy.
NOISY_SPREAD=1.3

ROWS=()
row() { # model batch threads inferd ort ratio
  ROWS+=("$(printf '%-12s %5s %7s %12s %12s  %s' "$@")")
}

# How busy the cores are with other work: percent of CPU time not idle over one second (the load
# average would count this benchmark's own processes for a minute after they end).
cpu_busy_percent() {
  local before after
  before=$(head -n 1 /proc/stat)
  sleep 1
  after=$(head -n 1 /proc/stat)
  awk -v a="$before" -v b="$after" 'BEGIN {
    n = split(a, x); split(b, y); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    idle = (y[5] + y[6]) - (x[5] + x[6]) # idle + iowait
    printf "%.0f", (total > 0 ? 100 * (total - idle) / total : 0) }'
}

start_s=$SECONDS
busy_at_start=$(cpu_busy_percent)
if [ "$busy_at_start" -gt 10 ]; then
  echo "bench-onnx: warning: the cores are ${busy_at_start}% busy with other work before starting;" \
    "the figures will be noisy, the threads=2 ones most" >&2
fi
for model in "${MODELS[@]}"; do
  for batch in "${BATCHES[@]}"; do
    for threads in "${THREADS[@]}"; do
      echo "bench-onnx: $model batch $batch threads $threads" >&2
      inferd_medians=() ort_medians=() failure=""
      for ((rep = 0; rep < REPS; rep++)); do
        order=(inferd ort)
        if [ $((rep % 2)) -eq 1 ]; then order=(ort inferd); fi
        for engine in "${order[@]}"; do
          status=0
          value=$(run_engine "$engine" "$model" "$batch" "$threads") || status=$?
          if [ "$status" -eq 3 ] && [ "$engine" = inferd ]; then
            # loading does not depend on batch or threads: one row for the whole model
            echo "  unsupported: $(cat "$WORK/reason")" >&2
            row "$model" all all - - "unsupported: $(cat "$WORK/reason")"
            continue 5
          elif [ "$status" -ne 0 ]; then
            failure="$engine failed: $(cat "$WORK/reason")"
          elif [ "$engine" = inferd ]; then
            inferd_medians+=("$value")
          else
            ort_medians+=("$value")
          fi
          if [ -n "$failure" ]; then break 2; fi
        done
      done
      if [ -n "$failure" ]; then
        echo "  $failure" >&2
        row "$model" "$batch" "$threads" - - "$failure"
        continue
      fi
      inferd_us=$(median "${inferd_medians[@]}")
      ort_us=$(median "${ort_medians[@]}")
      ratio=$(awk -v a="$inferd_us" -v b="$ort_us" 'BEGIN { printf "%.2f", a / b }')
      inferd_spread=$(spread "${inferd_medians[@]}")
      ort_spread=$(spread "${ort_medians[@]}")
      if awk -v i="$inferd_spread" -v o="$ort_spread" -v limit="$NOISY_SPREAD" \
        'BEGIN { exit !(i > limit || o > limit) }'; then
        ratio="$ratio   noisy: the runs' medians spread x$inferd_spread (inferd), x$ort_spread (ORT)"
      fi
      row "$model" "$batch" "$threads" "$inferd_us" "$ort_us" "$ratio"
    done
  done
done

# ---- the table ----
busy_at_end=$(cpu_busy_percent)
ort_version=$(node -e "console.log(require(require.resolve('onnxruntime-node', \
  { paths: [process.env.ORT_NODE_DIR] })).env.versions.node)" 2>/dev/null || echo unknown)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# inferd ONNX executor vs ONNX Runtime $ort_version (node), $(date -u '+%Y-%m-%d %H:%M UTC')," \
    "commit $commit (plus uncommitted changes, if any), $(nproc) cores"
  echo "# latency of one inference in us: median over $REPS runs of each engine's median;" \
    "ratio = inferd/ORT, lower is better"
  printf '%-12s %5s %7s %12s %12s  %s\n' model batch threads "inferd us" "ORT us" "inferd/ORT"
  printf '%s\n' "${ROWS[@]}"
  echo "# $((SECONDS - start_s)) s; CPU busy with other work: ${busy_at_start}% before, ${busy_at_end}%" \
    "after (above ~10%, other work shared the cores: see bench/onnx/README.md)"
} >"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"

#!/usr/bin/env bash
# bench/onnx/compare.sh: are inferd's outputs on the benchmark models those of ONNX Runtime?
# For each model and batch 1 and 64, onnx_bench runs once and dumps its input and output;
# compare.js runs ORT on the same input and prints the largest differences. Needs what run.sh
# needs (build/onnx_bench, the models, build/ort). Exit 1 when a relative difference is over
# 1e-4 (float32 rounding through different kernels stays well below).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
MODELS_DIR=${MODELS_DIR:-build/bench-models}
export ORT_NODE_DIR=${ORT_NODE_DIR:-$ROOT/build/ort}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
for model in examples/models/mnist_mlp/2/model.onnx "$MODELS_DIR"/{lenet,resnet18,transformer}.onnx; do
  for batch in 1 64; do
    "$BUILD/onnx_bench" "$model" --batch "$batch" --threads 1 --runs 1 --dump "$WORK/t" >/dev/null
    line=$(node bench/onnx/compare.js "$model" "$WORK/t" "$batch")
    echo "$(basename "$(dirname "$model")")/$(basename "$model") batch $batch: $line"
    rel=$(sed -n 's/.*max_rel_diff=\([^ ]*\).*/\1/p' <<<"$line")
    if awk -v r="$rel" 'BEGIN { exit !(r == "" || r > 1e-4) }'; then status=1; fi
  done
done
exit $status

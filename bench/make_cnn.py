"""Make the CNN that `make bench` measures dynamic batching on (case (e)): bench/run.sh runs this
when the file is missing or older than this script. It is a benchmark model, not committed.

Usage: /usr/bin/python3 bench/make_cnn.py OUT.onnx

The network, for a [batch,1,28,28] input named "input" (the same request as LeNet's):

  conv 32@3x3 pad 1, relu, maxpool 2      28x28 -> 14x14
  conv 64@3x3 pad 1, relu, maxpool 2      14x14 -> 7x7
  flatten (3136), fc 2048, relu, fc 10    output [batch,10] named "output"

About 6.5 million weights (25 MiB), almost all in the first dense layer, as in the VGG and AlexNet
families, whose classifier heads hold most of their weights. That is what makes it a case for
batching on a CPU: at batch 1 the dense layer reads every weight for one row (bound by memory
bandwidth), in a batch it reads them once for all rows (bound by arithmetic). LeNet (44 thousand
weights, in cache) has no such cost to share, so batching cannot pay there; run.sh measures it
too, at 64 connections, to show the contrast.

Weights are random with a fixed seed (the benchmark measures speed, not accuracy); opset 13, a
dynamic batch axis, checked with onnx.checker; needs Debian's python3-torch and python3-onnx.
"""

import io
import sys
from pathlib import Path

import onnx
import torch
from torch import nn

SEED = 6
OPSET = 13
INPUT_SHAPE = (1, 1, 28, 28)
HIDDEN = 2048


def make_cnn():
    """The network above, in eval mode."""
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10)).eval()


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    torch.set_num_threads(1)
    buffer = io.BytesIO()
    batch_axis = {0: "batch"}
    torch.onnx.export(make_cnn(), (torch.zeros(*INPUT_SHAPE),), buffer, opset_version=OPSET,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": batch_axis, "output": batch_axis})
    model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    onnx.save(model, str(partial))
    partial.replace(out)
    weights = sum(int(torch.tensor(t.dims).prod()) for t in model.graph.initializer)
    print(f"{out}: {weights} weights, {out.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

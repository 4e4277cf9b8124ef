"""Make the models the executor speed benchmark (`make bench-onnx`, bench/onnx/) runs.

Usage: /usr/bin/python3 tools/make_bench_models.py [OUT_DIR]      (default: build/bench-models)

Needs torch (1.13) and onnx (1.12), no network and no torchvision. Writes, into OUT_DIR:

  lenet.onnx        LeNet-size CNN, input [batch,1,28,28]
  resnet18.onnx     ResNet-18-shaped CNN (BasicBlocks [2,2,2,2], BatchNorm), input [batch,3,64,64]
  transformer.onnx  2-layer torch.nn.TransformerEncoder (d_model 64, 4 heads, feed-forward 128),
                    input [batch,32,64]

The fourth benchmark model, the MLP, is the committed examples/models/mnist_mlp/2/model.onnx; it
is only described here. The weights are random (fixed seeds), not trained: the benchmark measures
speed, not accuracy. Every model is exported in eval mode with opset 13 and a dynamic batch axis,
checked with onnx.checker, and normalised (doc strings cleared), so the files are byte-for-byte
the same on every run. For each model the script prints the operator types of its graph.
"""

import collections
import io
import sys
from pathlib import Path

import onnx
import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "build" / "bench-models"
MLP_PATH = REPO_ROOT / "examples" / "models" / "mnist_mlp" / "2" / "model.onnx"

# 13 exports all three models with plain operators under torch 1.13 (LayerNormalization would
# need 17, which torch 1.13 does not emit; layer norm comes out as ReduceMean/Sub/Pow/Sqrt/Div).
OPSET = 13
PRODUCER = "inferd tools/make_bench_models.py"
INPUT_NAME = "input"
OUTPUT_NAME = "output"

LENET_SEED = 1
RESNET_SEED = 2
TRANSFORMER_SEED = 3

TRANSFORMER_D_MODEL = 64
TRANSFORMER_HEADS = 4
TRANSFORMER_FEED_FORWARD = 128
TRANSFORMER_LAYERS = 2
TRANSFORMER_SEQUENCE = 32


def make_deterministic():
    """Same numbers on every run: one thread, deterministic kernels."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


class LeNet(nn.Module):
    """conv 6@5x5, relu, maxpool 2; conv 16@5x5, relu, maxpool 2; fc 120, 84, 10 (28x28 input)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))

    def forward(self, images):
        return self.classifier(self.features(images))


class BasicBlock(nn.Module):
    """ResNet's two-conv residual block; a 1x1 strided conv projects the shortcut when the shape
    changes."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18's layout: stem conv 7x7/2 + BatchNorm + relu + maxpool 3x3/2, four stages of two
    BasicBlocks (64, 128, 256, 512 channels; stages 2-4 start with stride 2), global average
    pool, fc."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1))
        stages = []
        in_channels = 64
        for out_channels, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(BasicBlock(in_channels, out_channels, stride))
            stages.append(BasicBlock(out_channels, out_channels, 1))
            in_channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, images):
        x = self.pool(self.stages(self.stem(images)))
        return self.fc(torch.flatten(x, 1))


def randomize_batch_norm_statistics(module, generator):
    """Gives every BatchNorm running statistics and an affine part that are not the identity, as
    a trained network's would be (the exporter folds them into the convolutions either way)."""
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            channels = layer.num_features
            with torch.no_grad():
                layer.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
                layer.running_var.copy_(torch.rand(channels, generator=generator) * 0.5 + 0.75)
                layer.weight.copy_(torch.rand(channels, generator=generator) * 0.5 + 0.75)
                layer.bias.copy_(torch.randn(channels, generator=generator) * 0.1)


def make_transformer():
    """A 2-layer post-norm encoder, batch_first. enable_nested_tensor=False keeps the module off
    the nested-tensor path, so that the export is made of plain operators."""
    layer = nn.TransformerEncoderLayer(TRANSFORMER_D_MODEL, TRANSFORMER_HEADS,
                                       dim_feedforward=TRANSFORMER_FEED_FORWARD, dropout=0.0,
                                       batch_first=True)
    return nn.TransformerEncoder(layer, TRANSFORMER_LAYERS, enable_nested_tensor=False)


def export(module, example_input, path):
    """Exports `module` (eval mode) to `path` with opset OPSET, constant folding and a dynamic
    axis 0 ("batch") on its input and output; checks the model and returns it."""
    module.eval()
    buffer = io.BytesIO()
    batch_axis = {0: "batch"}
    torch.onnx.export(module, (example_input,), buffer, opset_version=OPSET,
                      input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                      dynamic_axes={INPUT_NAME: batch_axis, OUTPUT_NAME: batch_axis},
                      do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    model = onnx.load_from_string(buffer.getvalue())
    model.producer_name = PRODUCER
    model.producer_version = ""
    model.doc_string = ""
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return model


def describe(name, path, model):
    """Prints the model's input shape and the operator types of its graph, with counts."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    shape = ",".join(d.dim_param or str(d.dim_value) for d in dims)
    counts = collections.Counter(node.op_type for node in model.graph.node)
    ops = " ".join(f"{op}x{count}" if count > 1 else op for op, count in sorted(counts.items()))
    print(f"{name}: {path} input [{shape}], {len(model.graph.node)} nodes")
    print(f"  ops: {ops}")


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out_dir = Path(argv[1]).resolve() if len(argv) == 2 else DEFAULT_OUT_DIR
    make_deterministic()

    describe("mlp", MLP_PATH, onnx.load(str(MLP_PATH)))

    torch.manual_seed(LENET_SEED)
    path = out_dir / "lenet.onnx"
    describe("lenet", path, export(LeNet(), torch.randn(1, 1, 28, 28), path))

    torch.manual_seed(RESNET_SEED)
    resnet = ResNet18()
    randomize_batch_norm_statistics(resnet, torch.Generator().manual_seed(RESNET_SEED))
    path = out_dir / "resnet18.onnx"
    describe("resnet18", path, export(resnet, torch.randn(1, 3, 64, 64), path))

    torch.manual_seed(TRANSFORMER_SEED)
    path = out_dir / "transformer.onnx"
    example = torch.randn(1, TRANSFORMER_SEQUENCE, TRANSFORMER_D_MODEL)
    describe("transformer", path, export(make_transformer(), example, path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Make inferd's example models, test models, reference outputs and example requests.

Run by `make models` (that is, `/usr/bin/python3 tools/make_example_models.py`); it needs torch,
onnx, numpy and scikit-learn, and no network. Everything it writes is committed, so the tests
never need torch. It (re)creates:

  examples/models/mnist_mlp/{config.json, 1/model.onnx, 2/model.onnx}
      digit classifier trained on scikit-learn's bundled 8x8 digits (two versions)
  examples/models/credit_risk/{config.json, 1/model.onnx}
      logistic-style scorer trained on synthetic tabular data, two outputs
  examples/requests/{mnist_mlp.json, mnist_mlp_batch.json, credit_risk.json}, examples/README.md
      KServe V2 request bodies made from held-out rows, and what they are
  tests/data/models/{typed_identity, unsupported_op, ops_mix}/1/model.onnx
      small graphs built with onnx.helper for the tests
  tests/data/reference/{mnist_mlp_v1, mnist_mlp_v2, credit_risk_v1, ops_mix_v1}.json
      inputs and expected outputs (batches of 1, 3 and 8 rows)

The output is byte-for-byte reproducible: every random draw comes from a fixed seed, training
runs single-threaded with deterministic algorithms, and the exported ONNX files are normalised
(doc strings cleared) before they are written. Every model is checked with onnx.checker, and
every graph may only use the operators inferd runs (ALLOWED_OPS) -- except unsupported_op,
whose whole point is to use one it does not.
"""

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MODELS = REPO_ROOT / "examples" / "models"
EXAMPLE_REQUESTS = REPO_ROOT / "examples" / "requests"
TEST_MODELS = REPO_ROOT / "tests" / "data" / "models"
REFERENCE_DIR = REPO_ROOT / "tests" / "data" / "reference"

OPSET = 13
HELPER_IR_VERSION = 8
PRODUCER = "inferd tools/make_example_models.py"

# The operators inferd's ONNX executor runs (docs/model-repository.md).
ALLOWED_OPS = frozenset({"Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Sigmoid", "Tanh",
                         "Softmax", "Flatten", "Reshape", "Identity", "Constant"})

# Batch sizes of the reference cases written for every model.
REFERENCE_BATCHES = (1, 3, 8)

# Fraction of each data set held out for accuracy and for reference / request inputs.
HELD_OUT_FRACTION = 0.2
SPLIT_SEED = 0

# json_text() keeps a list or object on one line when it fits in this many characters.
JSON_LINE_WIDTH = 100

WRITTEN = []  # every file written, in order, for the summary at the end
GRAPH_OPS = {}  # model file -> operator types of its graph, in node order without repeats


# ---------------------------------------------------------------------------------------------
# Shared helpers: determinism, data split, ONNX checks and writing files
# ---------------------------------------------------------------------------------------------


def make_deterministic():
    """Same numbers on every run and every machine: one thread, deterministic kernels."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def split_rows(count, seed=SPLIT_SEED):
    """A fixed shuffled split of `count` row indices into (train, held_out)."""
    order = np.random.default_rng(seed).permutation(count)
    held_out = int(round(count * HELD_OUT_FRACTION))
    return order[held_out:], order[:held_out]


def write_file(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    WRITTEN.append(path)


def json_text(value, indent=0):
    """JSON indented by two spaces, but with every list or object on one line when it fits in
    JSON_LINE_WIDTH or holds no lists or objects (so tensor data takes a line, or a line per
    row when nested, rather than a line per number). Floats are written as repr(float), which
    round-trips exactly."""
    one_line = json.dumps(value, separators=(", ", ": "))
    if not isinstance(value, (list, dict)) or len(one_line) + 2 * indent <= JSON_LINE_WIDTH:
        return one_line
    items = value.values() if isinstance(value, dict) else value
    if not any(isinstance(item, (list, dict)) for item in items):
        return one_line
    if isinstance(value, dict):
        items = [f"{json.dumps(key)}: {json_text(item, indent + 1)}" for key, item in value.items()]
        opening, closing = "{", "}"
    else:
        items = [json_text(item, indent + 1) for item in value]
        opening, closing = "[", "]"
    inner, outer = "  " * (indent + 1), "  " * indent
    return opening + "\n" + ",\n".join(inner + item for item in items) + "\n" + outer + closing


def write_json(path, value):
    write_file(path, (json_text(value) + "\n").encode())


def float_list(array):
    """Row-major Python floats of a float32 array (exact: float32 -> float64 is lossless)."""
    return [float(v) for v in np.asarray(array, dtype=np.float32).ravel()]


def tensor_signature(value_info):
    """(name, ONNX element type name, dims with "batch"-style names kept) of a graph input or
    output."""
    tensor_type = value_info.type.tensor_type
    dims = [d.dim_param if d.dim_param else d.dim_value for d in tensor_type.shape.dim]
    return value_info.name, TensorProto.DataType.Name(tensor_type.elem_type), dims


def graph_signature(model):
    """The model's ([inputs], [outputs]) as tensor_signature() tuples, initializers excluded."""
    initializers = {init.name for init in model.graph.initializer}
    inputs = [tensor_signature(v) for v in model.graph.input if v.name not in initializers]
    return inputs, [tensor_signature(v) for v in model.graph.output]


def op_types(model):
    """Operator types of the graph, in order of first use."""
    return list(dict.fromkeys(node.op_type for node in model.graph.node))


def float_types_used(model):
    """Element types of every floating-point tensor in the graph: inputs, outputs, value_info,
    initializers and Constant node values."""
    float_types = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
    graph = model.graph
    types = [v.type.tensor_type.elem_type for v in [*graph.input, *graph.output, *graph.value_info]]
    types += [init.data_type for init in graph.initializer]
    types += [attr.t.data_type for node in graph.node for attr in node.attribute
              if attr.type == onnx.AttributeProto.TENSOR]
    return {TensorProto.DataType.Name(t) for t in types if t in float_types}


def save_model(model, path, expect_inputs, expect_outputs, allowed_ops=ALLOWED_OPS,
               float32_only=True):
    """Checks `model` and writes it to `path`. Fails loudly if onnx.checker rejects it, if it
    uses an operator outside `allowed_ops`, if a floating-point tensor is not float32 (unless
    `float32_only` is False) or if its inputs/outputs differ from the expected signatures."""
    onnx.checker.check_model(model, full_check=True)
    ops = op_types(model)
    outside = sorted(set(ops) - allowed_ops)
    if outside:
        raise SystemExit(f"{path}: operators {outside} are not in {sorted(allowed_ops)}")
    if float32_only and float_types_used(model) - {"FLOAT"}:
        raise SystemExit(f"{path}: non-float32 tensors: {sorted(float_types_used(model))}")
    inputs, outputs = graph_signature(model)
    if (inputs, outputs) != (list(expect_inputs), list(expect_outputs)):
        raise SystemExit(f"{path}: signature {inputs} -> {outputs}, "
                         f"expected {expect_inputs} -> {expect_outputs}")
    write_file(path, model.SerializeToString())
    GRAPH_OPS[path] = ops


def export_torch(module, example_input, input_name, output_names, path, expect_inputs,
                 expect_outputs):
    """Exports `module` with torch.onnx.export (opset 13, constant folding, a dynamic "batch"
    first axis on every input and output), clears the free-text fields, then save_model()."""
    module.eval()
    dynamic_axes = {name: {0: "batch"} for name in [input_name, *output_names]}
    buffer = io.BytesIO()
    torch.onnx.export(module, (example_input,), buffer, opset_version=OPSET,
                      do_constant_folding=True, input_names=[input_name],
                      output_names=list(output_names), dynamic_axes=dynamic_axes)
    model = onnx.load_from_string(buffer.getvalue())
    model.doc_string = ""
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""
    save_model(model, path, expect_inputs, expect_outputs)


def write_config(name, max_batch_size, inputs, outputs):
    """config.json in Triton's field names; dims leave out the batch dimension."""
    def entries(signatures):
        return [{"name": n, "data_type": "TYPE_FP32", "dims": dims[1:]}
                for n, _, dims in signatures]

    write_json(EXAMPLE_MODELS / name / "config.json", {
        "name": name, "backend": "onnx", "max_batch_size": max_batch_size,
        "input": entries(inputs), "output": entries(outputs)})


def fp32_entry(array):
    return {"datatype": "FP32", "shape": list(array.shape), "data": float_list(array)}


def write_reference(model_name, version, input_rows, compute):
    """tests/data/reference/<model>_v<version>.json: one case per REFERENCE_BATCHES size, taking
    consecutive rows of `input_rows` (a {name: float32 array}); `compute` maps such a dict of
    inputs to a {name: float32 array} of outputs."""
    cases, start = [], 0
    for batch in REFERENCE_BATCHES:
        inputs = {name: rows[start:start + batch] for name, rows in input_rows.items()}
        outputs = compute(inputs)
        cases.append({"inputs": {n: fp32_entry(a) for n, a in inputs.items()},
                      "outputs": {n: fp32_entry(a) for n, a in outputs.items()}})
        start += batch
    write_json(REFERENCE_DIR / f"{model_name}_v{version}.json",
               {"model": model_name, "version": str(version), "cases": cases})


def torch_outputs(module, output_names):
    """A `compute` for write_reference(): runs a one-input torch module in float32."""
    def compute(inputs):
        (array,) = inputs.values()
        with torch.no_grad():
            result = module(torch.from_numpy(np.ascontiguousarray(array)))
        results = result if isinstance(result, tuple) else (result,)
        return {name: r.numpy().astype(np.float32) for name, r in zip(output_names, results)}
    return compute


def accuracy(predicted, labels):
    return float(np.mean(np.asarray(predicted) == np.asarray(labels)))


# ---------------------------------------------------------------------------------------------
# mnist_mlp: digits 0-9 from scikit-learn's bundled 8x8 images
# ---------------------------------------------------------------------------------------------

MNIST_INPUTS = [("input", "FLOAT", ["batch", 64])]
MNIST_OUTPUTS = [("probabilities", "FLOAT", ["batch", 10])]
MNIST_VERSIONS = {1: {"seed": 1, "epochs": 5}, 2: {"seed": 2, "epochs": 30}}
MNIST_BATCH_SIZE = 64
MNIST_LEARNING_RATE = 1e-3


class DigitMLP(nn.Module):
    """64 pixel intensities (0..16) -> probabilities of the ten digits. The scaling to 0..1 is
    part of the graph, so clients send the pixels as they are."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                    nn.Linear(256, 10))

    def logits(self, pixels):
        return self.layers(pixels / 16.0)

    def forward(self, pixels):
        return torch.softmax(self.logits(pixels), dim=1)


def train_digit_mlp(x_train, y_train, seed, epochs):
    """Adam on minibatches in a seeded order; returns the trained module."""
    torch.manual_seed(seed)
    module = DigitMLP()
    optimizer = torch.optim.Adam(module.parameters(), lr=MNIST_LEARNING_RATE)
    order = torch.Generator().manual_seed(seed)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    module.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=order).split(MNIST_BATCH_SIZE):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(module.logits(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return module.eval()


def make_mnist_mlp():
    """Both versions, config, references; returns the held-out (pixels, labels)."""
    digits = load_digits()
    pixels = digits.data.astype(np.float32)
    labels = digits.target.astype(np.int64)
    train, held_out = split_rows(len(pixels))
    x_test, y_test = pixels[held_out], labels[held_out]

    for version, settings in MNIST_VERSIONS.items():
        module = train_digit_mlp(pixels[train], labels[train], **settings)
        with torch.no_grad():
            predicted = module(torch.from_numpy(x_test)).argmax(dim=1).numpy()
        print(f"mnist_mlp v{version} (seed {settings['seed']}, {settings['epochs']} epochs): "
              f"held-out accuracy {accuracy(predicted, y_test):.4f} on {len(y_test)} digits")
        export_torch(module, torch.from_numpy(x_test[:2]), "input", ["probabilities"],
                     EXAMPLE_MODELS / "mnist_mlp" / str(version) / "model.onnx",
                     MNIST_INPUTS, MNIST_OUTPUTS)
        write_reference("mnist_mlp", version, {"input": x_test},
                        torch_outputs(module, ["probabilities"]))

    write_config("mnist_mlp", 256, MNIST_INPUTS, MNIST_OUTPUTS)
    return x_test, y_test


# ---------------------------------------------------------------------------------------------
# credit_risk: a small scorer on synthetic tabular data
# ---------------------------------------------------------------------------------------------

CREDIT_INPUTS = [("features", "FLOAT", ["batch", 8])]
CREDIT_OUTPUTS = [("logit", "FLOAT", ["batch", 1]), ("probability", "FLOAT", ["batch", 1])]
CREDIT_SEED = 7
CREDIT_ROWS = 2000
CREDIT_STEPS = 200
CREDIT_LEARNING_RATE = 0.05
CREDIT_HIDDEN = 16
# The synthetic features are mean + scale * z with z ~ N(0, 1); the true log-odds of the label
# are CREDIT_TRUE_BIAS + z @ CREDIT_TRUE_WEIGHTS (two features carry no signal).
CREDIT_FEATURE_MEAN = np.array([40.0, 55.0, 0.35, 6.0, 1.0, 8.0, 15.0, 3.0])
CREDIT_FEATURE_SCALE = np.array([12.0, 20.0, 0.15, 3.0, 1.5, 6.0, 8.0, 2.5])
CREDIT_TRUE_WEIGHTS = np.array([-0.4, -0.9, 1.6, -0.3, 1.2, -0.5, 0.0, 0.0])
CREDIT_TRUE_BIAS = -0.5


def credit_data(seed=CREDIT_SEED):
    """(features float32 [rows, 8], labels float32 [rows], true probabilities [rows])."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((CREDIT_ROWS, len(CREDIT_FEATURE_MEAN)))
    features = (CREDIT_FEATURE_MEAN + CREDIT_FEATURE_SCALE * z).astype(np.float32)
    true_probability = 1.0 / (1.0 + np.exp(-(CREDIT_TRUE_BIAS + z @ CREDIT_TRUE_WEIGHTS)))
    labels = (rng.random(CREDIT_ROWS) < true_probability).astype(np.float32)
    return features, labels, true_probability


class CreditRisk(nn.Module):
    """Standardise with constants from the training rows, a tanh layer written as an explicit
    matmul + bias (MatMul and Add in the graph), then a linear head (Gemm).
    Returns (logit, probability)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean))
        self.register_buffer("std", torch.from_numpy(std))
        self.weight = nn.Parameter(torch.randn(len(mean), CREDIT_HIDDEN) / len(mean) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(CREDIT_HIDDEN))
        self.head = nn.Linear(CREDIT_HIDDEN, 1)

    def forward(self, features):
        standardized = (features - self.mean) / self.std
        hidden = torch.tanh(torch.matmul(standardized, self.weight) + self.bias)
        logit = self.head(hidden)
        return logit, torch.sigmoid(logit)


def make_credit_risk():
    """Trains, exports and references credit_risk; returns the held-out features."""
    features, labels, true_probability = credit_data()
    train, held_out = split_rows(len(features))
    x_train, y_train = torch.from_numpy(features[train]), torch.from_numpy(labels[train])

    torch.manual_seed(CREDIT_SEED)
    module = CreditRisk(features[train].mean(axis=0), features[train].std(axis=0))
    optimizer = torch.optim.Adam(module.parameters(), lr=CREDIT_LEARNING_RATE)
    module.train()
    for _ in range(CREDIT_STEPS):  # full batch
        optimizer.zero_grad()
        logit, _ = module(x_train)
        loss = nn.functional.binary_cross_entropy_with_logits(logit.squeeze(1), y_train)
        loss.backward()
        optimizer.step()
    module.eval()

    x_test, y_test = features[held_out], labels[held_out]
    with torch.no_grad():
        _, probability = module(torch.from_numpy(x_test))
    print(f"credit_risk v1 (seed {CREDIT_SEED}, {CREDIT_STEPS} full-batch steps): held-out "
          f"accuracy {accuracy(probability.squeeze(1).numpy() > 0.5, y_test):.4f} on "
          f"{len(y_test)} rows (the true probabilities score "
          f"{accuracy(true_probability[held_out] > 0.5, y_test):.4f})")

    export_torch(module, torch.from_numpy(x_test[:2]), "features", ["logit", "probability"],
                 EXAMPLE_MODELS / "credit_risk" / "1" / "model.onnx", CREDIT_INPUTS, CREDIT_OUTPUTS)
    write_reference("credit_risk", 1, {"features": x_test},
                    torch_outputs(module, ["logit", "probability"]))
    write_config("credit_risk", 1024, CREDIT_INPUTS, CREDIT_OUTPUTS)
    return x_test


# ---------------------------------------------------------------------------------------------
# Test models built with onnx.helper
# ---------------------------------------------------------------------------------------------


def helper_model(name, nodes, inputs, outputs, initializers=(), extra_opsets=()):
    """An opset-13, IR-version-8 model of one graph; inputs/outputs are (name, type, dims)."""
    def value_infos(signatures):
        return [helper.make_tensor_value_info(n, getattr(TensorProto, t), dims)
                for n, t, dims in signatures]

    graph = helper.make_graph(nodes, name, value_infos(inputs), value_infos(outputs),
                              initializer=list(initializers))
    opsets = [helper.make_opsetid("", OPSET)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    return helper.make_model(graph, opset_imports=opsets, ir_version=HELPER_IR_VERSION,
                             producer_name=PRODUCER)


def make_typed_identity():
    """One Identity per V2 datatype inferd supports: in_<type> -> out_<type>, shape [batch, 3]."""
    types = {"bool": "BOOL", "int8": "INT8", "int16": "INT16", "int32": "INT32",
             "int64": "INT64", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32",
             "uint64": "UINT64", "fp32": "FLOAT", "fp64": "DOUBLE"}
    inputs = [(f"in_{suffix}", onnx_type, ["batch", 3]) for suffix, onnx_type in types.items()]
    outputs = [(f"out_{suffix}", onnx_type, ["batch", 3]) for suffix, onnx_type in types.items()]
    nodes = [helper.make_node("Identity", [f"in_{s}"], [f"out_{s}"], name=f"identity_{s}")
             for s in types]
    save_model(helper_model("typed_identity", nodes, inputs, outputs),
               TEST_MODELS / "typed_identity" / "1" / "model.onnx", inputs, outputs,
               float32_only=False)  # in_fp64 is meant to be double


def make_unsupported_op():
    """A node of an operator nobody implements, so that loading must fail naming it."""
    signature = ["batch", 4]
    inputs, outputs = [("x", "FLOAT", signature)], [("y", "FLOAT", signature)]
    node = helper.make_node("FrobnicateOp", ["x"], ["y"], name="mystery_node",
                            domain="ai.inferd.test")
    model = helper_model("unsupported_op", [node], inputs, outputs,
                         extra_opsets=[("ai.inferd.test", 1)])
    save_model(model, TEST_MODELS / "unsupported_op" / "1" / "model.onnx", inputs, outputs,
               allowed_ops=frozenset({"FrobnicateOp"}))


SLOW_CHAIN_WIDTH = 512
SLOW_CHAIN_DEPTH = 40
SLOW_CHAIN_SEED = 17


def make_slow_chain():
    """A deliberately slow model for scheduler tests: 40 MatMuls by one 512x512 matrix (with a
    Tanh after each, to keep the values bounded), so that a batch of 256 rows keeps an instance
    busy for milliseconds while the tests queue other requests behind it."""
    rng = np.random.default_rng(SLOW_CHAIN_SEED)
    weights = (rng.standard_normal((SLOW_CHAIN_WIDTH, SLOW_CHAIN_WIDTH)) /
               np.sqrt(SLOW_CHAIN_WIDTH)).astype(np.float32)
    signature = ["batch", SLOW_CHAIN_WIDTH]
    inputs, outputs = [("x", "FLOAT", signature)], [("y", "FLOAT", signature)]
    nodes, previous = [], "x"
    for i in range(SLOW_CHAIN_DEPTH):
        product, activated = f"product_{i}", ("y" if i == SLOW_CHAIN_DEPTH - 1 else f"h_{i}")
        nodes.append(helper.make_node("MatMul", [previous, "w"], [product], name=f"matmul_{i}"))
        nodes.append(helper.make_node("Tanh", [product], [activated], name=f"tanh_{i}"))
        previous = activated
    model = helper_model("slow_chain", nodes, inputs, outputs,
                         initializers=[numpy_helper.from_array(weights, "w")])
    save_model(model, TEST_MODELS / "slow_chain" / "1" / "model.onnx", inputs, outputs)


OPS_MIX_SCALE = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0], dtype=np.float32)
OPS_MIX_OFFSET = np.array([0.25, -0.5, 1.0, 0.0, 2.0, -1.5], dtype=np.float32)
OPS_MIX_SHAPE = np.array([-1, 3, 2], dtype=np.int64)
OPS_MIX_SEED = 13


def ops_mix_numpy(inputs):
    """ops_mix computed with numpy in float32: the reference for the graph below."""
    x = inputs["x"]
    flat = x.reshape(x.shape[0], -1)
    y = np.maximum(flat * OPS_MIX_SCALE - OPS_MIX_OFFSET, np.float32(0)).reshape(OPS_MIX_SHAPE)
    squashed = np.float32(1) / (np.float32(1) + np.exp(-y))
    exp = np.exp(squashed - squashed.max(axis=2, keepdims=True))
    z = exp / exp.sum(axis=2, keepdims=True)
    return {"y": y.astype(np.float32), "z": z.astype(np.float32)}


def make_ops_mix():
    """Flatten, Mul by a Constant, Sub an initializer, Relu, Reshape -> y; Softmax(Sigmoid(y))
    -> z. Exercises the operators the MLP examples do not, plus a rank-3 output."""
    inputs = [("x", "FLOAT", ["batch", 2, 3])]
    outputs = [("y", "FLOAT", ["batch", 3, 2]), ("z", "FLOAT", ["batch", 3, 2])]
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], name="flatten", axis=1),
        helper.make_node("Constant", [], ["scale"], name="scale",
                         value=numpy_helper.from_array(OPS_MIX_SCALE, "scale_value")),
        helper.make_node("Mul", ["flat", "scale"], ["scaled"], name="mul"),
        helper.make_node("Sub", ["scaled", "offset"], ["shifted"], name="sub"),
        helper.make_node("Relu", ["shifted"], ["rectified"], name="relu"),
        helper.make_node("Constant", [], ["target_shape"], name="target_shape",
                         value=numpy_helper.from_array(OPS_MIX_SHAPE, "target_shape_value")),
        helper.make_node("Reshape", ["rectified", "target_shape"], ["y"], name="reshape"),
        helper.make_node("Sigmoid", ["y"], ["squashed"], name="sigmoid"),
        helper.make_node("Softmax", ["squashed"], ["softmax"], name="softmax", axis=2),
        helper.make_node("Identity", ["softmax"], ["z"], name="name_z"),
    ]
    offset = numpy_helper.from_array(OPS_MIX_OFFSET, "offset")
    save_model(helper_model("ops_mix", nodes, inputs, outputs, initializers=[offset]),
               TEST_MODELS / "ops_mix" / "1" / "model.onnx", inputs, outputs)

    rows = sum(REFERENCE_BATCHES)
    x = (np.random.default_rng(OPS_MIX_SEED).standard_normal((rows, 2, 3)) * 2).astype(np.float32)
    write_reference("ops_mix", 1, {"x": x}, ops_mix_numpy)


# ---------------------------------------------------------------------------------------------
# Example requests and examples/README.md
# ---------------------------------------------------------------------------------------------


def make_requests(digits, digit_labels, credit_features):
    """The three request bodies; returns the true labels of the digits they hold."""
    # The single-digit request holds the first held-out "0", to match its id; the batch
    # request the first four held-out digits.
    zero = int(np.flatnonzero(digit_labels == 0)[0])
    write_json(EXAMPLE_REQUESTS / "mnist_mlp.json", {"id": "digit-0", "inputs": [
        {"name": "input", "shape": [1, 64], "datatype": "FP32",
         "data": float_list(digits[zero])}]})
    batch = digits[:4]
    write_json(EXAMPLE_REQUESTS / "mnist_mlp_batch.json", {
        "inputs": [{"name": "input", "shape": [4, 64], "datatype": "FP32",
                    "data": [float_list(row) for row in batch]}],
        "outputs": [{"name": "probabilities"}]})
    write_json(EXAMPLE_REQUESTS / "credit_risk.json", {
        "inputs": [{"name": "features", "shape": [2, 8], "datatype": "FP32",
                    "data": float_list(credit_features[:2])}],
        "outputs": [{"name": "probability"}]})
    return int(digit_labels[zero]), [int(v) for v in digit_labels[:4]]


EXAMPLES_README = """\
# Examples

Generated by `make models` (`tools/make_example_models.py`); do not edit by hand. `make run`
serves `models/` on port 8000.

## Models

- `models/mnist_mlp/`: a digit classifier for scikit-learn's bundled 8x8 digits (not the 28x28
  MNIST). Input `input`, FP32 `[batch, 64]`: the 64 pixel intensities (0 to 16) row by row, as
  in the data set; the model divides them by 16 itself. Output `probabilities`, FP32
  `[batch, 10]`: a softmax over the digits 0-9. Version 1 is trained for 5 epochs, version 2
  for 30 (more accurate); requests without a version go to version 2. Up to 256 rows a request.
- `models/credit_risk/`: a small scorer on synthetic tabular data (8 numeric features drawn
  around fixed means, with a known logistic relationship to a 0/1 label). Input `features`,
  FP32 `[batch, 8]`, raw values (the model standardises them). Outputs `logit` and
  `probability`, FP32 `[batch, 1]`. Up to 1024 rows a request.

## Requests

KServe V2 request bodies, made from rows the models were not trained on:

- `requests/mnist_mlp.json`: one digit (a {single_label}), flat data, with `"id": "digit-0"`.
- `requests/mnist_mlp_batch.json`: four digits ({batch_labels}, in that order) as nested data,
  asking for the `probabilities` output.
- `requests/credit_risk.json`: two rows, asking for the `probability` output only.

```sh
curl -H 'Content-Type: application/json' -d @examples/requests/mnist_mlp.json \\
     localhost:8000/v2/models/mnist_mlp/infer
curl -H 'Content-Type: application/json' -d @examples/requests/mnist_mlp_batch.json \\
     localhost:8000/v2/models/mnist_mlp/versions/1/infer
curl -H 'Content-Type: application/json' -d @examples/requests/credit_risk.json \\
     localhost:8000/v2/models/credit_risk/infer
```
"""


def write_examples_readme(single_label, batch_labels):
    text = EXAMPLES_README.format(single_label=single_label,
                                  batch_labels=", ".join(str(v) for v in batch_labels))
    write_file(REPO_ROOT / "examples" / "README.md", text.encode())


# ---------------------------------------------------------------------------------------------


def print_summary():
    print("\ngraph operators:")
    for path, ops in GRAPH_OPS.items():
        print(f"  {path.relative_to(REPO_ROOT)}: {' '.join(ops)}")
    print("\nfiles written:")
    for path in WRITTEN:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"  {path.stat().st_size:>9}  {digest}  {path.relative_to(REPO_ROOT)}")


def main():
    make_deterministic()
    digits, digit_labels = make_mnist_mlp()
    credit_features = make_credit_risk()
    make_typed_identity()
    make_unsupported_op()
    make_ops_mix()
    make_slow_chain()
    single_label, batch_labels = make_requests(digits, digit_labels, credit_features)
    write_examples_readme(single_label, batch_labels)
    print_summary()


if __name__ == "__main__":
    main()

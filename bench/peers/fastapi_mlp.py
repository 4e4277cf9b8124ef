"""The example MLP behind FastAPI + uvicorn: the peer `make bench` compares inferd with (case d).

It is the pattern the seed designs recommend for a custom model server (pydantic request and
response models, the model loaded at start-up, uvicorn with several workers), written to speak
the same KServe V2 JSON as inferd for examples/models/mnist_mlp, so that wrk can send both the
same request body. It is a benchmark peer, not part of inferd.

Run (bench/run.sh does this):
    torch.set_num_threads(1) is applied in each worker;
    /usr/bin/python3 -m uvicorn fastapi_mlp:app --app-dir bench/peers --workers 2 \
        --host 127.0.0.1 --port 8001 --no-access-log
Env: BENCH_MLP_ONNX  the ONNX file to load (default examples/models/mnist_mlp/2/model.onnx)

The network is rebuilt in torch from the ONNX file's initializers: x / 16, then three Linear
layers (64-256-256-10) with ReLU between them, then softmax, which is exactly the exported graph
(Constant, Div, Gemm, Relu, Gemm, Relu, Gemm, Softmax). Its answers match inferd's to float
rounding.
"""

import os
from pathlib import Path
from typing import List, Optional

import onnx
import torch
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from onnx import numpy_helper
from pydantic import BaseModel
from torch import nn

MODEL_NAME = "mnist_mlp"
MODEL_VERSION = "2"
DEFAULT_ONNX = (Path(__file__).resolve().parents[2] / "examples" / "models" / MODEL_NAME
                / MODEL_VERSION / "model.onnx")
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
FEATURES = 64


class MnistMlp(nn.Module):
    """x / divisor -> Linear, ReLU -> Linear, ReLU -> Linear -> softmax over the classes."""

    def __init__(self, divisor, layers):
        super().__init__()
        self.divisor = divisor
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        x = x / self.divisor
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = torch.relu(x)
        return torch.softmax(x, dim=1)


def load_mlp(path):
    """Builds MnistMlp from the ONNX file at `path`: the Div's constant and, in graph order, each
    Gemm's weight (transB=1, so stored [out, in] as nn.Linear wants) and bias."""
    graph = onnx.load(str(path)).graph
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    constants = {}
    divisor = None
    layers = []
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        elif node.op_type == "Div":
            divisor = float(constants.get(node.input[1], initializers.get(node.input[1])))
        elif node.op_type == "Gemm":
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attributes.get("transB") != 1:
                raise ValueError(f"{path}: Gemm {node.name} without transB=1")
            weight = torch.from_numpy(initializers[node.input[1]].copy())
            bias = torch.from_numpy(initializers[node.input[2]].copy())
            layer = nn.Linear(weight.shape[1], weight.shape[0])
            with torch.no_grad():
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)
            layers.append(layer)
    if divisor is None or len(layers) != 3:
        raise ValueError(f"{path}: not the Div + 3 Gemm MLP this peer rebuilds")
    return MnistMlp(divisor, layers).eval()


class InferInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InferInput]


class InferOutput(BaseModel):
    name: str
    datatype: str
    shape: List[int]
    data: List[float]


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: Optional[str] = None
    outputs: List[InferOutput]


app = FastAPI()
model = None


@app.on_event("startup")
async def load_model():
    global model
    torch.set_num_threads(1)
    model = load_mlp(os.environ.get("BENCH_MLP_ONNX") or DEFAULT_ONNX)


def bad_request(message):
    return JSONResponse(status_code=400, content={"error": message})


@app.get("/v2/health/ready")
async def ready():
    if model is None:
        return JSONResponse(status_code=503, content={"ready": False})
    return {"ready": True}


@app.post(f"/v2/models/{MODEL_NAME}/infer", response_model=InferResponse,
          response_model_exclude_none=True)
async def infer(request: InferRequest):
    if len(request.inputs) != 1 or request.inputs[0].name != INPUT_NAME:
        return bad_request(f"expected one input named '{INPUT_NAME}'")
    tensor = request.inputs[0]
    if tensor.datatype != "FP32":
        return bad_request(f"input '{INPUT_NAME}': datatype must be FP32")
    if len(tensor.shape) != 2 or tensor.shape[0] < 1 or tensor.shape[1] != FEATURES:
        return bad_request(f"input '{INPUT_NAME}': shape must be [batch, {FEATURES}]")
    if len(tensor.data) != tensor.shape[0] * FEATURES:
        return bad_request(f"input '{INPUT_NAME}': data does not match the shape")
    with torch.inference_mode():
        x = torch.tensor(tensor.data, dtype=torch.float32).reshape(tensor.shape)
        y = model(x)
    return InferResponse(
        model_name=MODEL_NAME, model_version=MODEL_VERSION, id=request.id,
        outputs=[InferOutput(name=OUTPUT_NAME, datatype="FP32", shape=list(y.shape),
                             data=y.flatten().tolist())])

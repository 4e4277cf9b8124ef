"""Server metadata, health endpoints, model metadata and model readiness."""

import re
import subprocess

import pytest

from conftest import BROKEN_MODELS, assert_json_response, require_binary

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")

MNIST_INPUTS = [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}]
MNIST_OUTPUTS = [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]
TYPE_SUFFIXES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "fp32", "fp64")


def test_server_metadata(server):
    body = assert_json_response(server.get("/v2"), 200)
    assert body["name"] == "inferd"
    assert SEMVER.match(body["version"]), body["version"]
    assert isinstance(body["extensions"], list)
    assert all(isinstance(ext, str) for ext in body["extensions"])
    # the extensions inferd implements: /stats, and priority/timeout request parameters
    assert {"statistics", "schedule_policy"} <= set(body["extensions"])


def test_server_metadata_version_matches_cli(server):
    cli = subprocess.run([str(require_binary()), "--version"], capture_output=True, text=True,
                         timeout=10)
    body = assert_json_response(server.get("/v2"), 200)
    assert cli.stdout.strip() == f"inferd {body['version']}"


@pytest.mark.parametrize("path, expected", [
    ("/v2/health/live", {"live": True}),
    ("/v2/health/ready", {"ready": True}),
    ("/health", {"status": "ok"}),
    ("/ready", {"ready": True}),
])
def test_health_endpoints(server, path, expected):
    # The repository holds broken models: they must not make the server unready.
    assert assert_json_response(server.get(path), 200) == expected


def test_mnist_metadata(server):
    body = assert_json_response(server.get("/v2/models/mnist_mlp"), 200)
    assert body["name"] == "mnist_mlp"
    assert body["versions"] == ["1", "2"]
    assert body["platform"] == "onnx"
    assert body["inputs"] == MNIST_INPUTS
    assert body["outputs"] == MNIST_OUTPUTS


@pytest.mark.parametrize("version", ["1", "2"])
def test_mnist_version_metadata(server, version):
    body = assert_json_response(server.get(f"/v2/models/mnist_mlp/versions/{version}"), 200)
    assert body["name"] == "mnist_mlp"
    assert body["versions"] == [version]
    assert body["platform"] == "onnx"
    assert body["inputs"] == MNIST_INPUTS
    assert body["outputs"] == MNIST_OUTPUTS


def test_metadata_without_version_describes_highest_version(server):
    latest = assert_json_response(server.get("/v2/models/mnist_mlp"), 200)
    v2 = assert_json_response(server.get("/v2/models/mnist_mlp/versions/2"), 200)
    assert (latest["inputs"], latest["outputs"]) == (v2["inputs"], v2["outputs"])


def test_credit_risk_metadata(server):
    body = assert_json_response(server.get("/v2/models/credit_risk"), 200)
    assert body["name"] == "credit_risk"
    assert body["versions"] == ["1"]
    assert body["platform"] == "onnx"
    assert body["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 8]}]
    assert sorted(body["outputs"], key=lambda o: o["name"]) == [
        {"name": "logit", "datatype": "FP32", "shape": [-1, 1]},
        {"name": "probability", "datatype": "FP32", "shape": [-1, 1]},
    ]


def test_typed_identity_metadata(server):
    body = assert_json_response(server.get("/v2/models/typed_identity"), 200)
    inputs = {t["name"]: t for t in body["inputs"]}
    outputs = {t["name"]: t for t in body["outputs"]}
    assert len(inputs) == len(outputs) == len(TYPE_SUFFIXES)
    for suffix in TYPE_SUFFIXES:
        datatype = suffix.upper()
        assert inputs[f"in_{suffix}"] == {"name": f"in_{suffix}", "datatype": datatype,
                                          "shape": [-1, 3]}
        assert outputs[f"out_{suffix}"] == {"name": f"out_{suffix}", "datatype": datatype,
                                            "shape": [-1, 3]}


def test_ops_mix_metadata(server):
    body = assert_json_response(server.get("/v2/models/ops_mix/versions/1"), 200)
    assert body["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 2, 3]}]
    assert sorted(body["outputs"], key=lambda o: o["name"]) == [
        {"name": "y", "datatype": "FP32", "shape": [-1, 3, 2]},
        {"name": "z", "datatype": "FP32", "shape": [-1, 3, 2]},
    ]


@pytest.mark.parametrize("model", ["mnist_mlp", "credit_risk", "typed_identity", "ops_mix"])
def test_model_ready(server, model):
    body = assert_json_response(server.get(f"/v2/models/{model}/ready"), 200)
    assert body["name"] == model
    assert body["ready"] is True


@pytest.mark.parametrize("version", ["1", "2"])
def test_model_version_ready(server, version):
    body = assert_json_response(server.get(f"/v2/models/mnist_mlp/versions/{version}/ready"), 200)
    assert body["name"] == "mnist_mlp"
    assert body["version"] == version
    assert body["ready"] is True


@pytest.mark.parametrize("model", BROKEN_MODELS)
def test_broken_model_not_ready(server, model):
    body = assert_json_response(server.get(f"/v2/models/{model}/ready"), 503)
    assert body["name"] == model
    assert body["ready"] is False
    assert isinstance(body["error"], str) and body["error"].strip()


@pytest.mark.parametrize("model", BROKEN_MODELS)
def test_broken_model_version_not_ready(server, model):
    body = assert_json_response(server.get(f"/v2/models/{model}/versions/1/ready"), 503)
    assert body["name"] == model
    assert body["version"] == "1"
    assert body["ready"] is False
    assert isinstance(body["error"], str) and body["error"].strip()

"""Successful inference: reference outputs, versions, ids, output selection, datatypes."""

import json

import numpy as np
import pytest

from conftest import (EXAMPLE_MODELS, EXAMPLE_REQUESTS, REFERENCE_NAMES, assert_json_response,
                      assert_outputs_match, case_request, flatten, load_reference, mnist_case,
                      infer_path, nest, outputs_by_name, tensor)


@pytest.mark.parametrize("layout", ["flat", "nested"])
@pytest.mark.parametrize("reference", REFERENCE_NAMES)
def test_reference_outputs(server, reference, layout):
    ref = load_reference(reference)
    model, version = ref["model"], str(ref["version"])
    assert ref["cases"], f"{reference} has no cases"
    for i, case in enumerate(ref["cases"]):
        resp = server.infer(model, case_request(case, nested=layout == "nested"), version=version)
        body = assert_json_response(resp, 200)
        assert body["model_name"] == model
        assert body["model_version"] == version
        assert set(outputs_by_name(body)) == set(case["outputs"]), f"case {i}"
        assert_outputs_match(body, case["outputs"])


def test_default_version_is_highest(server):
    case = mnist_case("2")
    body = assert_json_response(server.infer("mnist_mlp", case_request(case)), 200)
    assert body["model_version"] == "2"
    assert_outputs_match(body, case["outputs"])


def test_explicit_older_version_answers(server):
    case = mnist_case("1")
    body = assert_json_response(server.infer("mnist_mlp", case_request(case), version="1"), 200)
    assert body["model_name"] == "mnist_mlp"
    assert body["model_version"] == "1"
    assert_outputs_match(body, case["outputs"])


@pytest.mark.parametrize("request_id", ["req-42", "", "quote\" backslash\\ tab\t ünïcødé ✓"])
def test_id_is_echoed(server, request_id):
    case = mnist_case()
    resp = server.infer("mnist_mlp", case_request(case, id=request_id))
    body = assert_json_response(resp, 200)
    assert body["id"] == request_id
    assert_outputs_match(body, case["outputs"])


@pytest.mark.parametrize("requested", [["probability"], ["logit"], ["probability", "logit"],
                                       ["logit", "probability"]])
def test_requested_outputs_restrict_and_order(server, requested):
    case = load_reference("credit_risk_v1")["cases"][0]
    body = case_request(case, outputs=[{"name": name} for name in requested])
    resp_body = assert_json_response(server.infer("credit_risk", body), 200)
    assert [out["name"] for out in resp_body["outputs"]] == requested
    assert_outputs_match(resp_body, {name: case["outputs"][name] for name in requested})


def test_unknown_parameters_are_ignored(server):
    case = load_reference("credit_risk_v1")["cases"][0]
    body = case_request(case, parameters={"custom_knob": 7, "nested": {"a": [1, 2]}, "flag": True},
                        outputs=[{"name": "probability", "parameters": {"custom_option": "x"}}])
    for entry in body["inputs"]:
        entry["parameters"] = {"another_unknown": None}
    resp_body = assert_json_response(server.infer("credit_risk", body), 200)
    assert [out["name"] for out in resp_body["outputs"]] == ["probability"]
    assert_outputs_match(resp_body, {"probability": case["outputs"]["probability"]})


def test_integer_json_numbers_accepted_for_fp32(server):
    # Pixel values are whole numbers; a client may well send them without a decimal point.
    case = mnist_case()
    ref = case["inputs"]["input"]
    pixels = flatten(ref["data"])
    rounded = [float(round(v)) for v in pixels]
    integers = [int(v) for v in rounded]
    shape = ref["shape"]
    as_floats = server.infer("mnist_mlp", {"inputs": [tensor("input", "FP32", shape, rounded)]})
    as_ints = server.infer("mnist_mlp", {"inputs": [tensor("input", "FP32", shape, integers)]})
    expected = assert_json_response(as_floats, 200)["outputs"]
    assert assert_json_response(as_ints, 200)["outputs"] == expected


def test_max_batch_size_is_accepted(server):
    # mnist_mlp allows 256 rows: tile a reference case up to exactly that.
    case = mnist_case()
    ref_in, ref_out = case["inputs"]["input"], case["outputs"]["probabilities"]
    rows_in = np.asarray(flatten(ref_in["data"])).reshape(ref_in["shape"][0], 64)
    rows_out = np.asarray(flatten(ref_out["data"])).reshape(ref_out["shape"][0], 10)
    reps = -(-256 // rows_in.shape[0])
    batch_in = np.tile(rows_in, (reps, 1))[:256]
    batch_out = np.tile(rows_out, (reps, 1))[:256]
    body = {"inputs": [tensor("input", "FP32", [256, 64], batch_in.ravel().tolist())]}
    resp_body = assert_json_response(server.infer("mnist_mlp", body), 200)
    assert_outputs_match(resp_body, {"probabilities": {
        "datatype": "FP32", "shape": [256, 10], "data": batch_out.ravel().tolist()}})


# --- every request in examples/requests answers 200 ------------------------------------------

REQUEST_FILES = sorted(EXAMPLE_REQUESTS.glob("*.json"))


def model_for_request(server, path, body):
    """The example model whose input names are those of the request (the file name decides
    between candidates)."""
    names = {entry["name"] for entry in body["inputs"]}
    candidates = []
    for model_dir in sorted(p for p in EXAMPLE_MODELS.iterdir()
                            if p.is_dir() and not p.name.startswith(".")):
        meta = assert_json_response(server.get(f"/v2/models/{model_dir.name}"), 200)
        if {t["name"] for t in meta["inputs"]} == names:
            candidates.append(model_dir.name)
    assert candidates, f"{path.name}: no example model takes inputs {sorted(names)}"
    named = [m for m in candidates if path.stem.startswith(m)]
    return (named or candidates)[0]


@pytest.mark.parametrize("path", REQUEST_FILES or [None],
                         ids=lambda p: p.name if p else "missing")
def test_example_request(server, path):
    if path is None:
        pytest.fail(f"no example requests in {EXAMPLE_REQUESTS}")
    body = json.loads(path.read_text())
    model = model_for_request(server, path, body)
    resp_body = assert_json_response(server.infer(model, body), 200)
    assert resp_body["model_name"] == model
    assert resp_body["outputs"], "no outputs"
    for out in resp_body["outputs"]:
        assert len(out["data"]) == int(np.prod(out["shape"])), out["name"]


# --- typed_identity: every datatype round-trips exactly --------------------------------------

TYPED_VALUES = {
    "bool": [True, False, True, False, False, True],
    "int8": [-128, 127, 0, -1, 1, 42],
    "int16": [-32768, 32767, 0, -1, 1, 42],
    "int32": [-2147483648, 2147483647, 0, -1, 1, 42],
    "int64": [-9223372036854775808, 9223372036854775807, 0, -1, 9007199254740993,
              -9007199254740993],
    "uint8": [0, 255, 1, 128, 254, 42],
    "uint16": [0, 65535, 1, 32768, 65534, 42],
    "uint32": [0, 4294967295, 1, 2147483648, 4294967294, 42],
    "uint64": [0, 18446744073709551615, 9223372036854775808, 9007199254740993, 1, 42],
    "fp32": [3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45,
             1.1754943508222875e-38, 0.1, -2.5],
    "fp64": [1e308, 5e-324, -1e308, 2.2250738585072014e-308, 0.1, 1 / 3],
}
TYPED_SHAPE = [2, 3]


def typed_request(nested=False):
    return {"inputs": [
        tensor(f"in_{suffix}", suffix.upper(), TYPED_SHAPE,
               nest(values, TYPED_SHAPE) if nested else values)
        for suffix, values in TYPED_VALUES.items()]}


@pytest.fixture(scope="module")
def typed_outputs(server):
    resp = server.infer("typed_identity", typed_request())
    return outputs_by_name(assert_json_response(resp, 200))


@pytest.mark.parametrize("suffix", list(TYPED_VALUES))
def test_typed_round_trip(typed_outputs, suffix):
    sent = TYPED_VALUES[suffix]
    out = typed_outputs[f"out_{suffix}"]
    assert out["datatype"] == suffix.upper()
    assert out["shape"] == TYPED_SHAPE
    got = out["data"]
    assert len(got) == len(sent)
    if suffix == "bool":
        assert all(isinstance(v, bool) for v in got), f"not JSON booleans: {got}"
        assert got == sent
    elif suffix.startswith(("int", "uint")):
        assert all(type(v) is int for v in got), f"not JSON integers: {got}"
        assert got == sent
    elif suffix == "fp32":
        assert np.array_equal(np.asarray(got, dtype=np.float32), np.asarray(sent, dtype=np.float32))
    else:
        assert all(isinstance(v, (int, float)) for v in got)
        assert [float(v) for v in got] == sent


def test_typed_nested_data_equals_flat(server, typed_outputs):
    resp = server.infer("typed_identity", typed_request(nested=True))
    nested_outputs = outputs_by_name(assert_json_response(resp, 200))
    assert nested_outputs == typed_outputs


def test_http2_cleartext(server):
    """The same inference over HTTP/2 (prior knowledge, as gRPC-style clients connect)."""
    import shutil
    import subprocess
    curl = shutil.which("curl")
    assert curl, "curl is needed (scripts/install-deps.sh test installs it)"
    body = json.dumps(case_request(mnist_case("2")))
    result = subprocess.run(
        [curl, "-s", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}",
         "-H", "Content-Type: application/json", "--data-binary", body,
         server.url + infer_path("mnist_mlp")], capture_output=True, text=True, timeout=30)
    payload, _, status_line = result.stdout.rpartition("\n")
    assert status_line == "2 200", result.stdout[-300:]
    answer = json.loads(payload)
    assert answer["model_version"] == "2"
    assert_outputs_match(answer, mnist_case("2")["outputs"])

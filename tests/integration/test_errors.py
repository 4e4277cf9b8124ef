"""Requests that must be refused: status, a JSON body {"error": "..."} naming the culprit, and a
server that keeps serving afterwards."""

import json
import random
import socket
import time

import pytest
import requests

from conftest import (BROKEN_MODELS, EXAMPLE_MODELS, SANITIZED, assert_error,
                      assert_json_response, assert_serves_mnist, case_request, connect,
                      http_request_bytes, mnist_case, read_http_response, tensor)


def ones(name, shape, datatype="FP32", data=None):
    count = 1
    for dim in shape:
        count *= dim
    return tensor(name, datatype, shape, [1.0] * count if data is None else data)


def mnist_input(shape=(1, 64), datatype="FP32", data=None, name="input"):
    return ones(name, shape, datatype, data)


def mnist_body(*inputs, **extra):
    return {"inputs": list(inputs) or [mnist_input()], **extra}


def features(shape=(1, 8), datatype="FP32", data=None):
    """credit_risk's input: its name ("features") is distinctive enough to look for in errors."""
    return ones("features", shape, datatype, data)


def credit_infer(server, *inputs, **extra):
    return server.infer("credit_risk", {"inputs": list(inputs), **extra})


# --- the body is not an infer request -------------------------------------------------------

@pytest.mark.parametrize("raw", [b"{", b'{"inputs": [', b"not json", b'{"inputs": []}}', b"",
                                 b'{"inputs": [{"name": "input",}]}'],
                         ids=["open-brace", "truncated", "text", "trailing", "empty", "comma"])
def test_malformed_json(server, raw):
    assert_error(server.infer("mnist_mlp", raw), 400)


@pytest.mark.parametrize("raw", [b"[]", b'"inputs"', b"42", b"null", b"true"])
def test_json_not_an_object(server, raw):
    assert_error(server.infer("mnist_mlp", raw), 400)


@pytest.mark.parametrize("body", [{}, {"id": "x"}, {"inputs": {}}, {"inputs": "input"},
                                  {"inputs": None}, {"inputs": [42]}],
                         ids=["empty", "id-only", "object", "string", "null", "number-entry"])
def test_inputs_missing_or_not_a_list(server, body):
    assert_error(server.infer("mnist_mlp", body), 400)


# --- unknown models, versions, paths, methods ----------------------------------------------

@pytest.mark.parametrize("path", ["/v2/models/no_such_model", "/v2/models/no_such_model/ready",
                                  "/v2/models/no_such_model/versions/1"])
def test_unknown_model_get(server, path):
    assert_error(server.get(path), 404, "no_such_model")


def test_unknown_model_infer(server):
    assert_error(server.infer("no_such_model", mnist_body()), 404, "no_such_model")


@pytest.mark.parametrize("path", ["/v2/models/mnist_mlp/versions/3",
                                  "/v2/models/mnist_mlp/versions/3/ready"])
def test_unknown_version_get(server, path):
    assert_error(server.get(path), 404)


def test_unknown_version_infer(server):
    assert_error(server.infer("mnist_mlp", mnist_body(), version="3"), 404)


@pytest.mark.parametrize("version", ["latest", "1x", "-1", "01a"])
def test_non_numeric_version(server, version):
    resp = server.infer("mnist_mlp", mnist_body(), version=version)
    assert resp.status_code in (400, 404), resp.text
    assert_error(resp, resp.status_code)


@pytest.mark.parametrize("path", ["/nope", "/v2/modelz", "/v2/health/alive",
                                  "/v2/models/mnist_mlp/infer/extra"])
def test_unknown_path(server, path):
    assert_error(server.get(path), 404)


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/v2/models/mnist_mlp/infer", "POST"),
    ("GET", "/v2/models/mnist_mlp/versions/1/infer", "POST"),
    ("POST", "/v2/health/live", "GET"),
    ("DELETE", "/v2/models/mnist_mlp", "GET"),
    ("PUT", "/v2", "GET"),
])
def test_wrong_method(server, method, path, allowed):
    resp = requests.request(method, server.url + path, timeout=10)
    assert_error(resp, 405)
    assert "Allow" in resp.headers, dict(resp.headers)
    assert allowed in [m.strip() for m in resp.headers["Allow"].split(",")]


# --- inputs that do not fit the model ------------------------------------------------------

@pytest.mark.parametrize("datatype", ["INT32", "FP64", "BOOL"])
def test_wrong_datatype(server, datatype):
    data = [True] * 8 if datatype == "BOOL" else [1] * 8
    assert_error(credit_infer(server, features(datatype=datatype, data=data)), 400, "features")


def test_bytes_not_supported(server):
    body = mnist_body(mnist_input(datatype="BYTES", data=["a"] * 64))
    message = assert_error(server.infer("mnist_mlp", body), 400)
    assert "not supported" in message


@pytest.mark.parametrize("shape", [[1, 9], [1, 7], [1, 1, 8], [8], [1, 8, 1]])
def test_wrong_shape(server, shape):
    assert_error(credit_infer(server, features(shape=shape)), 400, "features")


def test_mnist_wrong_shape(server):
    assert_error(server.infer("mnist_mlp", mnist_body(mnist_input(shape=[1, 65]))), 400, "input")


@pytest.mark.parametrize("count", [0, 7, 9, 16])
def test_element_count_not_matching_shape(server, count):
    body = features(shape=[1, 8], data=[1.0] * count)
    assert_error(credit_infer(server, body), 400, "features")


def test_nested_data_not_matching_shape(server):
    body = features(shape=[2, 8], data=[[1.0] * 8, [1.0] * 7])
    assert_error(credit_infer(server, body), 400, "features")


@pytest.mark.parametrize("data", [
    [[1.0] * 4, 1.0, 1.0, 1.0, 1.0],
    [1.0, [1.0], 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
], ids=["list-then-numbers", "one-wrapped"])
def test_data_mixing_numbers_and_lists(server, data):
    # Eight numbers, but at mixed depths: neither flat nor nested lists of shape [1, 8].
    assert_error(credit_infer(server, features(shape=[1, 8], data=data)), 400, "features")


def test_missing_input(server):
    assert_error(credit_infer(server), 400, "features")


def test_missing_one_of_several_inputs(server):
    inputs = [tensor(f"in_{t}", t.upper(), [1, 3], [1, 2, 3])
              for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                        "fp32", "fp64")]  # in_bool left out
    assert_error(server.infer("typed_identity", {"inputs": inputs}), 400, "in_bool")


def test_unknown_input(server):
    body = mnist_body(mnist_input(), mnist_input(name="bogus_input"))
    assert_error(server.infer("mnist_mlp", body), 400, "bogus_input")


def test_duplicate_input(server):
    assert_error(credit_infer(server, features(), features()), 400, "features")


def test_unknown_requested_output(server):
    body = mnist_body(outputs=[{"name": "probabilities"}, {"name": "bogus_output"}])
    assert_error(server.infer("mnist_mlp", body), 400, "bogus_output")


def test_batch_above_max_batch_size(server):
    assert_error(server.infer("mnist_mlp", mnist_body(mnist_input(shape=[257, 64]))), 400)


def test_zero_batch(server):
    resp = server.infer("mnist_mlp", mnist_body(mnist_input(shape=[0, 64], data=[])))
    if resp.status_code == 200:
        out = assert_json_response(resp, 200)["outputs"][0]
        assert (out["shape"], out["data"]) == ([0, 10], [])
    else:
        assert_error(resp, 400)


@pytest.mark.parametrize("shape", [[-1, 64], [1, -64], "1,64", [1.5, 64], ["1", 64], None,
                                   [[1], 64], [True, 64], 64])
def test_invalid_shape(server, shape):
    entry = tensor("input", "FP32", [1, 64], [1.0] * 64)
    entry["shape"] = shape
    assert_error(server.infer("mnist_mlp", {"inputs": [entry]}), 400)


@pytest.mark.parametrize("missing", ["name", "shape", "datatype", "data"])
def test_input_field_missing(server, missing):
    entry = tensor("input", "FP32", [1, 64], [1.0] * 64)
    del entry[missing]
    assert_error(server.infer("mnist_mlp", {"inputs": [entry]}), 400)


@pytest.mark.parametrize("datatype", ["FLOAT", "fp32", "", "FP33"])
def test_unknown_datatype(server, datatype):
    assert_error(server.infer("mnist_mlp", mnist_body(mnist_input(datatype=datatype))), 400)


# --- values that do not fit the datatype (typed_identity) ---------------------------------

TYPED_OK = {"bool": [True, False, True], "int8": [1, 2, 3], "int16": [1, 2, 3],
            "int32": [1, 2, 3], "int64": [1, 2, 3], "uint8": [1, 2, 3], "uint16": [1, 2, 3],
            "uint32": [1, 2, 3], "uint64": [1, 2, 3], "fp32": [1.0, 2.0, 3.0],
            "fp64": [1.0, 2.0, 3.0]}


@pytest.mark.parametrize("suffix, bad", [
    ("int8", 128), ("int8", -129), ("uint8", -1), ("uint8", 256), ("int16", 32768),
    ("uint16", 65536), ("int32", 2147483648), ("uint32", -1), ("uint32", 4294967296),
    ("int64", 9223372036854775808), ("int64", -9223372036854775809), ("uint64", -1),
    ("uint64", 18446744073709551616), ("int32", 1.5), ("int64", 1.5), ("uint8", 0.5),
    ("int16", "7"), ("int8", None), ("uint64", {}), ("bool", 1), ("bool", 0), ("bool", "true"),
    ("bool", None), ("fp32", "1.0"), ("fp64", None), ("fp32", True),
], ids=lambda value: value if isinstance(value, str) and value in TYPED_OK else repr(value))
def test_value_not_of_datatype(server, suffix, bad):
    inputs = []
    for name, values in TYPED_OK.items():
        data = [values[0], bad, values[2]] if name == suffix else values
        inputs.append(tensor(f"in_{name}", name.upper(), [1, 3], data))
    assert_error(server.infer("typed_identity", {"inputs": inputs}), 400, f"in_{suffix}")


# --- body size limit ------------------------------------------------------------------------

def test_body_over_max_body_bytes(launch):
    small = launch(EXAMPLE_MODELS, "--max-body-bytes", "4096")
    big_body = b'{"inputs": [' + b" " * (10 * 1024) + b"]}"
    assert_error(small.infer("mnist_mlp", big_body), 413)
    assert_serves_mnist(small)  # about 1 KB: under the limit
    code = small.stop()
    assert code == 0, small.stderr_text()


# --- models that failed to load -------------------------------------------------------------

@pytest.mark.parametrize("model", BROKEN_MODELS)
def test_broken_model_metadata(server, model):
    assert_error(server.get(f"/v2/models/{model}"), 503)


def test_broken_model_metadata_gives_reason(server):
    assert_error(server.get("/v2/models/unsupported_op"), 503, "FrobnicateOp")


@pytest.mark.parametrize("model", BROKEN_MODELS)
def test_broken_model_infer(server, model):
    assert_error(server.infer(model, case_request(mnist_case())), 503)


# --- robustness: hostile clients ------------------------------------------------------------

def test_client_disconnects_mid_body(server):
    with connect(server) as sock:
        sock.sendall(b"POST /v2/models/mnist_mlp/infer HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        sock.sendall(b'{"inputs": [' + b" " * 88)
    time.sleep(0.1)
    assert_serves_mnist(server)


def test_garbage_bytes(server):
    rng = random.Random(1234)
    for size in (16, 4096, 65536):
        with connect(server) as sock:
            try:
                sock.sendall(bytes(rng.getrandbits(8) for _ in range(size)))
                sock.settimeout(2)
                sock.recv(4096)  # a 400 or a close: either is fine, as long as it survives
            except (ConnectionError, socket.timeout):
                pass
    assert_serves_mnist(server)


def test_client_leaves_without_reading_response(server):
    batch = {"inputs": [mnist_input(shape=[256, 64])]}
    raw = http_request_bytes("POST", "/v2/models/mnist_mlp/infer", json.dumps(batch).encode())
    for _ in range(20):
        with connect(server) as sock:
            sock.sendall(raw)
    assert_serves_mnist(server)


def test_client_half_closes_after_request(server):
    raw = http_request_bytes("POST", "/v2/models/mnist_mlp/infer",
                             json.dumps(case_request(mnist_case())).encode())
    with connect(server) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        status, _, _ = read_http_response(sock)
    assert status == 200
    assert_serves_mnist(server)


def test_invalid_utf8_in_string(server):
    body = b'{"id": "bad \xff\xfe utf8", "inputs": [{"name": "input", "shape": [1, 64], ' \
           b'"datatype": "FP32", "data": [' + b", ".join([b"1.0"] * 64) + b"]}]}"
    assert_error(server.infer("mnist_mlp", body), 400)
    assert_serves_mnist(server)


# A hostile body is refused promptly: parsing it must not hold an event-loop thread for long.
HOSTILE_BODY_SECONDS = 4.0 if SANITIZED else 1.0
DEPTH = 100000


def assert_refused_promptly(server, body):
    started = time.monotonic()
    try:
        resp = server.infer("mnist_mlp", body, timeout=3 * HOSTILE_BODY_SECONDS)
    except requests.Timeout:
        pytest.fail(f"{len(body)} bytes not answered within {3 * HOSTILE_BODY_SECONDS} s")
    elapsed = time.monotonic() - started
    assert_error(resp, 400)
    assert elapsed < HOSTILE_BODY_SECONDS, f"{len(body)} bytes took {elapsed:.2f} s to refuse"


@pytest.mark.parametrize("body", [
    b'{"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": '
    + b"[" * DEPTH + b"]" * DEPTH + b"}]}",
    b"[" * DEPTH,
    b"[" * DEPTH + b"]" * DEPTH,
    b'{"a": ' * DEPTH + b"1" + b"}" * DEPTH,
], ids=["arrays-in-data", "unclosed-arrays", "closed-arrays", "objects"])
def test_deep_nesting(server, body):
    assert_refused_promptly(server, body)
    assert_serves_mnist(server)


def test_megabyte_of_brackets_and_digits(server):
    rng = random.Random(99)
    body = "".join(rng.choice("[[[0123456789") for _ in range(1 << 20)).encode()
    assert_refused_promptly(server, body)
    assert_serves_mnist(server)


@pytest.mark.parametrize("huge", ["1e999", "-1e999", "123e400"])
def test_huge_number_for_fp32(server, huge):
    values = ", ".join(["1.0"] * 7 + [huge])
    body = ('{"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": [%s]}]}'
            % values).encode()
    assert_error(server.infer("credit_risk", body), 400, "features")
    assert_serves_mnist(server)

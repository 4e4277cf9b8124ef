"""The /v1 prediction APIs: TF Serving's REST :predict (row and columnar formats) and metadata,
and POST /v1/models/{m}/predict. Every answer is compared value for value with what the V2 infer
path answers for the same rows; errors are JSON, say where the input is wrong, and are counted;
requests to a version with a scheduler take the queued path and answer the same."""

import json
import shutil
import threading

import numpy as np
import pytest

from conftest import (EXAMPLE_MODELS, TEST_MODELS, assert_error, assert_json_response, flatten,
                      load_reference, nest, start_server, tensor)

MNIST_ROWS = [row for case in load_reference("mnist_mlp_v2")["cases"]
              for row in nest(flatten(case["inputs"]["input"]["data"]),
                              case["inputs"]["input"]["shape"])]
CREDIT_ROWS = [row for case in load_reference("credit_risk_v1")["cases"]
               for row in nest(flatten(case["inputs"]["features"]["data"]),
                               case["inputs"]["features"]["shape"])]
OPS_ROWS = [row for case in load_reference("ops_mix_v1")["cases"]
            for row in nest(flatten(case["inputs"]["x"]["data"]), case["inputs"]["x"]["shape"])]

TYPED = {  # input suffix -> three rows of three values, at each datatype's limits
    "bool": [[True, False, True], [False, False, True], [True, True, False]],
    "int8": [[-128, 127, 0], [-1, 1, 42], [5, 6, 7]],
    "int16": [[-32768, 32767, 0], [-1, 1, 42], [5, 6, 7]],
    "int32": [[-2147483648, 2147483647, 0], [-1, 1, 42], [5, 6, 7]],
    "int64": [[-9223372036854775808, 9223372036854775807, 0], [9007199254740993, -1, 42],
              [5, 6, 7]],
    "uint8": [[0, 255, 1], [128, 254, 42], [5, 6, 7]],
    "uint16": [[0, 65535, 1], [32768, 65534, 42], [5, 6, 7]],
    "uint32": [[0, 4294967295, 1], [2147483648, 4294967294, 42], [5, 6, 7]],
    "uint64": [[0, 18446744073709551615, 9223372036854775808], [9007199254740993, 1, 42],
               [5, 6, 7]],
    "fp32": [[3.4028234663852886e38, -2.5, 1.401298464324817e-45], [0.1, 1, -7], [5, 6, 7]],
    "fp64": [[1e308, 5e-324, -1e308], [0.1, 1 / 3, 2], [5, 6, 7]],
}


def predict_path(model, version=None, label=None):
    if label is not None:
        return f"/v1/models/{model}/labels/{label}:predict"
    if version is not None:
        return f"/v1/models/{model}/versions/{version}:predict"
    return f"/v1/models/{model}:predict"


def tfs(server, model, body, version=None, label=None, status=200):
    resp = server.post(predict_path(model, version, label), json=body)
    return resp, assert_json_response(resp, status)


def v2_answer(server, model, inputs, version=None):
    """The V2 path's outputs for `inputs` {name: (datatype, rows)}: {name: nested value}, and
    the version that answered."""
    body = {"inputs": [tensor(name, datatype, shape_of(rows), flatten(rows))
                       for name, (datatype, rows) in inputs.items()]}
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    resp = server.post(path, json=body)
    answer = assert_json_response(resp, 200)
    assert resp.headers["X-Model-Version"] == answer["model_version"]
    return ({out["name"]: nest(out["data"], out["shape"]) for out in answer["outputs"]},
            answer["model_version"])


def shape_of(value):
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def counters(server, model, version):
    """inferd_requests_total of one version by outcome."""
    counts = {}
    for line in server.get("/metrics").text.splitlines():
        if line.startswith("inferd_requests_total{") and f'model="{model}"' in line \
                and f'version="{version}"' in line:
            outcome = line.split('outcome="')[1].split('"')[0]
            counts[outcome] = float(line.rsplit(" ", 1)[1])
    return counts


# --- TF Serving row and columnar formats, against the V2 path ---------------------------------


@pytest.mark.parametrize("version", [None, "1", "2"])
def test_rows_of_a_single_input_single_output_model(server, version):
    expected, answered = v2_answer(server, "mnist_mlp", {"input": ("FP32", MNIST_ROWS)}, version)
    resp, body = tfs(server, "mnist_mlp", {"instances": MNIST_ROWS}, version)
    assert body == {"predictions": expected["probabilities"]}
    assert resp.headers["X-Model-Version"] == answered == (version or "2")


def test_columns_of_a_single_input_single_output_model(server):
    expected, _ = v2_answer(server, "mnist_mlp", {"input": ("FP32", MNIST_ROWS)})
    _, body = tfs(server, "mnist_mlp", {"inputs": MNIST_ROWS})
    assert body == {"outputs": expected["probabilities"]}
    _, named = tfs(server, "mnist_mlp", {"inputs": {"input": MNIST_ROWS},
                                         "signature_name": "serving_default"})
    assert named == body


def test_named_instances_of_a_single_input_model(server):
    expected, _ = v2_answer(server, "mnist_mlp", {"input": ("FP32", MNIST_ROWS[:2])})
    _, body = tfs(server, "mnist_mlp", {"instances": [{"input": row} for row in MNIST_ROWS[:2]]})
    assert body == {"predictions": expected["probabilities"]}


@pytest.mark.parametrize("model,name,rows", [("credit_risk", "features", CREDIT_ROWS),
                                             ("ops_mix", "x", OPS_ROWS)])
def test_several_outputs_give_objects_per_row_and_per_column(server, model, name, rows):
    expected, _ = v2_answer(server, model, {name: ("FP32", rows)})
    assert len(expected) == 2
    _, body = tfs(server, model, {"instances": rows})
    assert body == {"predictions": [{out: value[i] for out, value in expected.items()}
                                    for i in range(len(rows))]}
    assert list(body["predictions"][0]) == list(expected)  # signature order
    _, columns = tfs(server, model, {"inputs": rows})
    assert columns == {"outputs": expected}


def typed_rows():
    return [{f"in_{s}": TYPED[s][i] for s in TYPED} for i in range(3)]


def test_multi_input_rows_convert_every_datatype(server):
    expected, _ = v2_answer(server, "typed_identity",
                            {f"in_{s}": (s.upper(), rows) for s, rows in TYPED.items()})
    _, body = tfs(server, "typed_identity", {"instances": typed_rows()})
    predictions = body["predictions"]
    assert len(predictions) == 3
    for i, row in enumerate(predictions):
        assert row == {out: value[i] for out, value in expected.items()}
    # the identity model hands back what was sent, exactly (integers stay integers)
    for suffix in TYPED:
        got = [row[f"out_{suffix}"] for row in predictions]
        if suffix == "bool":
            assert got == TYPED[suffix] and all(isinstance(v, bool) for r in got for v in r)
        elif suffix.startswith(("int", "uint")):
            assert got == TYPED[suffix] and all(type(v) is int for r in got for v in r)
    assert predictions[1]["out_fp64"][1] == 1 / 3


def test_multi_input_columns_convert_every_datatype(server):
    expected, _ = v2_answer(server, "typed_identity",
                            {f"in_{s}": (s.upper(), rows) for s, rows in TYPED.items()})
    _, body = tfs(server, "typed_identity", {"inputs": {f"in_{s}": TYPED[s] for s in TYPED}})
    assert body == {"outputs": expected}


def test_whole_numbers_are_accepted_for_float_inputs(server):
    rows = [[float(round(v)) for v in MNIST_ROWS[0]]]
    _, as_floats = tfs(server, "mnist_mlp", {"instances": rows})
    _, as_ints = tfs(server, "mnist_mlp", {"instances": [[int(v) for v in rows[0]]]})
    assert as_ints == as_floats


def test_label_routes(server):
    resp = server.post(predict_path("mnist_mlp", label="stable"), json={"instances": MNIST_ROWS})
    if resp.status_code == 404 and "label" in resp.json().get("error", ""):
        pytest.skip(f"labels are not served yet: {resp.json()['error']}")
    body = assert_json_response(resp, 200)
    expected, _ = v2_answer(server, "mnist_mlp", {"input": ("FP32", MNIST_ROWS)}, "2")
    assert body == {"predictions": expected["probabilities"]}
    assert resp.headers["X-Model-Version"] == "2"


def test_unknown_label_is_a_json_404(server):
    resp = server.post(predict_path("mnist_mlp", label="no_such_label"),
                       json={"instances": MNIST_ROWS[:1]})
    assert_error(resp, 404, "no_such_label")
    meta = server.get("/v1/models/mnist_mlp/labels/no_such_label/metadata")
    assert_error(meta, 404, "no_such_label")


def test_v2_infer_answers_carry_the_version_header(server):
    body = {"inputs": [tensor("input", "FP32", [1, 64], MNIST_ROWS[0])]}
    for path, version in (("/v2/models/mnist_mlp/infer", "2"),
                          ("/v2/models/mnist_mlp/versions/1/infer", "1")):
        resp = server.post(path, json=body)
        assert assert_json_response(resp, 200)["model_version"] == version
        assert resp.headers["X-Model-Version"] == version
    bad = server.post("/v2/models/mnist_mlp/versions/1/infer", json={"inputs": 3})
    assert_error(bad, 400)
    assert bad.headers["X-Model-Version"] == "1"


# --- models without a batch dimension take exactly their shape --------------------------------


@pytest.fixture(scope="module")
def unbatched(tmp_path_factory):
    """ops_mix with max_batch_size 0 and input shape [1, 2, 3]."""
    root = tmp_path_factory.mktemp("unbatched-repo")
    shutil.copytree(TEST_MODELS / "ops_mix", root / "ops_mix")
    (root / "ops_mix" / "config.json").write_text(json.dumps({
        "max_batch_size": 0,
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [1, 2, 3]}],
        "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [1, 3, 2]},
                   {"name": "z", "data_type": "TYPE_FP32", "dims": [1, 3, 2]}]}))
    srv = start_server(root)
    yield srv
    srv.kill()


def test_unbatched_model_takes_exactly_its_shape(unbatched):
    expected, _ = v2_answer(unbatched, "ops_mix", {"x": ("FP32", OPS_ROWS[:1])})
    _, body = tfs(unbatched, "ops_mix", {"instances": OPS_ROWS[:1]})
    assert body == {"predictions": [{name: value[0] for name, value in expected.items()}]}
    _, columns = tfs(unbatched, "ops_mix", {"inputs": OPS_ROWS[:1]})
    assert columns == {"outputs": expected}
    resp = unbatched.post(predict_path("ops_mix"), json={"instances": OPS_ROWS[:2]})
    assert_error(resp, 400, "\"instances\" has 2 items but input 'x' takes exactly 1 (shape [1,2,3])")
    resp = unbatched.post(predict_path("ops_mix"), json={"inputs": OPS_ROWS[:2]})
    assert_error(resp, 400, "inputs has 2 lists, expected 1")


# --- errors -----------------------------------------------------------------------------------

ROW_ERRORS = [
    ("mnist_mlp", {"instances": MNIST_ROWS[:3] + [MNIST_ROWS[3][:63]]},
     "instances[3] has 63 values, expected 64 (input 'input' has shape [-1,64])"),
    ("mnist_mlp", {"instances": [MNIST_ROWS[0], 0.5]},
     "instances[1] is a number, expected a list of 64 values"),
    ("mnist_mlp", {"instances": [MNIST_ROWS[0][:5] + [[1]] + MNIST_ROWS[0][6:]]},
     "instances[0][5] is a list where input 'input' (shape [-1,64]) has a single value"),
    ("mnist_mlp", {"instances": [MNIST_ROWS[0][:7] + ["x"] + MNIST_ROWS[0][8:]]},
     "instances[0][7] is not a valid FP32 for input 'input': a string"),
    ("mnist_mlp", {"inputs": [MNIST_ROWS[0], MNIST_ROWS[1][:10]]},
     "inputs[1] has 10 values, expected 64"),
    ("mnist_mlp", {"instances": []}, "\"instances\" is empty"),
    ("mnist_mlp", {"instances": MNIST_ROWS[:1], "inputs": MNIST_ROWS[:1]}, "not both"),
    ("mnist_mlp", {"rows": MNIST_ROWS[:1]}, "needs \"instances\""),
    ("mnist_mlp", {"instances": MNIST_ROWS[:1], "signature_name": "classify"},
     "signature_name 'classify' is not a signature"),
    ("mnist_mlp", {"instances": [{"input": MNIST_ROWS[0], "extra": 1}]},
     "instances[0] has unknown input 'extra'"),
    ("mnist_mlp", {"instances": [MNIST_ROWS[0]] * 257}, "max_batch_size 256"),
    ("credit_risk", {"instances": [CREDIT_ROWS[0], CREDIT_ROWS[1][:7]]},
     "instances[1] has 7 values, expected 8"),
    ("ops_mix", {"instances": [[[1, 2, 3], [4, 5]]]},
     "instances[0][1] has 2 values, expected 3 (input 'x' has shape [-1,2,3])"),
    ("typed_identity", {"instances": [[1, 2, 3]]},
     "the model takes 11 inputs ('in_bool', 'in_int8'"),
    ("typed_identity", {"instances": [{**typed_rows()[0], "in_int8": [1, 128, 3]}]},
     "instances[0].in_int8[1] is not a valid INT8 for input 'in_int8': 128 (whole numbers"),
    ("typed_identity", {"instances": [{**typed_rows()[0], "in_uint16": [1, -1, 3]}]},
     "instances[0].in_uint16[1] is not a valid UINT16"),
    ("typed_identity", {"instances": [{**typed_rows()[0], "in_int32": [1, 2.5, 3]}]},
     "instances[0].in_int32[1] is not a valid INT32"),
    ("typed_identity", {"instances": [{**typed_rows()[0], "in_bool": [1, 0, 1]}]},
     "instances[0].in_bool[0] is not a valid BOOL for input 'in_bool': 1 (use true or false)"),
    ("typed_identity", {"instances": [{k: v for k, v in typed_rows()[0].items()
                                       if k != "in_fp64"}]},
     "instances[0] has no input 'in_fp64'"),
    ("typed_identity", {"inputs": {f"in_{s}": TYPED[s] for s in TYPED if s != "bool"}},
     "\"inputs\" has no input 'in_bool'"),
]


@pytest.mark.parametrize("model,body,message", ROW_ERRORS,
                         ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(ROW_ERRORS)])
def test_bad_input_is_a_400_saying_where(server, model, body, message):
    resp = server.post(predict_path(model), json=body)
    assert_error(resp, 400, message)
    assert resp.headers["X-Model-Version"] == "1" if model != "mnist_mlp" else "2"
    assert server.alive()


def test_bad_bodies_and_unknown_names(server):
    resp = server.post(predict_path("mnist_mlp"), data=b"{\"instances\": [1,",
                       headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "JSON")
    resp = server.post(predict_path("mnist_mlp"), data=b"{}", headers={"Content-Type": "image/png"})
    assert_error(resp, 415, "application/json")
    assert_error(server.post(predict_path("no_such_model"), json={"instances": [[1]]}), 404,
                 "no_such_model")
    assert_error(server.post(predict_path("mnist_mlp", version="9"), json={"instances": [[1]]}),
                 404, "9")
    assert_error(server.post(predict_path("truncated_mlp"), json={"instances": [[1]]}), 503)
    assert_error(server.put(predict_path("mnist_mlp"), json={}), 405, "POST")
    assert server.alive()


def test_errors_are_counted_as_bad_requests(launch):
    srv = launch(EXAMPLE_MODELS)
    before = counters(srv, "mnist_mlp", "2")
    good = {"instances": MNIST_ROWS[:2]}
    for _ in range(4):
        assert srv.post(predict_path("mnist_mlp"), json=good).status_code == 200
    for _ in range(3):
        assert srv.post(predict_path("mnist_mlp"), json={"instances": [[1, 2]]}).status_code == 400
    assert srv.post("/v1/models/mnist_mlp/predict", json=good).status_code == 200
    assert srv.post("/v1/models/mnist_mlp/predict", json={"instances": 1}).status_code == 400
    assert srv.post("/v1/models/mnist_mlp/predict", data=b"not json").status_code == 400
    after = counters(srv, "mnist_mlp", "2")
    assert after["success"] - before.get("success", 0) == 5
    assert after["bad_request"] - before.get("bad_request", 0) == 5
    assert counters(srv, "mnist_mlp", "1").get("bad_request", 0) == 0


# --- metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path,version", [("/v1/models/mnist_mlp/metadata", "2"),
                                          ("/v1/models/mnist_mlp/versions/1/metadata", "1")])
def test_metadata_in_tf_serving_shape(server, path, version):
    resp = server.get(path)
    body = assert_json_response(resp, 200)
    assert resp.headers["X-Model-Version"] == version
    assert body["model_spec"] == {"name": "mnist_mlp", "signature_name": "", "version": version}
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"] == {"input": {
        "dtype": "DT_FLOAT", "name": "input", "tensor_shape": {
            "dim": [{"size": "-1", "name": ""}, {"size": "64", "name": ""}],
            "unknown_rank": False}}}
    assert signature["outputs"]["probabilities"]["tensor_shape"]["dim"][1]["size"] == "10"


def test_metadata_datatypes_and_unknowns(server):
    body = assert_json_response(server.get("/v1/models/typed_identity/metadata"), 200)
    inputs = body["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert {name: info["dtype"] for name, info in inputs.items()} == {
        "in_bool": "DT_BOOL", "in_int8": "DT_INT8", "in_int16": "DT_INT16",
        "in_int32": "DT_INT32", "in_int64": "DT_INT64", "in_uint8": "DT_UINT8",
        "in_uint16": "DT_UINT16", "in_uint32": "DT_UINT32", "in_uint64": "DT_UINT64",
        "in_fp32": "DT_FLOAT", "in_fp64": "DT_DOUBLE"}
    assert_error(server.get("/v1/models/no_such_model/metadata"), 404, "no_such_model")
    assert_error(server.get("/v1/models/mnist_mlp/versions/7/metadata"), 404, "7")


# --- POST /v1/models/{m}/predict --------------------------------------------------------------


def v1_predict(server, model, body, status=200):
    resp = server.post(f"/v1/models/{model}/predict", json=body)
    return resp, assert_json_response(resp, status)


def test_predict_answers_rows_with_name_version_latency_and_id(server):
    expected, _ = v2_answer(server, "mnist_mlp", {"input": ("FP32", MNIST_ROWS)})
    resp, body = v1_predict(server, "mnist_mlp", {"instances": MNIST_ROWS})
    assert list(body) == ["predictions", "model_name", "model_version", "latency_ms",
                          "request_id"]
    assert body["predictions"] == expected["probabilities"]
    assert body["model_name"] == "mnist_mlp" and body["model_version"] == "2"
    assert resp.headers["X-Model-Version"] == "2"
    assert isinstance(body["latency_ms"], float) and 0 <= body["latency_ms"] < 10000
    ids = {v1_predict(server, "mnist_mlp", {"instances": MNIST_ROWS[:1]})[1]["request_id"]
           for _ in range(20)} | {body["request_id"]}
    assert len(ids) == 21 and all(isinstance(i, str) and len(i) == 36 for i in ids)


@pytest.mark.parametrize("field,value", [("request_id", "req-7"), ("id", "abc ✓"),
                                         ("request_id", 12345)])
def test_predict_echoes_the_request_id(server, field, value):
    _, body = v1_predict(server, "mnist_mlp", {"instances": MNIST_ROWS[:1], field: value})
    assert body["request_id"] == str(value)


@pytest.mark.parametrize("version", ["1", 1, "2", "stable"])
def test_predict_version_from_the_body(server, version):
    resp = server.post("/v1/models/mnist_mlp/predict",
                       json={"instances": MNIST_ROWS[:2], "version": version})
    if version == "stable" and resp.status_code == 404:
        pytest.skip(f"labels are not served yet: {resp.json().get('error')}")
    body = assert_json_response(resp, 200)
    answered = "2" if version == "stable" else str(version)
    expected, _ = v2_answer(server, "mnist_mlp", {"input": ("FP32", MNIST_ROWS[:2])}, answered)
    assert body["model_version"] == answered == resp.headers["X-Model-Version"]
    assert body["predictions"] == expected["probabilities"]


def test_predict_multi_output_and_multi_input(server):
    expected, _ = v2_answer(server, "credit_risk", {"features": ("FP32", CREDIT_ROWS)})
    _, body = v1_predict(server, "credit_risk", {"instances": CREDIT_ROWS,
                                                 "parameters": {"anything": [1, 2]}})
    assert body["predictions"] == [{out: value[i] for out, value in expected.items()}
                                   for i in range(len(CREDIT_ROWS))]
    _, typed = v1_predict(server, "typed_identity", {"instances": typed_rows()})
    assert [row["out_uint64"] for row in typed["predictions"]] == TYPED["uint64"]


def test_predict_errors(server):
    assert_error(server.post("/v1/models/mnist_mlp/predict", json={"inputs": MNIST_ROWS[:1]}),
                 400, "instances")
    assert_error(server.post("/v1/models/mnist_mlp/predict",
                             json={"instances": [MNIST_ROWS[0][:63]]}),
                 400, "instances[0] has 63 values, expected 64")
    assert_error(server.post("/v1/models/mnist_mlp/predict",
                             json={"instances": MNIST_ROWS[:1], "version": "9"}), 404, "9")
    assert_error(server.post("/v1/models/mnist_mlp/predict",
                             json={"instances": MNIST_ROWS[:1], "version": [1]}), 400, "version")
    assert_error(server.post("/v1/models/mnist_mlp/predict",
                             json={"instances": MNIST_ROWS[:1], "request_id": {"a": 1}}),
                 400, "request_id")
    assert_error(server.post("/v1/models/mnist_mlp/predict",
                             json={"instances": MNIST_ROWS[:1], "parameters": 3}),
                 400, "parameters")
    assert_error(server.post("/v1/models/no_such_model/predict", json={"instances": [[1]]}),
                 404, "no_such_model")


# --- the scheduled path -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    """mnist_mlp (both versions) and typed_identity behind dynamic batching schedulers."""
    root = tmp_path_factory.mktemp("batched-repo")
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp")
    config = json.loads((root / "mnist_mlp" / "config.json").read_text())
    config.update({"instance_group": [{"count": 2}],
                   "dynamic_batching": {"max_queue_delay_microseconds": 2000}})
    (root / "mnist_mlp" / "config.json").write_text(json.dumps(config))
    shutil.copytree(TEST_MODELS / "typed_identity", root / "typed_identity")
    (root / "typed_identity" / "config.json").write_text(json.dumps({
        "max_batch_size": 8, "instance_group": [{"count": 1}],
        "dynamic_batching": {"max_queue_delay_microseconds": 1000}}))
    srv = start_server(root)
    yield srv
    srv.kill()


def test_scheduled_versions_answer_the_same(batched):
    for version in ("1", "2"):
        expected, _ = v2_answer(batched, "mnist_mlp", {"input": ("FP32", MNIST_ROWS)}, version)
        resp, body = tfs(batched, "mnist_mlp", {"instances": MNIST_ROWS}, version)
        assert body == {"predictions": expected["probabilities"]}
        assert resp.headers["X-Model-Version"] == version
        _, columns = tfs(batched, "mnist_mlp", {"inputs": MNIST_ROWS}, version)
        assert columns == {"outputs": expected["probabilities"]}
        resp, seed = v1_predict(batched, "mnist_mlp", {"instances": MNIST_ROWS, "version": version})
        assert seed["predictions"] == expected["probabilities"]
        assert seed["model_version"] == version == resp.headers["X-Model-Version"]
    expected, _ = v2_answer(batched, "typed_identity",
                            {f"in_{s}": (s.upper(), rows) for s, rows in TYPED.items()})
    _, body = tfs(batched, "typed_identity", {"instances": typed_rows()})
    assert body["predictions"] == [{out: value[i] for out, value in expected.items()}
                                   for i in range(3)]
    resp = batched.post(predict_path("typed_identity"), json={"instances": typed_rows() * 3})
    assert_error(resp, 400, "max_batch_size 8")
    resp = batched.post(predict_path("mnist_mlp"), json={"instances": [MNIST_ROWS[0][:63]]})
    assert_error(resp, 400, "instances[0] has 63 values, expected 64")
    assert resp.headers["X-Model-Version"] == "2"


def test_concurrent_protocols_through_one_scheduler(batched):
    """Rows batched with other clients' rows: exactly equal to the V2 answer, whatever batch a
    row lands in."""
    expected, _ = v2_answer(batched, "mnist_mlp", {"input": ("FP32", MNIST_ROWS)}, "2")
    rows = expected["probabilities"]
    before = counters(batched, "mnist_mlp", "2").get("success", 0)
    problems, lock = [], threading.Lock()

    def client(index):
        import requests
        with requests.Session() as session:
            for i in range(15):
                row = (index + i) % len(MNIST_ROWS)
                kind = (index + i) % 3
                try:
                    if kind == 0:
                        resp = session.post(batched.url + predict_path("mnist_mlp"),
                                            json={"instances": [MNIST_ROWS[row]]}, timeout=30)
                        got = resp.json()["predictions"][0]
                    elif kind == 1:
                        resp = session.post(batched.url + "/v1/models/mnist_mlp/predict",
                                            json={"instances": [MNIST_ROWS[row]]}, timeout=30)
                        got = resp.json()["predictions"][0]
                    else:
                        resp = session.post(batched.url + "/v2/models/mnist_mlp/infer", json={
                            "inputs": [tensor("input", "FP32", [1, 64], MNIST_ROWS[row])]},
                            timeout=30)
                        got = resp.json()["outputs"][0]["data"]
                    ok = resp.status_code == 200 and np.array_equal(got, rows[row]) \
                        and resp.headers.get("X-Model-Version") == "2"
                except Exception as exc:  # noqa: BLE001 - reported below
                    ok, got = False, repr(exc)
                if not ok:
                    with lock:
                        problems.append((kind, row, str(got)[:200]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not problems, problems[:5]
    assert counters(batched, "mnist_mlp", "2")["success"] - before == 8 * 15

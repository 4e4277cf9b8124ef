"""GET /metrics passes `promtool check metrics` and its counters add up to the requests sent;
the statistics extension (GET /v2/models[/{m}[/versions/{v}]]/stats) answers in Triton's shape
with the same counts."""

import shutil
import subprocess

import pytest

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response, case_request, mnist_case,
                      metric_samples as samples, metric_value as value)

PROMTOOL = shutil.which("promtool")


@pytest.fixture
def fresh(launch):
    return launch(EXAMPLE_MODELS)


def send_traffic(server):
    good = case_request(mnist_case("2"))
    bad = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 65], "data": [0] * 65}]}
    for _ in range(30):
        assert server.infer("mnist_mlp", good).status_code == 200
    for _ in range(5):
        assert server.infer("mnist_mlp", bad).status_code == 400
    for _ in range(3):
        assert server.infer("no_such_model", good).status_code == 404


def test_promtool_accepts_metrics(fresh):
    if PROMTOOL is None:
        pytest.fail("promtool not installed (scripts/install-deps.sh test installs prometheus)")
    send_traffic(fresh)
    resp = fresh.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=resp.text, text=True,
                           capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_counters_add_up_to_requests_sent(fresh):
    send_traffic(fresh)
    s = samples(fresh.get("/metrics").text)
    v2 = {"model": "mnist_mlp", "version": "2"}
    assert value(s, "inferd_requests_total", outcome="success", **v2) == 30
    assert value(s, "inferd_requests_total", outcome="bad_request", **v2) == 5
    assert value(s, "inferd_requests_total", outcome="rejected", **v2) == 0
    assert value(s, "inferd_inference_count_total", **v2) == 30
    assert value(s, "inferd_execution_count_total", **v2) == 30
    assert value(s, "inferd_request_duration_seconds_count", **v2) == 35
    assert value(s, "inferd_request_duration_seconds_bucket", le="+Inf", **v2) == 35
    assert value(s, "inferd_compute_duration_seconds_count", **v2) == 30
    assert value(s, "inferd_batch_size_bucket", le="1", **v2) == 30
    assert value(s, "inferd_http_responses_total", code="400") == 5
    assert value(s, "inferd_http_responses_total", code="404") == 3
    assert value(s, "inferd_requests_total", outcome="success", model="mnist_mlp",
                 version="1") == 0
    assert value(s, "inferd_model_ready", **v2) == 1
    assert value(s, "inferd_process_resident_memory_bytes") > 1 << 20
    assert value(s, "inferd_process_cpu_seconds_total") > 0
    # histogram buckets are cumulative
    buckets = sorted((float(dict(labels)["le"]), v) for (name, labels), v in s.items()
                     if name == "inferd_request_duration_seconds_bucket"
                     and dict(labels).get("model") == "mnist_mlp"
                     and dict(labels).get("version") == "2")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)


def test_statistics_extension(fresh):
    send_traffic(fresh)
    body = assert_json_response(fresh.get("/v2/models/mnist_mlp/versions/2/stats"), 200)
    assert len(body["model_stats"]) == 1
    stats = body["model_stats"][0]
    assert stats["name"] == "mnist_mlp" and stats["version"] == "2"
    assert stats["inference_count"] == 30 and stats["execution_count"] == 30
    assert stats["inference_stats"]["success"]["count"] == 30
    assert stats["inference_stats"]["fail"]["count"] == 5
    assert stats["inference_stats"]["compute_infer"]["ns"] > 0
    assert stats["last_inference"] > 0
    assert stats["batch_stats"][0]["batch_size"] == 1
    assert stats["batch_stats"][0]["compute_infer"]["count"] == 30

    every = assert_json_response(fresh.get("/v2/models/stats"), 200)
    names = {(s["name"], s["version"]) for s in every["model_stats"]}
    assert {("mnist_mlp", "1"), ("mnist_mlp", "2"), ("credit_risk", "1")} <= names
    model = assert_json_response(fresh.get("/v2/models/mnist_mlp/stats"), 200)
    assert {s["version"] for s in model["model_stats"]} == {"1", "2"}
    assert_error(fresh.get("/v2/models/nope/stats"), 404, "nope")
    assert_error(fresh.get("/v2/models/mnist_mlp/versions/9/stats"), 404)

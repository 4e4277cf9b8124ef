"""Shadow traffic: a share of live requests copied to another version off the request path and
compared with the answers callers got; callers never wait for it or see it."""

import json
import shutil
import signal
import subprocess
import time

import numpy as np

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response, case_request,
                      mnist_case)


def make_repo(root):
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd"))
    return root


def bodies():
    """One request per reference case of both versions (different images)."""
    out = []
    for version in ("1", "2"):
        for index in range(3):
            out.append(case_request(mnist_case(version, index)))
    return out


def shadow(server):
    return assert_json_response(server.get("/v1/models/mnist_mlp/shadow"), 200)


def wait_completed(server, count, timeout=10):
    deadline = time.monotonic() + timeout
    while shadow(server)["completed"] < count:
        assert time.monotonic() < deadline, f"the shadow did not complete {count}: {shadow(server)}"
        time.sleep(0.05)
    return shadow(server)


def test_mirrored_requests_are_compared(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    resp = server.put("/v1/models/mnist_mlp/shadow", json={"version": 1, "percent": 100})
    assert assert_json_response(resp, 200)["version"] == 1
    expected_match, rows, max_diff, diffs = 0, 0, 0.0, []
    sent = bodies() * 5
    for body in sent:
        primary = assert_json_response(server.infer("mnist_mlp", body), 200)
        assert primary["model_version"] == "2"  # the caller's answer is the primary's
        other = assert_json_response(server.infer("mnist_mlp", body, version="1"), 200)
        a = np.array(primary["outputs"][0]["data"]).reshape(primary["outputs"][0]["shape"])
        b = np.array(other["outputs"][0]["data"]).reshape(other["outputs"][0]["shape"])
        expected_match += int((a.argmax(axis=1) == b.argmax(axis=1)).sum())
        rows += a.shape[0]
        diffs.extend(np.abs(a - b).tolist())
        max_diff = max(max_diff, float(np.abs(a - b).max()))
    report = wait_completed(server, len(sent))
    assert report["mirrored"] == len(sent) and report["errors"] == 0 and report["dropped"] == 0
    agreement = report["agreement"]
    assert agreement["compared"] == rows  # one comparison per row of class scores
    assert abs(agreement["exact_match_rate"] - expected_match / rows) < 1e-9
    assert abs(agreement["max_abs_diff"] - max_diff) < 1e-6
    assert abs(agreement["mean_abs_diff"] - float(np.mean(diffs))) < 1e-6
    assert report["latency_ms"]["p50"] > 0
    # requests that name version 1 are answered by the shadow version itself: not mirrored
    server.infer("mnist_mlp", sent[0], version="1")
    time.sleep(0.2)
    assert shadow(server)["mirrored"] == len(sent)


def test_a_failing_or_slow_shadow_never_reaches_callers(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    resp = server.post("/v1/models/mnist_mlp/deployments",
                       json={"version": 1, "fault_injection": {"error_rate": 1}})
    assert_json_response(resp, 201)
    assert_json_response(server.put("/v1/models/mnist_mlp/shadow",
                                    json={"version": 1, "percent": 100}), 200)
    body = bodies()[0]
    for _ in range(30):
        assert_json_response(server.infer("mnist_mlp", body), 200)
    report = wait_completed(server, 30)
    assert report["errors"] == 30
    # slow: 200 ms per shadow run; callers stay fast and the bounded queue drops the excess
    resp = server.post("/v1/models/mnist_mlp/deployments",
                       json={"version": 1, "fault_injection": {"delay_ms": 200}})
    assert_json_response(resp, 201)
    assert_json_response(server.put("/v1/models/mnist_mlp/shadow",
                                    json={"version": 1, "percent": 100}), 200)
    start = time.monotonic()
    for _ in range(400):
        assert_json_response(server.infer("mnist_mlp", body), 200)
    elapsed = time.monotonic() - start
    assert elapsed < 20, f"400 requests took {elapsed:.1f} s with a slow shadow"
    report = shadow(server)
    assert report["dropped"] > 0 and report["mirrored"] + report["dropped"] >= 400 - 30


def test_percent_settings_errors_and_restart(tmp_path, launch):
    root = make_repo(tmp_path)
    server = launch(root)
    assert_json_response(server.put("/v1/models/mnist_mlp/shadow",
                                    json={"version": 1, "percent": 0}), 200)
    body = bodies()[0]
    for _ in range(50):
        server.infer("mnist_mlp", body)
    assert shadow(server)["mirrored"] == 0
    assert_json_response(server.put("/v1/models/mnist_mlp/shadow",
                                    json={"version": 1, "percent": 50}), 200)
    for _ in range(400):
        server.infer("mnist_mlp", body)
    mirrored = shadow(server)["mirrored"]
    assert 140 <= mirrored <= 260, mirrored
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 9}), 404)
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 1, "percent": 101}),
                 400, "percent")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"percent": 5}), 400, "version")
    assert_error(server.get("/v1/models/other/shadow"), 404)
    text = server.get("/metrics").text
    assert 'inferd_shadow_requests_total{model="mnist_mlp",version="1"}' in text
    promtool = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    assert server.stop(signal.SIGTERM) == 0
    server = launch(root)
    assert shadow(server)["percent"] == 50
    assert_json_response(server.delete("/v1/models/mnist_mlp/shadow"), 200)
    assert_error(server.get("/v1/models/mnist_mlp/shadow"), 404)
    assert_error(server.delete("/v1/models/mnist_mlp/shadow"), 404)
    actions = [e["action"] for e in assert_json_response(server.get("/v1/audit"), 200)["entries"]]
    assert "set_shadow" in actions and "delete_shadow" in actions

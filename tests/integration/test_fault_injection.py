"""config.json's fault_injection: a version that fails a chosen share of its requests or answers
late, on purpose (for tests and for demonstrating canary rollback). Failures are real 500s with a
message that names the knob, counted as errors; the server keeps serving everything else."""

import json
import shutil
import time

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response, assert_serves_mnist,
                      case_request, mnist_case)


def make_repo(root, fault):
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp")
    config_path = root / "mnist_mlp" / "config.json"
    config = json.loads(config_path.read_text())
    config["fault_injection"] = fault
    config_path.write_text(json.dumps(config))
    return root


def error_count(server):
    for line in server.get("/metrics").text.splitlines():
        if line.startswith("inferd_requests_total{") and 'model="mnist_mlp"' in line \
                and 'version="2"' in line and 'outcome="error"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no error outcome for mnist_mlp in /metrics")


def test_a_share_of_requests_fails(tmp_path, launch):
    server = launch(make_repo(tmp_path, {"error_rate": 0.5}))
    body = case_request(mnist_case("2"))
    statuses = []
    for _ in range(200):
        resp = server.infer("mnist_mlp", body)
        statuses.append(resp.status_code)
        if resp.status_code == 500:
            assert_error(resp, 500, "injected failure", "error_rate")
        else:
            assert_json_response(resp, 200)
    failed = statuses.count(500)
    assert set(statuses) == {200, 500}
    assert 60 <= failed <= 140, f"{failed} of 200 failed at error_rate 0.5"
    assert error_count(server) == failed
    assert server.alive()


def test_delay_slows_every_request(tmp_path, launch):
    server = launch(make_repo(tmp_path, {"delay_ms": 100}))
    start = time.monotonic()
    assert_serves_mnist(server)
    assert time.monotonic() - start >= 0.1


def test_bad_fault_injection_refuses_the_model(tmp_path, launch):
    server = launch(make_repo(tmp_path, {"error_rate": 2}), wait_ready=False)
    deadline = time.monotonic() + 20
    while server.get("/v2/health/live").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    resp = server.get("/v2/models/mnist_mlp/ready")
    assert resp.status_code == 503
    assert resp.json()["ready"] is False
    assert "fault_injection.error_rate must be from 0 to 1" in resp.json()["error"]

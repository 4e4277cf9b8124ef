"""Model lifecycle: version policies, labels and default versions; the model-control modes (none,
poll, explicit) and the repository API; zero-downtime swaps under load; memory returning after
load/unload cycles."""

import json
import os
import shutil
import threading
import time

import pytest
import requests

from conftest import (EXAMPLE_MODELS, SANITIZED, assert_error, assert_json_response, case_request,
                      mnist_case, scaled, write_matmul_model)


def mnist_repo(root, versions=("1", "2"), config=None):
    """A repository holding mnist_mlp with the given version folders and config.json fields."""
    model = root / "mnist_mlp"
    model.mkdir(parents=True)
    for version in versions:
        source = EXAMPLE_MODELS / "mnist_mlp" / ("1" if version == "1" else "2")
        shutil.copytree(source, model / version)
    base = json.loads((EXAMPLE_MODELS / "mnist_mlp" / "config.json").read_text())
    for key in ("version_policy", "version_labels"):
        base.pop(key, None)
    base.update(config or {})
    (model / "config.json").write_text(json.dumps(base))
    return root


def served_version(server, model="mnist_mlp", version=None):
    body = case_request(mnist_case("2"))
    resp = server.infer(model, body, version=version)
    return assert_json_response(resp, 200)["model_version"]


def ready_versions(server, model="mnist_mlp"):
    resp = server.get(f"/v2/models/{model}")
    if resp.status_code != 200:
        return None
    return resp.json()["versions"]


def index(server, **body):
    resp = server.post("/v2/repository/index", json=body)
    return assert_json_response(resp, 200)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return time.monotonic()
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


# ---- version policies, labels, default -------------------------------------------------------


def test_default_policy_serves_the_latest_version_only(tmp_path, launch):
    server = launch(mnist_repo(tmp_path))
    assert ready_versions(server) == ["2"]
    assert served_version(server) == "2"
    assert_error(server.infer("mnist_mlp", case_request(mnist_case("2")), version="1"), 404,
                 "no version '1'", "versions: 2")


def test_all_and_specific_policies(tmp_path, launch):
    server = launch(mnist_repo(tmp_path / "all", config={"version_policy": {"all": {}}}))
    assert ready_versions(server) == ["1", "2"]
    server = launch(mnist_repo(tmp_path / "specific", versions=("1", "2", "3"),
                               config={"version_policy": {"specific": {"versions": [1, 3]}}}))
    assert ready_versions(server) == ["1", "3"]


def test_labels_and_default_version(tmp_path, launch):
    server = launch(mnist_repo(tmp_path, config={
        "version_policy": {"latest": {"num_versions": 2}},
        "version_labels": {"stable": 1, "canary": 2}, "default_version": 1}))
    assert served_version(server) == "1"  # the default, not the highest
    assert served_version(server, version="canary") == "2"
    assert served_version(server, version="stable") == "1"
    assert_error(server.infer("mnist_mlp", case_request(mnist_case("2")), version="beta"), 404,
                 "no version or label 'beta'", "canary, stable")


def test_bad_version_policy_is_reported(tmp_path, launch):
    server = launch(mnist_repo(tmp_path, config={"version_policy": {"newest": 2}}),
                    wait_ready=False)
    wait_for(lambda: server.get("/v2/health/live").status_code == 200, 20, "start-up")
    resp = server.get("/v2/models/mnist_mlp/ready")
    assert resp.status_code == 503
    assert "version_policy" in resp.json()["error"]


def test_model_warmup_samples(tmp_path, launch):
    good = {"model_warmup": [{"name": "random", "batch_size": 4, "count": 2, "inputs": {
        "input": {"data_type": "TYPE_FP32", "dims": [64], "random_data": True}}}]}
    bad = {"model_warmup": [{"name": "wrong", "inputs": {
        "pixels": {"data_type": "TYPE_FP32", "dims": [64], "zero_data": True}}}]}
    server = launch(mnist_repo(tmp_path / "good", config=good))
    assert served_version(server) == "2"
    server = launch(mnist_repo(tmp_path / "bad", config=bad), wait_ready=False)
    wait_for(lambda: server.get("/v2/health/live").status_code == 200, 20, "start-up")
    resp = server.get("/v2/models/mnist_mlp/ready")
    assert resp.status_code == 503
    assert "model_warmup sample gives no input 'input'" in resp.json()["error"]


# ---- explicit mode and the repository API ----------------------------------------------------


def test_explicit_mode_loads_only_what_it_is_told(tmp_path, launch):
    root = mnist_repo(tmp_path)
    shutil.copytree(EXAMPLE_MODELS / "credit_risk", root / "credit_risk")
    server = launch(root, "--model-control-mode", "explicit", "--load-model", "credit_risk")
    assert_error(server.get("/v2/models/mnist_mlp"), 404, "unknown model")
    entries = index(server)
    assert {"name": "mnist_mlp", "state": "UNAVAILABLE", "reason": "unloaded"} in entries
    assert any(e["name"] == "credit_risk" and e["state"] == "READY" for e in entries)
    assert all(e["state"] == "READY" for e in index(server, ready=True))

    resp = server.post("/v2/repository/models/mnist_mlp/load")
    assert assert_json_response(resp, 200)["loaded"] is True
    assert served_version(server) == "2"
    assert any(e["name"] == "mnist_mlp" and e["state"] == "READY" for e in index(server))

    # a config override in the load request: serve both versions
    override = json.dumps({"version_policy": {"all": {}}, "max_batch_size": 8})
    resp = server.post("/v2/repository/models/mnist_mlp/load",
                       json={"parameters": {"config": override}})
    assert_json_response(resp, 200)
    assert ready_versions(server) == ["1", "2"]
    meta = assert_json_response(server.get("/v2/models/mnist_mlp"), 200)
    assert meta["inputs"][0]["shape"] == [-1, 64]

    resp = server.post("/v2/repository/models/mnist_mlp/unload")
    assert assert_json_response(resp, 200)["unloaded"] is True
    assert_error(server.infer("mnist_mlp", case_request(mnist_case("2"))), 404, "unknown model")
    assert_error(server.post("/v2/repository/models/mnist_mlp/unload"), 404, "not loaded")
    assert_error(server.post("/v2/repository/models/absent/load"), 404, "no model folder")
    resp = server.post("/v2/repository/models/mnist_mlp/load",
                       json={"parameters": {"config": "{\"max_batch_size\": -3}"}})
    assert_error(resp, 400, "max_batch_size")
    assert_error(server.post("/v2/repository/models/mnist_mlp/load", data="[1"), 400)
    assert server.get("/v2/health/ready").status_code == 200


def test_repository_api_refused_outside_explicit_mode(tmp_path, launch):
    server = launch(mnist_repo(tmp_path))
    assert_error(server.post("/v2/repository/models/mnist_mlp/unload"), 400,
                 "--model-control-mode none", "explicit")
    assert served_version(server) == "2"
    assert any(e["state"] == "READY" for e in index(server))


# ---- poll mode ------------------------------------------------------------------------------

POLL_SECS = 1


def test_poll_mode_follows_the_disk(tmp_path, launch):
    root = mnist_repo(tmp_path, versions=("1",))
    server = launch(root, "--model-control-mode", "poll", "--repository-poll-secs", str(POLL_SECS))
    assert served_version(server) == "1"

    # a new version folder serves within two poll intervals (latest 1: version 1 retires)
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp" / "2", root / "mnist_mlp" / "2.tmp")
    os.rename(root / "mnist_mlp" / "2.tmp", root / "mnist_mlp" / "2")
    added = time.monotonic()
    seen = wait_for(lambda: ready_versions(server) == ["2"], 4 * POLL_SECS, "loading version 2")
    assert seen - added <= 2 * POLL_SECS + 0.5, f"took {seen - added:.2f} s"
    assert served_version(server) == "2"

    # a new model folder loads; a removed one unloads
    shutil.copytree(EXAMPLE_MODELS / "credit_risk", root / "credit_risk")
    wait_for(lambda: server.get("/v2/models/credit_risk/ready").status_code == 200,
             4 * POLL_SECS, "loading credit_risk")
    shutil.rmtree(root / "credit_risk")
    wait_for(lambda: server.get("/v2/models/credit_risk").status_code == 404, 4 * POLL_SECS,
             "unloading credit_risk")

    # a broken config.json leaves what serves alone
    config = root / "mnist_mlp" / "config.json"
    good = config.read_text()
    config.write_text("{\"max_batch_size\": ")
    time.sleep(3 * POLL_SECS)
    assert served_version(server) == "2"
    assert "keeps serving as it was" in server.stderr_text()

    # a changed config reloads: policy all brings version 1 back
    fixed = json.loads(good)
    fixed["version_policy"] = {"all": {}}
    config.write_text(json.dumps(fixed))
    wait_for(lambda: ready_versions(server) == ["1", "2"], 4 * POLL_SECS, "reloading the config")

    # a removed version folder unloads; a version whose file breaks keeps its old copy
    shutil.rmtree(root / "mnist_mlp" / "1")
    wait_for(lambda: ready_versions(server) == ["2"], 4 * POLL_SECS, "unloading version 1")
    model_file = root / "mnist_mlp" / "2" / "model.onnx"
    model_file.write_bytes(model_file.read_bytes()[:100])
    time.sleep(3 * POLL_SECS)
    assert served_version(server) == "2"
    assert "failed to reload, its previous copy keeps serving" in server.stderr_text()
    assert server.alive()


def test_poll_mode_refuses_repository_changes(tmp_path, launch):
    server = launch(mnist_repo(tmp_path), "--model-control-mode", "poll")
    assert_error(server.post("/v2/repository/models/mnist_mlp/load"), 400, "poll")


# ---- zero-downtime swaps ---------------------------------------------------------------------


def test_swaps_under_load_fail_no_request(tmp_path, launch):
    """32 clients post without naming a version while the served version is swapped 20 times
    (explicit loads alternating version_policy between version 1 and version 2): every request
    is answered 200 with the right numbers for the version that answered."""
    root = mnist_repo(tmp_path)
    server = launch(root, "--model-control-mode", "explicit", "--load-model", "mnist_mlp")
    body = json.dumps(case_request(mnist_case("2"))).encode()
    policy = {"1": {"version_policy": {"specific": {"versions": [1]}}},
              "2": {"version_policy": {"specific": {"versions": [2]}}}}
    base = json.loads((root / "mnist_mlp" / "config.json").read_text())

    def load(version):
        config = dict(base, **policy[version])
        resp = server.post("/v2/repository/models/mnist_mlp/load",
                           json={"parameters": {"config": json.dumps(config)}}, timeout=60)
        assert_json_response(resp, 200)

    expected = {}
    for version in ("1", "2"):
        load(version)
        answer = assert_json_response(server.infer("mnist_mlp", body), 200)
        assert answer["model_version"] == version
        expected[version] = answer["outputs"][0]["data"]

    stop = threading.Event()
    problems, answered = [], {"1": 0, "2": 0}
    lock = threading.Lock()

    def client():
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    resp = session.post(server.url + "/v2/models/mnist_mlp/infer", data=body,
                                        headers={"Content-Type": "application/json"}, timeout=30)
                    answer = resp.json()
                    if resp.status_code != 200 or answer["outputs"][0]["data"] != \
                            expected[answer["model_version"]]:
                        raise AssertionError(f"{resp.status_code} {resp.text[:200]}")
                    with lock:
                        answered[answer["model_version"]] += 1
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    with lock:
                        problems.append(repr(exc))

    clients = [threading.Thread(target=client, daemon=True) for _ in range(32)]
    for thread in clients:
        thread.start()
    swaps = scaled(20)
    for i in range(swaps):
        time.sleep(0.05)
        load("1" if i % 2 == 0 else "2")
    time.sleep(0.1)
    stop.set()
    for thread in clients:
        thread.join(30)
    assert not problems, problems[:5]
    assert answered["1"] > 0 and answered["2"] > 0, answered
    assert server.alive()


@pytest.mark.skipif(SANITIZED, reason="resident memory is meaningless under ASan's allocator")
def test_memory_returns_after_load_unload_cycles(tmp_path, launch):
    """50 load/unload cycles of a 16 MiB model: resident memory comes back to where it was."""
    root = tmp_path / "repo"
    write_matmul_model(root / "slow" / "1" / "model.onnx", 2048)
    server = launch(root, "--model-control-mode", "explicit", "--load-model", "slow")

    def rss_bytes():
        with open(f"/proc/{server.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    # one cycle first, so that one-time allocations (thread stacks, kernels) are in the baseline
    for _ in range(2):
        assert_json_response(server.post("/v2/repository/models/slow/unload"), 200)
        assert_json_response(server.post("/v2/repository/models/slow/load", timeout=60), 200)
    before = rss_bytes()
    assert_json_response(server.post("/v2/repository/models/slow/unload"), 200)
    time.sleep(0.2)
    unloaded = rss_bytes()
    assert_json_response(server.post("/v2/repository/models/slow/load", timeout=60), 200)
    for _ in range(50):
        assert_json_response(server.post("/v2/repository/models/slow/unload"), 200)
        assert_json_response(server.post("/v2/repository/models/slow/load", timeout=60), 200)
    time.sleep(0.2)
    after = rss_bytes()
    print(f"RSS loaded {before / 2**20:.1f} MiB, unloaded {unloaded / 2**20:.1f} MiB, "
          f"loaded after 50 cycles {after / 2**20:.1f} MiB")
    assert before - unloaded >= 12 * 2**20, "unloading did not give the weights back"
    assert after <= before + 16 * 2**20, f"RSS grew from {before >> 20} to {after >> 20} MiB"
    assert server.get("/v2/models/slow/ready").status_code == 200

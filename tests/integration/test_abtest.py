"""A/B tests: a named split with per-variant statistics, significance tests against the control
(Welch on latency and reward, z-test on error rates), a winner only when significant, automatic
rollback on errors, a duration, stop and promote, and tests surviving a restart."""

import json
import random
import shutil
import signal
import time

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response, case_request,
                      mnist_case)

BODY = json.dumps({k: v for k, v in case_request(mnist_case("2")).items() if k != "id"}).encode()


def make_repo(root):
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd"))
    return root


def deploy(server, version, **settings):
    resp = server.post("/v1/models/mnist_mlp/deployments", json={"version": version, **settings})
    assert_json_response(resp, 201)


def start(server, **definition):
    body = {"name": "exp", "versions": {"1": 50, "2": 50}, **definition}
    return server.post("/v1/models/mnist_mlp/ab-tests", json=body)


def send(server, count):
    """`count` requests without a version: (version, request id, status) each."""
    answers = []
    for _ in range(count):
        resp = server.post("/v2/models/mnist_mlp/infer", data=BODY,
                           headers={"Content-Type": "application/json"})
        answers.append((resp.headers.get("X-Model-Version"), resp.headers.get("X-Request-Id"),
                        resp.status_code))
    return answers


def show(server, name="exp"):
    return assert_json_response(server.get(f"/v1/models/mnist_mlp/ab-tests/{name}"), 200)


def comparison(test):
    return test["results"]["comparisons"][0]


def test_latency_difference_is_significant_and_names_the_control(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    deploy(server, 1)  # version 2 serves by policy; 1 beside it
    deploy(server, 2, fault_injection={"delay_ms": 3})
    test = assert_json_response(start(server, primary_metric="latency", min_samples=20), 201)
    assert test["status"] == "running" and test["results"]["control_version"] == 2
    send(server, 160)
    test = show(server)
    latency = comparison(test)["latency_ms"]
    assert comparison(test)["version"] == 1
    assert latency["significant"] is True and latency["p_value"] < 0.001
    assert latency["difference"] < -2  # version 1 is about 3 ms faster than the control
    assert latency["ci"][0] < latency["difference"] < latency["ci"][1]
    assert test["results"]["winner"] == 1
    variants = {v["version"]: v for v in test["rule"]["variants"]}
    assert variants[1]["requests"] + variants[2]["requests"] == 160
    assert variants[2]["latency_ms"]["p50"] > variants[1]["latency_ms"]["p50"]


def test_reward_winner_and_promote(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    deploy(server, 1)
    assert_json_response(start(server, primary_metric="reward", min_samples=30), 201)
    assert_error(server.post("/v1/models/mnist_mlp/ab-tests/exp/promote"), 409, "no significant")
    rng = random.Random(7)
    for version, request_id, status in send(server, 300):
        assert status == 200
        chance = 0.8 if version == "1" else 0.2
        resp = server.post("/v1/models/mnist_mlp/feedback",
                           json={"request_id": request_id, "reward": int(rng.random() < chance)})
        assert_json_response(resp, 200)
    test = show(server)
    reward = comparison(test)["reward"]
    assert reward["significant"] is True and reward["difference"] > 0.3
    assert test["results"]["winner"] == 1
    promoted = assert_json_response(server.post("/v1/models/mnist_mlp/ab-tests/exp/promote"), 200)
    assert promoted["status"] == "promoted"
    assert {v for v, _, _ in send(server, 20)} == {"1"}  # the default now, and no rule
    assert assert_json_response(server.get("/v1/models/mnist_mlp/traffic"), 200)["rule"] is None
    actions = [e["action"] for e in assert_json_response(server.get("/v1/audit"), 200)["entries"]]
    assert "ab_start" in actions and "ab_promote" in actions and "set_default" in actions


def test_errors_roll_the_test_back(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    deploy(server, 1, fault_injection={"error_rate": 0.6})
    assert_json_response(start(server, min_samples=20, rollback_on_error_rate=0.2), 201)
    send(server, 80)
    deadline = time.monotonic() + 5
    while show(server)["status"] == "running":
        assert time.monotonic() < deadline, "the failing variant was never rolled back"
        time.sleep(0.1)
    test = show(server)
    assert test["status"] == "rolled_back" and "rollback_on_error_rate" in test["end_reason"]
    assert {(v, s) for v, _, s in send(server, 30)} == {("2", 200)}


def test_duration_stop_and_refusals(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    deploy(server, 1)
    assert_json_response(start(server, name="short", duration_seconds=1), 201)
    assert_error(start(server, name="other"), 409, "A/B test")
    assert_error(start(server, name="short"), 409, "already has")
    time.sleep(1.6)
    assert show(server, "short")["status"] == "completed"
    assert_json_response(start(server, name="long"), 201)
    stopped = assert_json_response(server.post("/v1/models/mnist_mlp/ab-tests/long/stop"), 200)
    assert stopped["status"] == "stopped"
    assert_error(server.post("/v1/models/mnist_mlp/ab-tests/long/stop"), 409, "already stopped")
    listing = assert_json_response(server.get("/v1/models/mnist_mlp/ab-tests"), 200)["ab_tests"]
    assert [(t["name"], t["status"]) for t in listing] == [("short", "completed"),
                                                           ("long", "stopped")]
    assert_error(start(server, name="bad name!"), 400, "name")
    assert_error(start(server, name="one", versions={"1": 100}), 400, "at least two")
    assert_error(start(server, name="gone", versions={"1": 50, "7": 50}), 404, "version 7")
    assert_error(start(server, name="x", primary_metric="clicks"), 400, "primary_metric")
    assert_error(server.get("/v1/models/mnist_mlp/ab-tests/absent"), 404)


def test_tests_survive_a_restart(tmp_path, launch):
    root = make_repo(tmp_path)
    server = launch(root)
    deploy(server, 1)
    assert_json_response(start(server, name="done", primary_metric="latency"), 201)
    send(server, 40)
    assert_json_response(server.post("/v1/models/mnist_mlp/ab-tests/done/stop"), 200)
    assert_json_response(start(server, name="live"), 201)
    assert server.stop(signal.SIGTERM) == 0
    server = launch(root)
    done = show(server, "done")
    assert done["status"] == "stopped" and done["results"]["control_version"] == 2
    live = show(server, "live")
    assert live["status"] == "running"
    versions = {v for v, _, _ in send(server, 60)}
    assert versions == {"1", "2"}
    assert 'inferd_ab_test_running{model="mnist_mlp",test="live"} 1' in server.get("/metrics").text

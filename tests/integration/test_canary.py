"""Canary rollouts: a version that behaves is advanced stage by stage under client load and
promoted (it becomes the default version); one that fails too often or answers too slowly is
rolled back by inferd itself, soon after min_requests, without a failed request outside the
canary's share; DELETE aborts; bad requests are refused; a canary survives a restart; every
transition is audited and counted in /metrics."""

import json
import shutil
import signal
import subprocess
import threading
import time

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response,
                      case_request, mnist_case)

MODEL = "mnist_mlp"
CANARY = f"/v1/models/{MODEL}/canary"
BODY = json.dumps(case_request(mnist_case("2"))).encode()
HEADERS = {"Content-Type": "application/json"}


def make_repo(root):
    """mnist_mlp versions 1 and 2, both served."""
    shutil.copytree(EXAMPLE_MODELS / MODEL, root / MODEL, ignore=shutil.ignore_patterns(".inferd"))
    return root


def prepare(server, fault=None):
    """Version 1 answers unversioned requests (the baseline); version 2, the canary, is deployed
    beside it, with `fault` as its fault_injection."""
    assert_json_response(server.put(f"/v1/models/{MODEL}/versions/1/default"), 200)
    if fault is not None:
        resp = server.post(f"/v1/models/{MODEL}/deployments",
                           json={"version": 2, "fault_injection": fault})
        assert_json_response(resp, 201)


class Load:
    """Client threads sending unversioned requests until stopped; each answer is recorded as
    (wall-clock time received, status, X-Model-Version)."""

    def __init__(self, server, threads=2):
        self.server = server
        self.results = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self):
        import requests
        session = requests.Session()
        url = f"{self.server.url}/v2/models/{MODEL}/infer"
        while not self.stopping.is_set():
            resp = session.post(url, data=BODY, headers=HEADERS, timeout=30)
            self.results.append((time.time(), resp.status_code, resp.headers.get("X-Model-Version")))

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)
        return list(self.results)


def canary(server):
    return assert_json_response(server.get(CANARY), 200)


def wait_status(server, status, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        state = canary(server)
        if state["status"] == status:
            return state
        assert state["status"] == "running", state
        assert time.monotonic() < deadline, f"still {state['status']} after {timeout} s: {state}"
        time.sleep(0.02)


def wait_stage(server, stage, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        state = canary(server)
        if state["status"] == "running" and state["stage"] == stage:
            return state
        assert state["status"] == "running", state
        assert time.monotonic() < deadline, f"not at stage {stage} after {timeout} s: {state}"
        time.sleep(0.02)


def start(server, stages, criteria, version=2, **extra):
    body = {"version": version, "stages": stages, "success_criteria": criteria, **extra}
    return server.post(CANARY, json=body, headers={"X-Inferd-User": "carol"})


def audit_actions(server):
    resp = server.get("/v1/audit", params={"model": MODEL})
    return [e for e in assert_json_response(resp, 200)["entries"]
            if e["action"].startswith("canary_")]


def metric_lines(server):
    text = server.get("/metrics").text
    promtool = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    return [line for line in text.splitlines() if line.startswith("inferd_canary_")]


def unversioned_version(server):
    resp = server.post(f"/v2/models/{MODEL}/infer", data=BODY, headers=HEADERS)
    return assert_json_response(resp, 200)["model_version"]


def test_good_canary_advances_and_is_promoted(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    prepare(server)
    load = Load(server)
    resp = start(server, [{"percent": 30, "duration_seconds": 1},
                          {"percent": 60, "duration_seconds": 1}],
                 {"error_rate_max": 0.05, "latency_p95_max_ms": 1000, "min_requests": 10},
                 reason="ship v2")
    state = assert_json_response(resp, 201)
    assert state["status"] == "running" and state["stage"] == 0 and state["percent"] == 30
    assert state["baseline_version"] == 1 and state["version"] == 2
    assert state["rule"]["kind"] == "canary" and state["rule"]["traffic_split"] == {"1": 70,
                                                                                    "2": 30}
    assert state["success_criteria"] == {"error_rate_max": 0.05, "latency_p95_max_ms": 1000,
                                         "min_requests": 10}
    # the rule is the model's traffic rule meanwhile; a split cannot replace it
    traffic = assert_json_response(server.get(f"/v1/models/{MODEL}/traffic"), 200)["rule"]
    assert traffic["kind"] == "canary"
    assert_error(server.put(f"/v1/models/{MODEL}/traffic", json={"traffic_split": {"1": 1}}),
                 409, "canary")
    assert 'inferd_canary_stage{model="mnist_mlp"} 1' in metric_lines(server)

    second = wait_stage(server, 1)
    assert second["rule"]["traffic_split"] == {"1": 40, "2": 60}
    final = wait_status(server, "promoted")
    results = load.stop()
    assert [(h["from"], h["to"]) for h in final["history"]] == [
        ("none", "stage 1"), ("stage 1", "stage 2"), ("stage 2", "promoted")]
    assert "passed" in final["history"][1]["reason"]
    assert final["end_reason"].startswith("last stage (60%) passed")
    assert [s for s in results if s[1] != 200] == []
    assert {s[2] for s in results} == {"1", "2"}
    # the canary is now the default version and the rule is gone
    info = assert_json_response(server.get(f"/v1/models/{MODEL}"), 200)
    assert info["default_version"] == 2
    assert all(unversioned_version(server) == "2" for _ in range(10))
    assert assert_json_response(server.get(f"/v1/models/{MODEL}/traffic"), 200)["rule"] is None
    # statistics of the last stage stay visible
    variants = {v["version"]: v for v in final["rule"]["variants"]}
    assert variants[2]["requests"] >= 10 and variants[2]["errors"] == 0
    lines = metric_lines(server)
    assert 'inferd_canary_stage{model="mnist_mlp"} 0' in lines
    assert 'inferd_canary_percent{model="mnist_mlp"} 0' in lines
    assert 'inferd_canary_transitions_total{model="mnist_mlp",to="advance"} 1' in lines
    assert 'inferd_canary_transitions_total{model="mnist_mlp",to="promote"} 1' in lines
    assert 'inferd_canary_transitions_total{model="mnist_mlp",to="rollback"} 0' in lines
    entries = audit_actions(server)
    assert [e["action"] for e in entries] == ["canary_start", "canary_advance", "canary_promote"]
    assert entries[0]["actor"] == "carol" and entries[0]["reason"] == "ship v2"
    assert entries[0]["version"] == 2 and entries[2]["detail"]["to"] == "promoted"


def test_failing_canary_is_rolled_back_soon_after_min_requests(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    prepare(server, fault={"error_rate": 0.5})
    load = Load(server)
    min_requests = 20
    state = assert_json_response(
        start(server, [{"percent": 20, "duration_seconds": 30},
                       {"percent": 100, "duration_seconds": 30}],
              {"error_rate_max": 0.05, "min_requests": min_requests}), 201)
    final = wait_status(server, "rolled_back", timeout=10)
    time.sleep(0.3)
    results = load.stop()
    rolled_back_at = final["history"][-1]["at_ms"] / 1000.0
    # no failed request outside the canary's share
    failures = [r for r in results if r[1] != 200]
    assert failures, "the faulty canary never failed"
    assert all(r[1] == 500 and r[2] == "2" for r in failures), failures[:5]
    # how soon: from the answer that completed min_requests on the canary to the rollback
    canary_answers = [r for r in results if r[2] == "2"]
    reached_at = canary_answers[min_requests - 1][0]
    reaction = rolled_back_at - reached_at
    print(f"rollback reaction: {reaction * 1000:.0f} ms after min_requests "
          f"({len(canary_answers)} canary answers in all)")
    assert reaction < 2.0, reaction
    # afterwards every unversioned request goes to the baseline
    after = [r for r in results if r[0] > rolled_back_at + 0.1]
    assert after and all(r[2] == "1" and r[1] == 200 for r in after)
    assert final["stage"] == 0 and final["status"] == "rolled_back"
    assert "error rate" in final["end_reason"] and "error_rate_max 0.05" in final["end_reason"]
    assert final["history"][-1]["reason"] == final["end_reason"]
    variants = {v["version"]: v for v in final["rule"]["variants"]}
    assert variants[1]["errors"] == 0 and variants[2]["errors"] > 0
    assert assert_json_response(server.get(f"/v1/models/{MODEL}/traffic"), 200)["rule"] is None
    assert assert_json_response(server.get(f"/v1/models/{MODEL}"), 200)["default_version"] == 1
    entry = audit_actions(server)[-1]
    assert entry["action"] == "canary_rollback" and entry["actor"] == "canary"
    assert "error rate" in entry["reason"] and entry["detail"]["canary"]["errors"] > 0
    assert 'inferd_canary_transitions_total{model="mnist_mlp",to="rollback"} 1' in \
        metric_lines(server)
    assert state["started_at_ms"] <= final["ended_at_ms"]


def test_slow_canary_is_rolled_back_on_latency(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    prepare(server, fault={"delay_ms": 30})
    load = Load(server)
    assert_json_response(start(server, [{"percent": 25, "duration_seconds": 30}],
                               {"error_rate_max": 0.5, "latency_p95_max_ms": 10,
                                "min_requests": 10}), 201)
    final = wait_status(server, "rolled_back", timeout=10)
    results = load.stop()
    assert "p95 latency" in final["end_reason"] and "latency_p95_max_ms 10" in final["end_reason"]
    assert [r for r in results if r[1] != 200] == []
    assert assert_json_response(server.get(f"/v1/models/{MODEL}"), 200)["default_version"] == 1


def test_abort_and_refusals(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    stages = [{"percent": 10, "duration_seconds": 60}]
    criteria = {"error_rate_max": 0.01, "min_requests": 50}
    assert_error(server.get(CANARY), 404, "never had a canary")
    assert_error(server.delete(CANARY), 404, "no canary running")
    # version 2 answers unversioned requests (no default, highest): it cannot be its own canary
    assert_error(start(server, stages, criteria), 409, "already answers")
    prepare(server)
    assert_error(start(server, stages, criteria, version=9), 404, "version 9", "deploy")
    assert_error(server.post("/v1/models/nope/canary", json={"version": 2, "stages": stages}),
                 404, "nope")
    assert_error(server.post(CANARY, data="[]", headers=HEADERS), 400, "object")
    assert_error(server.post(CANARY, json={"stages": stages}), 400, "version")
    assert_error(start(server, [], criteria), 400, "stages")
    assert_error(start(server, [{"percent": 0, "duration_seconds": 1}], criteria), 400,
                 "stages[0].percent")
    assert_error(start(server, [{"percent": 10, "duration_seconds": 1},
                                {"percent": 120, "duration_seconds": 1}], criteria), 400,
                 "stages[1].percent")
    assert_error(start(server, [{"percent": 10}], criteria), 400, "duration_seconds")
    assert_error(start(server, stages, {"error_rate_max": 2}), 400, "error_rate_max")
    assert_error(start(server, stages, {"min_requests": 0}), 400, "min_requests")
    assert_error(start(server, stages, {"latency_p95_max_ms": -1}), 400, "latency_p95_max_ms")
    assert audit_actions(server) == []
    # a plain split is replaced by the canary (and does not come back after it)
    assert_json_response(server.put(f"/v1/models/{MODEL}/traffic",
                                    json={"traffic_split": {"1": 50, "2": 50}}), 200)
    state = assert_json_response(start(server, stages, criteria), 201)
    assert state["success_criteria"]["latency_p95_max_ms"] is None
    assert_error(start(server, stages, criteria), 409, "canary", "running")
    for _ in range(20):
        assert unversioned_version(server) in ("1", "2")
    aborted = assert_json_response(server.delete(CANARY, json={"reason": "wrong build"},
                                                 headers={"X-Inferd-User": "dave"}), 200)
    assert aborted["status"] == "aborted" and "wrong build" in aborted["end_reason"]
    assert aborted["history"][-1]["to"] == "aborted"
    assert canary(server)["status"] == "aborted"
    assert assert_json_response(server.get(f"/v1/models/{MODEL}/traffic"), 200)["rule"] is None
    assert all(unversioned_version(server) == "1" for _ in range(10))
    assert_error(server.delete(CANARY), 404, "aborted")
    entry = audit_actions(server)[-1]
    assert entry["action"] == "canary_abort" and entry["actor"] == "dave"
    lines = metric_lines(server)
    assert 'inferd_canary_transitions_total{model="mnist_mlp",to="abort"} 1' in lines
    # a new canary may start after the last one ended
    assert_json_response(start(server, stages, criteria), 201)
    assert_json_response(server.delete(CANARY), 200)


def test_canary_survives_a_restart(tmp_path, launch):
    root = make_repo(tmp_path)
    server = launch(root)
    prepare(server)
    load = Load(server, threads=1)
    assert_json_response(start(server, [{"percent": 20, "duration_seconds": 0.5},
                                        {"percent": 50, "duration_seconds": 120}],
                               {"error_rate_max": 0.05, "min_requests": 5}), 201)
    wait_stage(server, 1)
    load.stop()
    assert server.stop(signal.SIGTERM) == 0

    server = launch(root)
    state = canary(server)
    assert state["status"] == "running" and state["stage"] == 1 and state["percent"] == 50
    assert state["history"][-1]["from"] == state["history"][-1]["to"] == "stage 2"
    assert "resumed" in state["history"][-1]["reason"]
    assert state["rule"]["traffic_split"] == {"1": 50, "2": 50}
    assert state["rule"]["variants"][1]["requests"] == 0  # statistics afresh
    assert 'inferd_canary_stage{model="mnist_mlp"} 2' in metric_lines(server)
    assert {unversioned_version(server) for _ in range(40)} == {"1", "2"}
    assert_json_response(server.delete(CANARY), 200)
    assert server.stop(signal.SIGTERM) == 0

    server = launch(root)
    state = canary(server)
    assert state["status"] == "aborted" and state["rule"]["kind"] == "canary"
    assert [h["to"] for h in state["history"]] == ["stage 1", "stage 2", "stage 2", "aborted"]
    assert assert_json_response(server.get(f"/v1/models/{MODEL}/traffic"), 200)["rule"] is None
    assert all(unversioned_version(server) == "1" for _ in range(10))

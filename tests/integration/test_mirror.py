"""Shadow traffic: a share of live requests copied to another version off the request path and
compared with the answers callers got; callers never wait for it or see it."""

import json
import shutil
import signal
import subprocess
import threading
import time

import numpy as np

from conftest import (EXAMPLE_MODELS, SANITIZED, assert_error, assert_json_response,
                      case_request, mnist_case, scaled)


def make_repo(root, batching=False):
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd"))
    if batching:  # both versions behind a scheduler: the answer comes back in v2_on_jobs_done
        path = root / "mnist_mlp" / "config.json"
        config = json.loads(path.read_text())
        config.update({"instance_group": [{"count": 2}],
                       "dynamic_batching": {"max_queue_delay_microseconds": 1000}})
        path.write_text(json.dumps(config))
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


def put_shadow(server, version, percent):
    resp = server.put("/v1/models/mnist_mlp/shadow", json={"version": version, "percent": percent})
    return assert_json_response(resp, 200)


def wait_completed(server, count, timeout=20):
    deadline = time.monotonic() + timeout
    while shadow(server)["completed"] < count:
        assert time.monotonic() < deadline, f"the shadow did not complete {count}: {shadow(server)}"
        time.sleep(0.05)
    return shadow(server)


def answer(server, body, version=None):
    """(the version that answered, the first output as an array)."""
    reply = assert_json_response(server.infer("mnist_mlp", body, version=version), 200)
    out = reply["outputs"][0]
    return reply["model_version"], np.array(out["data"]).reshape(out["shape"])


def expected_agreement(primary, shadows):
    """What GET .../shadow should say after the shadow answered `shadows` where callers got
    `primary` (lists of [rows, classes] arrays)."""
    rows = sum(a.shape[0] for a in primary)
    matched = sum(int((a.argmax(axis=1) == b.argmax(axis=1)).sum())
                  for a, b in zip(primary, shadows))
    diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(primary, shadows)])
    return rows, matched / rows, float(diffs.mean()), float(diffs.max())


def assert_agreement(report, primary, shadows):
    rows, match_rate, mean_diff, max_diff = expected_agreement(primary, shadows)
    agreement = report["agreement"]
    assert agreement["compared"] == rows  # one comparison per row of class scores
    assert abs(agreement["exact_match_rate"] - match_rate) < 1e-9
    assert abs(agreement["mean_abs_diff"] - mean_diff) < 1e-6
    assert abs(agreement["max_abs_diff"] - max_diff) < 1e-6


def test_mirrored_requests_are_compared(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    distinct = bodies()
    before = [answer(server, body) for body in distinct]  # no shadow yet
    assert put_shadow(server, 1, 100)["version"] == 1
    sent = distinct * 5
    primary, shadows = [], []
    for i, body in enumerate(sent):
        version, got = answer(server, body)
        assert version == "2"  # the caller's answer is the primary's...
        assert np.array_equal(got, before[i % len(distinct)][1])  # ...and what it was without
        primary.append(got)
    for body in sent:  # what the shadow version answers (these name it: not mirrored)
        shadows.append(answer(server, body, version="1")[1])
    report = wait_completed(server, len(sent))
    assert report["mirrored"] == len(sent) == report["completed"]
    assert report["errors"] == 0 and report["dropped"] == 0
    assert_agreement(report, primary, shadows)
    assert report["latency_ms"]["p50"] > 0
    time.sleep(0.2)
    assert shadow(server)["mirrored"] == len(sent)  # requests answered by version 1 itself
    assert shadow(server)["completed"] == len(sent)


def test_scheduled_versions_are_mirrored_under_concurrency(tmp_path, launch):
    """The primary answers through its scheduler (the hook in v2_on_jobs_done) from several
    clients at once; the shadow, also scheduled, is run directly on the worker thread."""
    server = launch(make_repo(tmp_path, batching=True))
    distinct = bodies()
    expected = {i: answer(server, body)[1] for i, body in enumerate(distinct)}
    shadow_answers = {i: answer(server, body, version="1")[1] for i, body in enumerate(distinct)}
    put_shadow(server, 1, 100)
    per_client, clients = scaled(40), 4
    failures, primary, shadows, lock = [], [], [], threading.Lock()

    def client(offset):
        for n in range(per_client):
            i = (offset + n) % len(distinct)
            version, got = answer(server, distinct[i])
            with lock:
                if version != "2" or not np.array_equal(got, expected[i]):
                    failures.append((version, i))
                primary.append(got)
                shadows.append(shadow_answers[i])

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    total = per_client * clients
    report = wait_completed(server, total)
    assert report["mirrored"] == total and report["errors"] == 0 and report["dropped"] == 0
    assert_agreement(report, primary, shadows)


def caller_p50_ms(server, body, count):
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        assert_json_response(server.infer("mnist_mlp", body), 200)
        latencies.append((time.perf_counter() - start) * 1000)
    return float(np.median(latencies))


def test_a_failing_or_slow_shadow_never_reaches_callers(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    body = bodies()[0]
    _, expected = answer(server, body)
    resp = server.post("/v1/models/mnist_mlp/deployments",
                       json={"version": 1, "fault_injection": {"error_rate": 1}})
    assert_json_response(resp, 201)
    put_shadow(server, 1, 100)
    for _ in range(30):
        version, got = answer(server, body)
        assert version == "2" and np.array_equal(got, expected)
    report = wait_completed(server, 30)
    assert report["errors"] == 30 and report["agreement"]["compared"] == 0
    assert_json_response(server.delete("/v1/models/mnist_mlp/shadow"), 200)

    # slow: 50 ms per shadow run. Callers keep their latency; the bounded queue (256) fills and
    # the excess copies are dropped, never the requests
    without = caller_p50_ms(server, body, 200)
    resp = server.post("/v1/models/mnist_mlp/deployments",
                       json={"version": 1, "fault_injection": {"delay_ms": 50}})
    assert_json_response(resp, 201)
    put_shadow(server, 1, 100)
    with_slow_shadow = caller_p50_ms(server, body, 400)
    assert with_slow_shadow < 2 * without + (5 if SANITIZED else 1), (without, with_slow_shadow)
    report = shadow(server)
    assert report["dropped"] > 0, report
    assert report["mirrored"] + report["dropped"] == 400
    assert report["mirrored"] - report["completed"] <= 256 + 1  # queued, and the one running
    assert report["errors"] == 0


def test_percent_settings_errors_and_restart(tmp_path, launch):
    root = make_repo(tmp_path)
    server = launch(root)
    put_shadow(server, 1, 0)
    body = bodies()[0]
    for _ in range(50):
        server.infer("mnist_mlp", body)
    assert shadow(server)["mirrored"] == 0
    put_shadow(server, 1, 50)
    for _ in range(400):
        server.infer("mnist_mlp", body)
    mirrored = shadow(server)["mirrored"]
    assert 140 <= mirrored <= 260, mirrored
    # validation
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 9}), 404)
    assert_error(server.put("/v1/models/other/shadow", json={"version": 1}), 404)
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 1, "percent": 101}),
                 400, "percent")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 1, "percent": -1}),
                 400, "percent")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 1, "percent": "x"}),
                 400, "percent")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"percent": 5}), 400, "version")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": "one"}), 400,
                 "version")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", data="[1]"), 400, "object")
    assert_error(server.put("/v1/models/mnist_mlp/shadow", data="{"), 400)
    # version 2 serves every request itself: it cannot be its own shadow
    assert_error(server.put("/v1/models/mnist_mlp/shadow", json={"version": 2, "percent": 10}),
                 409, "serving version")
    assert_error(server.get("/v1/models/other/shadow"), 404)
    assert shadow(server)["version"] == 1 and shadow(server)["percent"] == 50  # unchanged
    text = server.get("/metrics").text
    assert 'inferd_shadow_requests_total{model="mnist_mlp",version="1"}' in text
    for name in ("inferd_shadow_dropped_total", "inferd_shadow_errors_total",
                 "inferd_shadow_agreement_ratio", "inferd_shadow_abs_diff_max"):
        assert f'{name}{{model="mnist_mlp",version="1"}}' in text
    promtool = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    assert server.stop(signal.SIGTERM) == 0

    server = launch(root)
    restored = shadow(server)
    assert restored["version"] == 1 and restored["percent"] == 50 and restored["mirrored"] == 0
    assert_json_response(server.delete("/v1/models/mnist_mlp/shadow"), 200)
    assert_error(server.get("/v1/models/mnist_mlp/shadow"), 404)
    assert_error(server.delete("/v1/models/mnist_mlp/shadow"), 404)
    actions = [e["action"] for e in assert_json_response(server.get("/v1/audit"), 200)["entries"]]
    assert actions.count("set_shadow") == 2  # 0 % and 50 %: a restart stores nothing again
    assert actions.count("delete_shadow") == 1
    assert server.stop(signal.SIGTERM) == 0
    server = launch(root)
    assert_error(server.get("/v1/models/mnist_mlp/shadow"), 404)  # the deletion is kept


def test_the_serving_version_may_shadow_the_other_side_of_a_split(tmp_path, launch):
    """With a traffic rule the serving version does not answer everything: it may then be the
    shadow of the requests the other variant answers, and only of those."""
    server = launch(make_repo(tmp_path))
    resp = server.put("/v1/models/mnist_mlp/traffic", json={"traffic_split": {"1": 50, "2": 50}})
    assert_json_response(resp, 200)
    put_shadow(server, 2, 100)
    body = bodies()[0]
    answered = [answer(server, body)[0] for _ in range(100)]
    by_version_1 = answered.count("1")
    assert 0 < by_version_1 < 100
    report = wait_completed(server, by_version_1)
    assert report["mirrored"] == by_version_1 and report["errors"] == 0

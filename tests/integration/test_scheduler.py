"""The scheduler: dynamic batching under concurrent load (batches form, results equal the
unbatched model's), a full queue answers 503 with Retry-After, a request past its timeout answers
504, and a higher priority is served first."""

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from conftest import (EXAMPLE_MODELS, SANITIZED, TEST_MODELS, ClientPool, assert_error,
                      assert_json_response, infer_path, mnist_workload, scaled)

# The queue-order tests need one busy instance while others wait; under a sanitizer, decoding a
# request is slower than running it (oneDNN is not instrumented), so that state cannot be set up.
# They run in the normal build; the sanitizer builds run the rest for leaks and races.
timing_sensitive = pytest.mark.skipif(SANITIZED, reason="queue timing needs the normal build")

SLOW_WIDTH = 512
HELD_MS = 250  # every execution of the "held" model takes this much longer (fault_injection)


def write_config(model_dir, config):
    (model_dir / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def sched_repo(tmp_path_factory):
    """mnist_mlp: plain (inline), with dynamic batching on one instance and on two; the slow
    MatMul chain behind a single instance with two priority levels, a queue of 4 and per-request
    timeouts allowed."""
    root = tmp_path_factory.mktemp("sched-repo")
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp")
    batched = root / "mnist_batched"
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", batched)
    write_config(batched, {"max_batch_size": 64, "instance_group": [{"count": 1}],
                           "dynamic_batching": {"max_queue_delay_microseconds": 4000}})
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_two")
    write_config(root / "mnist_two", {"max_batch_size": 64, "instance_group": [{"count": 2}],
                                      "dynamic_batching": {"max_queue_delay_microseconds": 2000}})
    for name, target_ms in (("mnist_tight", 0.001), ("mnist_loose", 1000)):
        shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / name)
        write_config(root / name, {
            "max_batch_size": 64, "instance_group": [{"count": 1}],
            "dynamic_batching": {"max_queue_delay_microseconds": 4000,
                                 "adaptive": {"target_p99_ms": target_ms}}})
    for name, fault in (("slow", None), ("held", {"delay_ms": HELD_MS})):
        shutil.copytree(TEST_MODELS / "slow_chain", root / name)
        config = {
            "max_batch_size": 256, "instance_group": [{"count": 1}],
            "dynamic_batching": {
                "preferred_batch_size": [1], "max_queue_delay_microseconds": 0,
                "priority_levels": 2, "default_priority_level": 2,
                "default_queue_policy": {"max_queue_size": 4, "allow_timeout_override": True,
                                         "timeout_action": "REJECT"}}}
        if fault:
            config["fault_injection"] = fault
        write_config(root / name, config)
    # the held model again, with a queue policy of its own for priority level 1
    shutil.copytree(TEST_MODELS / "slow_chain", root / "held_levels")
    write_config(root / "held_levels", {
        "max_batch_size": 256, "instance_group": [{"count": 1}],
        "fault_injection": {"delay_ms": HELD_MS},
        "dynamic_batching": {
            "preferred_batch_size": [1], "max_queue_delay_microseconds": 0,
            "priority_levels": 2, "default_priority_level": 2,
            "default_queue_policy": {"max_queue_size": 4},
            "priority_queue_policy": {"1": {"max_queue_size": 1}}}})
    return root


@pytest.fixture(scope="module")
def sched_server(sched_repo):
    from conftest import start_server
    srv = start_server(sched_repo)
    yield srv
    srv.kill()


_BODIES = {}


def slow_body(rows, **parameters):
    key = (rows, tuple(sorted(parameters.items())))
    if key not in _BODIES:
        _BODIES[key] = make_slow_body(rows, **parameters)
    return _BODIES[key]


def make_slow_body(rows, **parameters):
    data = np.full(rows * SLOW_WIDTH, 0.01, dtype=np.float32).tolist()
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [rows, SLOW_WIDTH], "data": data}]}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body)


def post_slow(server, body, results, key, model="slow"):
    resp = requests.post(server.url + infer_path(model), data=body, timeout=60,
                         headers={"Content-Type": "application/json"})
    results[key] = (resp, time.monotonic())


def post_held(server, body, results, key, model="held"):
    post_slow(server, body, results, key, model=model)


def occupy(server, results, count=2, model="held"):
    """Starts `count` (>= 2) requests on a held model (HELD_MS each on its one instance) and
    returns their threads once one of them waits in the queue, so that the instance is busy for
    a while yet."""
    threads = [threading.Thread(target=post_held,
                                args=(server, slow_body(1), results, f"big{i}", model))
               for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while metric(server, "inferd_pending_requests", model, version="1") < 1:
        assert time.monotonic() < deadline, "the occupying requests never queued"
        time.sleep(0.002)
    return threads


def metric(server, name, model, version="2"):
    """The value of metric `name` for `model` `version` (its success outcome for requests)."""
    text = server.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line \
                and f'version="{version}"' in line \
                and ('outcome=' not in line or 'outcome="success"' in line):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {model} not in /metrics")


def test_batches_form_and_results_equal_unbatched(sched_server):
    work = [(path.replace("/mnist_mlp/", "/mnist_batched/"), body, version, expected)
            for path, body, version, expected in mnist_workload() if version == "2"]
    pool = ClientPool(sched_server.url, work, clients=16, per_client=scaled(60))
    ok, problems = pool.join()
    assert not problems, problems[:5]
    assert ok == 16 * scaled(60)
    requests_done = metric(sched_server, "inferd_requests_total", "mnist_batched")
    executions = metric(sched_server, "inferd_execution_count_total", "mnist_batched")
    assert requests_done == ok
    assert executions < requests_done, "no batch larger than one request formed"

    # The same rows give exactly the same numbers whatever batch they ran in: requests sent
    # together (so that they share batches) against the same requests run one by one inline.
    bodies = [json.loads(body) for _, body, _, _ in work]
    batched = {}

    def send(index):
        batched[index] = assert_json_response(
            sched_server.infer("mnist_batched", bodies[index], version="2"), 200)

    for _ in range(3):
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for index, body in enumerate(bodies):
            plain = assert_json_response(sched_server.infer("mnist_mlp", body, version="2"), 200)
            assert batched[index]["outputs"][0]["data"] == plain["outputs"][0]["data"], index


def load_model(server, model):
    work = [(path.replace("/mnist_mlp/", f"/{model}/"), body, version, expected)
            for path, body, version, expected in mnist_workload() if version == "2"]
    pool = ClientPool(server.url, work, clients=16, per_client=scaled(40))
    ok, problems = pool.join()
    assert not problems, problems[:5]
    return ok


def instance_threads(server, model):
    """How many threads the server runs for `model`'s instances (named "sched:" and the model's
    name, cut to the 15 bytes the kernel keeps)."""
    name = ("sched:" + model)[:15]
    count = 0
    for task in Path(f"/proc/{server.proc.pid}/task").iterdir():
        try:
            count += (task / "comm").read_text().strip() == name
        except OSError:  # a thread that ended since the listing
            pass
    return count


def test_every_instance_keeps_serving_under_load(sched_server):
    """Two instances wait for the same batches under load, and one of them gets each: the other
    waits again (it used to end its thread, leaving the model one instance), and every answer is
    right."""
    assert instance_threads(sched_server, "mnist_two") == 2
    assert load_model(sched_server, "mnist_two") == 16 * scaled(40)
    assert instance_threads(sched_server, "mnist_two") == 2


def test_adaptive_batching_follows_its_latency_target(sched_server):
    """An unreachable target (1 us) keeps batches at one row; a loose one (1 s) lets them grow."""
    answered = load_model(sched_server, "mnist_tight")
    executions = metric(sched_server, "inferd_execution_count_total", "mnist_tight")
    assert executions == answered, "requests were merged although every batch misses the target"
    assert metric(sched_server, "inferd_batch_limit", "mnist_tight") == 1

    load_model(sched_server, "mnist_loose")
    assert metric(sched_server, "inferd_execution_count_total", "mnist_loose") < \
        metric(sched_server, "inferd_requests_total", "mnist_loose")
    assert metric(sched_server, "inferd_batch_limit", "mnist_loose") > 1


@timing_sensitive
def test_full_queue_answers_503(sched_server):
    results = {}
    threads = occupy(sched_server, results, count=3)  # one runs, two wait
    small = [threading.Thread(target=post_held, args=(sched_server, slow_body(1), results, f"s{i}"))
             for i in range(8)]
    for thread in small:
        thread.start()
    for thread in threads + small:
        thread.join(60)
    statuses = [resp.status_code for resp, _ in results.values()]
    assert set(statuses) <= {200, 503}, statuses
    assert 503 in statuses, f"a queue of 4 held 10 requests: {statuses}"
    refused = next(resp for resp, _ in results.values() if resp.status_code == 503)
    assert refused.headers.get("Retry-After") == "1"
    assert_error(refused, 503, "overloaded")
    assert any(results[f"big{i}"][0].status_code == 200 for i in range(3)), "nothing ran"


@timing_sensitive
def test_request_past_its_timeout_answers_504(sched_server):
    results = {}
    threads = occupy(sched_server, results)
    post_held(sched_server, slow_body(1, timeout=1000), results, "late")  # 1 ms allowed
    for thread in threads:
        thread.join(60)
    assert_error(results["late"][0], 504, "timeout")
    assert results["big0"][0].status_code == 200 and results["big1"][0].status_code == 200
    ok = requests.post(sched_server.url + infer_path("held"), data=slow_body(1, timeout=10000000),
                       headers={"Content-Type": "application/json"}, timeout=60)
    assert ok.status_code == 200


@timing_sensitive
def test_higher_priority_is_served_first(sched_server):
    results = {}
    threads = occupy(sched_server, results, count=3)  # one runs, two wait at the default level
    low = threading.Thread(target=post_held,
                           args=(sched_server, slow_body(1, priority=2), results, "low"))
    low.start()
    deadline = time.monotonic() + 10
    while metric(sched_server, "inferd_pending_requests", "held", version="1") < 3:
        assert time.monotonic() < deadline, "the priority-2 request never queued"
        time.sleep(0.002)
    high = threading.Thread(target=post_held,
                            args=(sched_server, slow_body(1, priority=1), results, "high"))
    high.start()
    for thread in threads + [low, high]:
        thread.join(60)
    assert results["low"][0].status_code == 200 and results["high"][0].status_code == 200
    assert results["high"][1] < results["low"][1], "the priority-2 request was answered first"


@timing_sensitive
def test_each_priority_level_has_its_own_queue_policy(sched_server):
    """priority_queue_policy gives level 1 a queue of one; level 2 keeps the default policy's 4."""
    results = {}
    threads = occupy(sched_server, results, model="held_levels")  # one runs, one waits at level 2
    first = threading.Thread(target=post_held, args=(sched_server, slow_body(1, priority=1),
                                                     results, "high", "held_levels"))
    first.start()
    deadline = time.monotonic() + 10
    while metric(sched_server, "inferd_pending_requests", "held_levels", version="1") < 2:
        assert time.monotonic() < deadline, "the priority-1 request never queued"
        time.sleep(0.002)
    refused = requests.post(sched_server.url + infer_path("held_levels"),
                            data=slow_body(1, priority=1), timeout=60,
                            headers={"Content-Type": "application/json"})
    assert_error(refused, 503, "priority level 1")
    assert refused.headers.get("Retry-After") == "1"
    low = threading.Thread(target=post_held, args=(sched_server, slow_body(1, priority=2),
                                                   results, "low", "held_levels"))
    low.start()
    for thread in threads + [first, low]:
        thread.join(60)
    assert {key: resp.status_code for key, (resp, _) in results.items()} == \
        {"big0": 200, "big1": 200, "high": 200, "low": 200}
    assert results["high"][1] < results["low"][1]


def test_priority_outside_levels_is_refused(sched_server):
    resp = requests.post(sched_server.url + infer_path("slow"), data=slow_body(1, priority=3),
                         headers={"Content-Type": "application/json"}, timeout=60)
    assert_error(resp, 400, "priority")


def requests_seen(server, model, version="1"):
    """inferd_requests_total of `model` summed over every outcome."""
    total = 0.0
    for line in server.get("/metrics").text.splitlines():
        if line.startswith("inferd_requests_total{") and f'model="{model}"' in line \
                and f'version="{version}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_clients_that_leave_before_their_answer(sched_server):
    """Requests whose clients hang up while queued or running: their results are dropped, the
    server keeps answering everybody else."""
    from conftest import assert_serves_mnist, connect, http_request_bytes
    big = slow_body(256).encode()
    small = slow_body(1).encode()
    before = requests_seen(sched_server, "slow")
    sent = scaled(40)
    for i in range(sent):
        with connect(sched_server) as sock:
            sock.sendall(http_request_bytes("POST", infer_path("slow"), big if i % 4 == 0 else small))
    deadline = time.monotonic() + 60  # the abandoned requests still get answers; wait for them
    while requests_seen(sched_server, "slow") < before + sent:
        assert time.monotonic() < deadline, "abandoned requests were never answered"
        time.sleep(0.05)
    assert_serves_mnist(sched_server)
    resp = requests.post(sched_server.url + infer_path("slow"), data=small,
                         headers={"Content-Type": "application/json"}, timeout=60)
    assert resp.status_code == 200


def test_many_requests_with_random_disconnects(sched_server):
    """Thousands of requests to the batching model, a random share of whose clients hang up
    before the answer (run under the sanitizer builds, this is the leak and race check): every
    answer that is read is right, and the server serves on."""
    import random
    from conftest import assert_serves_mnist, connect, http_request_bytes
    work = [(path.replace("/mnist_mlp/", "/mnist_batched/"), body)
            for path, body, version, _ in mnist_workload() if version == "2"]
    total = scaled(10000)
    problems, answered = [], []

    def client(seed, count):
        rng = random.Random(seed)
        for _ in range(count):
            path, body = work[rng.randrange(len(work))]
            with connect(sched_server) as sock:
                sock.sendall(http_request_bytes("POST", path, body))
                if rng.random() < 0.3:
                    continue  # hang up without reading
                try:
                    reply = sock.recv(65536)
                except OSError as error:  # a request accepted and never answered
                    problems.append(f"no answer: {error!r}".encode())
                    continue
                if reply.startswith(b"HTTP/1.1 200"):
                    answered.append(1)
                else:
                    problems.append(reply[:200])

    threads = [threading.Thread(target=client, args=(seed, total // 8)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not problems, problems[:3]
    assert len(answered) > total // 2
    assert_serves_mnist(sched_server)
    assert sched_server.alive()

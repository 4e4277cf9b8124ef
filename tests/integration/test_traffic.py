"""Traffic rules: weighted and sticky splits of the requests that name no version, a version or
label in the URL always winning, the answering version in the response, feedback, metrics, and
rules surviving a restart."""

import json
import shutil
import signal
import subprocess

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response, case_request,
                      mnist_case)


def make_repo(root):
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd"))
    return root


BODY = json.dumps(case_request(mnist_case("2"))).encode()


def infer(server, key=None, version=None, body=BODY):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Routing-Key"] = key
    path = "/v2/models/mnist_mlp" + (f"/versions/{version}" if version else "") + "/infer"
    resp = server.post(path, data=body, headers=headers)
    answer = assert_json_response(resp, 200)
    assert resp.headers["X-Model-Version"] == answer["model_version"]
    return answer["model_version"], resp.headers.get("X-Request-Id")


def put_traffic(server, split, strategy="random", **extra):
    return server.put("/v1/models/mnist_mlp/traffic",
                      json={"traffic_split": split, "strategy": strategy, **extra})


def test_weighted_split_and_url_versions_win(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    rule = assert_json_response(put_traffic(server, {"1": 80, "2": 20}), 200)["rule"]
    assert rule["traffic_split"] == {"1": 80, "2": 20} and rule["kind"] == "split"
    counts = {"1": 0, "2": 0}
    for _ in range(400):
        counts[infer(server)[0]] += 1
    assert 260 <= counts["1"] <= 380, counts  # 320 expected
    # a version or label in the URL always wins
    assert all(infer(server, version="2")[0] == "2" for _ in range(20))
    assert infer(server, version="previous")[0] == "1"
    traffic = assert_json_response(server.get("/v1/models/mnist_mlp/traffic"), 200)["rule"]
    by_version = {v["version"]: v for v in traffic["variants"]}
    assert by_version[1]["requests"] == counts["1"] and by_version[2]["requests"] == counts["2"]
    assert by_version[1]["latency_ms"]["p99"] > 0
    # everything to one version: blue-green's switch
    assert_json_response(put_traffic(server, {"1": 0, "2": 100}), 200)
    assert {infer(server)[0] for _ in range(30)} == {"2"}
    assert_json_response(server.delete("/v1/models/mnist_mlp/traffic"), 200)
    assert assert_json_response(server.get("/v1/models/mnist_mlp/traffic"), 200)["rule"] is None


def test_sticky_keys_keep_their_version_and_move_only_when_they_must(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    assert_json_response(put_traffic(server, {"1": 50, "2": 50}, "sticky"), 200)
    keys = [f"user-{i}" for i in range(200)]
    first = {key: infer(server, key)[0] for key in keys}
    assert all(infer(server, key)[0] == first[key] for key in keys[:40])
    on_one = sum(1 for v in first.values() if v == "1")
    assert 60 <= on_one <= 140, on_one
    # the routing key may also come in the request's parameters
    body = json.dumps(dict(case_request(mnist_case("2")),
                           parameters={"routing_key": "user-7"})).encode()
    assert infer(server, body=body)[0] == first["user-7"]
    # more weight on version 1: keys move from 2 to 1 only
    assert_json_response(put_traffic(server, {"1": 80, "2": 20}, "sticky"), 200)
    second = {key: infer(server, key)[0] for key in keys}
    moved = [k for k in keys if first[k] != second[k]]
    assert moved, "no key moved although the weights changed"
    assert all(first[k] == "2" and second[k] == "1" for k in moved)
    assert sum(1 for v in second.values() if v == "1") > on_one


def test_feedback_reaches_the_variant(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    assert_json_response(put_traffic(server, {"1": 50, "2": 50}), 200)
    plain = json.dumps({k: v for k, v in case_request(mnist_case("2")).items() if k != "id"})
    version, request_id = infer(server, body=plain.encode())
    assert request_id, "a routed request without an id gets one in X-Request-Id"
    resp = server.post("/v1/models/mnist_mlp/feedback", json={"request_id": request_id,
                                                              "reward": 1.5})
    assert assert_json_response(resp, 200)["accepted"] is True
    resp = server.post("/v1/models/mnist_mlp/feedback", json={"request_id": request_id,
                                                              "label": 3})
    assert_json_response(resp, 200)
    variants = {str(v["version"]): v for v in
                assert_json_response(server.get("/v1/models/mnist_mlp/traffic"), 200)["rule"]
                ["variants"]}
    feedback = variants[version]["feedback"]
    assert feedback["count"] == 2 and feedback["labels"] == 1
    assert_error(server.post("/v1/models/mnist_mlp/feedback",
                             json={"request_id": "never-seen", "reward": 1}), 404, "never-seen")
    assert_error(server.post("/v1/models/mnist_mlp/feedback", json={"request_id": request_id}),
                 400, "reward")
    assert_error(server.post("/v1/models/mnist_mlp/feedback", json={"reward": 1}), 400,
                 "request_id")


def test_bad_rules_are_refused(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    assert_error(put_traffic(server, {"1": 50, "9": 50}), 404, "version 9")
    assert_error(put_traffic(server, {"one": 50}), 400, "not a version number")
    assert_error(put_traffic(server, {"1": -5}), 400, ">= 0")
    assert_error(put_traffic(server, {"1": 0, "2": 0}), 400, "all be 0")
    assert_error(put_traffic(server, {"1": 1}, "round_robin"), 400, "strategy")
    assert_error(put_traffic(server, {}), 400, "split")
    assert_error(server.put("/v1/models/nope/traffic", json={"traffic_split": {"1": 1}}), 404)
    assert_error(server.delete("/v1/models/mnist_mlp/traffic"), 404, "no traffic split")
    assert_error(server.put("/v1/models/mnist_mlp/traffic", data="[]"), 400, "object")
    assert infer(server)[0] == "2"


def test_patch_deployment_traffic_and_metrics(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    resp = server.patch("/v1/models/mnist_mlp/deployments/prod/traffic",
                        json={"traffic_split": {"1": 100}})
    assert assert_json_response(resp, 200)["rule"]["traffic_split"] == {"1": 100}
    for _ in range(5):
        assert infer(server)[0] == "1"
    text = server.get("/metrics").text
    assert 'inferd_route_requests_total{model="mnist_mlp",version="1",decision="split"} 5' in text
    promtool = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr


def test_rules_survive_a_restart(tmp_path, launch):
    root = make_repo(tmp_path)
    server = launch(root)
    assert_json_response(put_traffic(server, {"1": 30, "2": 70}, "sticky"), 200)
    assert server.stop(signal.SIGTERM) == 0
    server = launch(root)
    rule = assert_json_response(server.get("/v1/models/mnist_mlp/traffic"), 200)["rule"]
    assert rule["traffic_split"] == {"1": 30, "2": 70} and rule["strategy"] == "sticky"
    actions = [e["action"] for e in
               assert_json_response(server.get("/v1/audit"), 200)["entries"]]
    assert "set_traffic" in actions


def bandit_share(server, strategy, rounds=300):
    """Feeds reward 1 for version 1 and 0 for version 2; returns version 1's share of the last
    100 requests."""
    assert_json_response(put_traffic(server, {"1": 50, "2": 50}, strategy, epsilon=0.1), 200)
    plain = json.dumps({k: v for k, v in case_request(mnist_case("2")).items()
                        if k != "id"}).encode()
    chosen = []
    for _ in range(rounds):
        version, request_id = infer(server, body=plain)
        chosen.append(version)
        resp = server.post("/v1/models/mnist_mlp/feedback",
                           json={"request_id": request_id, "reward": 1 if version == "1" else 0})
        assert_json_response(resp, 200)
    return chosen[-100:].count("1") / 100


def test_bandits_learn_from_feedback(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    assert bandit_share(server, "thompson") >= 0.8
    assert bandit_share(server, "epsilon_greedy") >= 0.8
    rule = assert_json_response(server.get("/v1/models/mnist_mlp/traffic"), 200)["rule"]
    assert rule["strategy"] == "epsilon_greedy" and rule["epsilon"] == 0.1
    means = {v["version"]: v["feedback"]["mean_reward"] for v in rule["variants"]}
    assert means[1] == 1 and means[2] in (0, None)

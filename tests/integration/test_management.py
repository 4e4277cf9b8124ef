"""The management API under /v1 and the registry behind it: registering versions (checksummed,
validated by loading, copied into the repository), deployments, default versions, labels,
rollback, undeploy and delete, the audit log, and state that survives a restart or a kill -9."""

import hashlib
import json
import shutil
import signal
import threading

from conftest import (EXAMPLE_MODELS, assert_error, assert_json_response, case_request,
                      mnist_case)

MNIST_V1 = EXAMPLE_MODELS / "mnist_mlp" / "1" / "model.onnx"
MNIST_V2 = EXAMPLE_MODELS / "mnist_mlp" / "2" / "model.onnx"


def make_repo(root):
    """mnist_mlp with version 1 only (latest-1 policy) and the example config."""
    model = root / "mnist_mlp"
    (model / "1").mkdir(parents=True)
    shutil.copy(MNIST_V1, model / "1" / "model.onnx")
    config = json.loads((EXAMPLE_MODELS / "mnist_mlp" / "config.json").read_text())
    for key in ("version_policy", "version_labels"):
        config.pop(key)
    (model / "config.json").write_text(json.dumps(config))
    return root


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def register(server, artifact, user="alice", **fields):
    body = {"name": "mnist_mlp", "artifact": str(artifact), **fields}
    return server.post("/v1/models", json=body, headers={"X-Inferd-User": user})


def answered_version(server, version=None):
    resp = server.infer("mnist_mlp", case_request(mnist_case("2")), version=version)
    return assert_json_response(resp, 200)["model_version"]


def detail(server, model="mnist_mlp"):
    return assert_json_response(server.get(f"/v1/models/{model}"), 200)


def audit(server, **query):
    resp = server.get("/v1/audit", params=query)
    return assert_json_response(resp, 200)["entries"]


def test_register_validates_checksums_and_copies(tmp_path, launch):
    root = make_repo(tmp_path / "repo")
    server = launch(root)
    resp = register(server, MNIST_V2, metadata={"accuracy": 0.97}, tags=["mlp", "digits"])
    record = assert_json_response(resp, 201)
    assert record["name"] == "mnist_mlp" and record["version"] == 2
    assert record["sha256"] == sha256(MNIST_V2)
    assert record["size_bytes"] == MNIST_V2.stat().st_size
    assert record["status"] == "draft" and record["created_by"] == "alice"
    assert record["metadata"] == {"accuracy": 0.97} and record["tags"] == ["mlp", "digits"]
    assert record["inputs"][0]["name"] == "input"
    stored = root / "mnist_mlp" / "2" / "model.onnx"
    assert stored.read_bytes() == MNIST_V2.read_bytes()
    assert record["artifact_path"] == str(stored)

    # registered is not serving: version 1 still answers
    assert answered_version(server) == "1"
    versions = {v["version"]: v for v in detail(server)["versions"]}
    assert versions[2]["state"] == "NOT_LOADED" and versions[1]["state"] == "AVAILABLE"
    assert versions[1]["status"] == "active"

    # a file:// URI, and the next free number when no version is given
    record = assert_json_response(register(server, f"file://{MNIST_V1}"), 201)
    assert record["version"] == 3
    entries = audit(server, model="mnist_mlp")
    assert [e["action"] for e in entries if e["action"] == "register"] == ["register"] * 2
    assert entries[-1]["actor"] == "alice" and entries[-1]["version"] == 3


def test_register_refuses_what_it_cannot_serve(tmp_path, launch):
    root = make_repo(tmp_path / "repo")
    server = launch(root)
    assert_error(register(server, MNIST_V1, version=1), 409, "already has a version 1")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(MNIST_V2.read_bytes()[:500])
    assert_error(register(server, broken, version=5), 422, "does not load")
    assert not (root / "mnist_mlp" / "5").exists()
    assert_error(server.get("/v1/models/mnist_mlp/versions/5"), 404)
    assert [e for e in audit(server) if e["action"] == "register"] == []
    assert_error(register(server, tmp_path / "absent.onnx"), 422, "not a readable file")
    assert_error(server.post("/v1/models", json={"name": "../escape", "artifact": str(MNIST_V1)}),
                 400, "not allowed")
    assert_error(server.post("/v1/models", json={"artifact": str(MNIST_V1)}), 400, "name")
    assert_error(server.post("/v1/models", data="{nope"), 400, "not valid JSON")
    assert_error(register(server, MNIST_V1, version="x"), 400, "version number")
    assert list((root / ".inferd").glob("staging-*")) == []


def test_concurrent_registrations_of_one_version(tmp_path, launch):
    server = launch(make_repo(tmp_path / "repo"))
    statuses = []

    def attempt():
        statuses.append(register(server, MNIST_V2, version=7).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201, 409]


def test_deploy_default_labels_rollback_undeploy_delete(tmp_path, launch):
    root = make_repo(tmp_path / "repo")
    server = launch(root)
    assert_json_response(register(server, MNIST_V2), 201)

    resp = server.post("/v1/models/mnist_mlp/deployments", headers={"X-Inferd-User": "bob"},
                       json={"version": 2, "instance_count": 1, "max_batch_size": 32,
                             "dynamic_batching": {"max_queue_delay_microseconds": 500},
                             "replicas": 3, "resources": {"cpu": "2"}})
    deployment = assert_json_response(resp, 201)
    assert deployment["version"] == 2 and deployment["active"] is True
    assert answered_version(server, "2") == "2"
    assert answered_version(server) == "2"  # the highest ready version, without a default
    info = detail(server)
    active = [d for d in info["deployments"] if d["active"]]
    assert {d["version"] for d in active} == {1, 2}
    api = next(d for d in active if d["version"] == 2)
    assert api["config"]["source"] == "api" and api["config"]["settings"]["replicas"] == 3
    assert api["created_by"] == "bob"
    statuses = {s["version"]: s["state"] for s in info["model_version_status"]}
    assert statuses == {"1": "AVAILABLE", "2": "AVAILABLE"}
    meta = assert_json_response(server.get("/v2/models/mnist_mlp/versions/2"), 200)
    assert meta["inputs"][0]["shape"] == [-1, 64]

    # default version
    assert_json_response(server.put("/v1/models/mnist_mlp/versions/1/default"), 200)
    assert answered_version(server) == "1"
    assert_error(server.put("/v1/models/mnist_mlp/versions/9/default"), 404, "not served")

    # labels
    resp = server.put("/v1/models/mnist_mlp/labels/canary", json={"version": 2})
    assert assert_json_response(resp, 200)["version"] == 2
    assert answered_version(server, "canary") == "2"
    assert detail(server)["labels"] == {"canary": 2}
    assert_error(server.put("/v1/models/mnist_mlp/labels/7up", json={"version": 2}), 400, "digit")
    assert_error(server.put("/v1/models/mnist_mlp/labels/x", json={"version": 9}), 404)
    assert_json_response(server.delete("/v1/models/mnist_mlp/labels/canary"), 200)
    assert_error(server.infer("mnist_mlp", case_request(mnist_case("2")), version="canary"), 404)

    # rollback: instant, audited with its reason
    resp = server.post("/v1/models/mnist_mlp/rollback", headers={"X-Inferd-User": "carol"},
                       json={"to_version": 2, "reason": "v1 drifts"})
    body = assert_json_response(resp, 200)
    assert body == {"model": "mnist_mlp", "default_version": 2, "previous_version": 1,
                    "reason": "v1 drifts"}
    assert answered_version(server) == "2"
    rollback = [e for e in audit(server) if e["action"] == "rollback"]
    assert rollback[-1]["actor"] == "carol" and rollback[-1]["reason"] == "v1 drifts"
    assert rollback[-1]["detail"] == {"from_version": 1, "to_version": 2}

    # delete: refused while served, then undeploy, then delete
    assert_error(server.delete("/v1/models/mnist_mlp/versions/2"), 409, "serves traffic")
    resp = server.post("/v1/models/mnist_mlp/versions/1/undeploy")
    assert_error(resp, 409, "version_policy")
    assert_json_response(server.post("/v1/models/mnist_mlp/versions/2/undeploy"), 200)
    assert answered_version(server) == "1"
    assert_json_response(server.delete("/v1/models/mnist_mlp/versions/2"), 200)
    assert not (root / "mnist_mlp" / "2").exists()
    versions = {v["version"]: v for v in detail(server)["versions"]}
    assert versions[2]["status"] == "archived"
    assert_error(server.delete("/v1/models/mnist_mlp/versions/2"), 404)

    # the audit log: every change, oldest first, filtered and paged
    entries = audit(server, model="mnist_mlp")
    actions = [e["action"] for e in entries]
    for action in ("register", "deploy", "set_default", "set_label", "delete_label", "rollback",
                   "undeploy", "delete"):
        assert action in actions, (action, actions)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids)
    assert audit(server, after=ids[-2]) == entries[-1:]
    assert len(audit(server, limit=2)) == 2
    assert audit(server, model="other") == []
    assert_error(server.get("/v1/audit", params={"limit": "0"}), 400, "limit")


def test_list_and_unknown_models(tmp_path, launch):
    server = launch(make_repo(tmp_path / "repo"))
    listing = assert_json_response(server.get("/v1/models"), 200)["models"]
    assert listing == [{"name": "mnist_mlp", "default_version": None, "versions": [1],
                        "serving": [1], "labels": {}}]
    assert_error(server.get("/v1/models/nope"), 404, "unknown model")
    assert_error(server.post("/v1/models/nope/rollback", json={"to_version": 1}), 404)
    assert_error(server.post("/v1/models/mnist_mlp/deployments", json={"version": 9}), 404,
                 "no version folder 9")
    assert_error(server.post("/v1/models/mnist_mlp/deployments", json={}), 400, "version")
    resp = server.post("/v1/models/mnist_mlp/deployments",
                       json={"version": 1, "instance_count": "many"})
    assert_error(resp, 400, "deployment settings")
    assert answered_version(server) == "1"


def restart_state(server):
    info = detail(server)
    return {"serving": sorted(s["version"] for s in info["model_version_status"]),
            "default": info["default_version"], "labels": info["labels"],
            "answer": answered_version(server),
            "active": sorted((d["version"], d["config"]["source"]) for d in info["deployments"]
                             if d["active"])}


def change_everything(server):
    assert_json_response(register(server, MNIST_V2), 201)
    assert_json_response(server.post("/v1/models/mnist_mlp/deployments",
                                     json={"version": 2, "instance_count": 1}), 201)
    assert_json_response(server.put("/v1/models/mnist_mlp/labels/stable", json={"version": 1}),
                         200)
    assert_json_response(server.post("/v1/models/mnist_mlp/rollback",
                                      json={"to_version": 1, "reason": "test"}), 200)


def test_restart_serves_what_served_before(tmp_path, launch):
    root = make_repo(tmp_path / "repo")
    server = launch(root)
    change_everything(server)
    before = restart_state(server)
    assert before["serving"] == ["1", "2"] and before["default"] == 1
    assert server.stop(signal.SIGTERM) == 0
    server = launch(root)
    assert restart_state(server) == before
    assert answered_version(server, "stable") == "1"


def test_kill_9_keeps_every_acknowledged_change(tmp_path, launch):
    root = make_repo(tmp_path / "repo")
    server = launch(root, "--model-control-mode", "explicit", "--load-model", "mnist_mlp")
    change_everything(server)
    before = restart_state(server)
    server.stop(signal.SIGKILL)
    # explicit mode loads nothing by itself: what comes back is the registry's doing
    server = launch(root, "--model-control-mode", "explicit")
    assert restart_state(server) == before
    entries = audit(server, model="mnist_mlp")
    assert [e["action"] for e in entries if e["action"] == "rollback"] == ["rollback"]


def test_without_a_registry(tmp_path, launch):
    server = launch(make_repo(tmp_path / "repo"), "--registry", "none")
    assert_error(server.get("/v1/audit"), 404, "without a registry")
    assert answered_version(server) == "1"
    assert detail(server)["versions"][0]["state"] == "AVAILABLE"
    assert not (tmp_path / "repo" / ".inferd" / "registry.db").exists()


def test_registry_that_cannot_open_stops_the_server(tmp_path):
    from conftest import INFERD_BIN
    import subprocess
    (tmp_path / "not-a-db").write_text("plain text, not SQLite")
    proc = subprocess.run([str(INFERD_BIN), "serve", "--model-repository",
                           str(make_repo(tmp_path / "repo")), "--http-port", "0", "--registry",
                           str(tmp_path / "not-a-db")], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode != 0
    assert "--registry" in proc.stderr


def test_kill_9_during_updates_keeps_what_was_acknowledged(tmp_path, launch):
    """Label changes stream in; the server is killed with SIGKILL in the middle. After a
    restart the label points where the last acknowledged change (or the one in flight) put it,
    and the audit log holds every acknowledged change."""
    root = make_repo(tmp_path / "repo")
    server = launch(root)
    assert_json_response(register(server, MNIST_V2), 201)
    assert_json_response(server.post("/v1/models/mnist_mlp/deployments", json={"version": 2}),
                         201)
    acked, sent = [], []
    stop = threading.Event()

    def flip():
        import requests
        i = 0
        while not stop.is_set():
            version = 1 + i % 2
            sent.append(version)
            try:
                resp = requests.put(server.url + "/v1/models/mnist_mlp/labels/live",
                                    json={"version": version}, timeout=5)
            except requests.RequestException:
                return
            if resp.status_code == 200:
                acked.append(version)
            i += 1

    thread = threading.Thread(target=flip)
    thread.start()
    import time
    deadline = time.monotonic() + 10
    while len(acked) < 25 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop(signal.SIGKILL)
    stop.set()
    thread.join(10)
    assert len(acked) >= 25
    server = launch(root)
    label = detail(server)["labels"]["live"]
    assert label in (acked[-1], sent[-1])
    set_labels = [e for e in audit(server, model="mnist_mlp", limit=10000)
                  if e["action"] == "set_label"]
    assert len(set_labels) >= len(acked)

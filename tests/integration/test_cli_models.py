"""`inferd models ...` and `inferd audit` against a running server: tables whose rows are the
API's, --json equal to the API's answers, errors with non-zero exits and the server's message,
and a distinct message when no server answers."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import (EXAMPLE_MODELS, INFERD_BIN, assert_json_response, case_request, free_port,
                      mnist_case)

MNIST_V1 = EXAMPLE_MODELS / "mnist_mlp" / "1" / "model.onnx"
SUBCOMMANDS = ("list", "show", "register", "deploy", "default", "label", "rollback", "unload")


def copy_examples(root):
    """A copy of examples/models (without any state a server left in it)."""
    shutil.copytree(EXAMPLE_MODELS, root / "models", ignore=shutil.ignore_patterns(".inferd"))
    return root / "models"


def make_repo(root):
    """mnist_mlp with only its version 2, so that a registration gets version 3."""
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd", "1"))
    return root


def cli(server, *args, url=None, user="tester", cwd=None):
    env = dict(os.environ, USER=user)
    env.pop("INFERD_URL", None)
    if url is not None or server is not None:
        env["INFERD_URL"] = url or server.url
    return subprocess.run([str(INFERD_BIN), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60, cwd=cwd, stdin=subprocess.DEVNULL)


def ok(server, *args, **kwargs):
    proc = cli(server, *args, **kwargs)
    assert proc.returncode == 0, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def fails(server, status, *args, **kwargs):
    """Runs a command the server must refuse; returns its stderr (one line)."""
    proc = cli(server, *args, **kwargs)
    assert proc.returncode == 1, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout == ""
    assert f"HTTP {status}: " in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def usage_error(*args):
    proc = cli(None, *args, url="http://127.0.0.1:9")
    assert proc.returncode == 2, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def table(text):
    """A printed table as a list of dicts keyed by its header (cells hold no blanks here)."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0].split()
    return [dict(zip(header, line.split())) for line in lines[1:]]


def compact(value):
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def test_list_and_show_print_the_apis_rows(tmp_path, launch):
    server = launch(copy_examples(tmp_path))
    api = assert_json_response(server.get("/v1/models"), 200)
    rows = table(ok(server, "models", "list"))
    assert [r["NAME"] for r in rows] == [m["name"] for m in api["models"]]
    assert {"credit_risk", "mnist_mlp"} <= {r["NAME"] for r in rows}
    for row, model in zip(rows, api["models"]):
        assert row == {"NAME": model["name"], "DEFAULT": compact(model["default_version"]),
                       "SERVING": compact(model["serving"]),
                       "VERSIONS": compact(model["versions"]), "LABELS": compact(model["labels"])}

    detail = assert_json_response(server.get("/v1/models/mnist_mlp"), 200)
    shown = ok(server, "models", "show", "mnist_mlp")
    fields, versions, deployments = shown.split("\n\n")
    assert fields.splitlines()[0].split() == ["model:", "mnist_mlp"]
    assert f"labels:   {compact(detail['labels'])}" in fields
    rows = table(versions)
    assert [r["VERSION"] for r in rows] == [str(v["version"]) for v in detail["versions"]]
    for row, version in zip(rows, detail["versions"]):
        assert row["STATE"] == version["state"] == "AVAILABLE"
        assert row["STATUS"] == version["status"]
        assert row["BYTES"] == str(version["size_bytes"])
        assert version["sha256"].startswith(row["SHA256"]) and len(row["SHA256"]) == 12
    assert [r["DEPLOYMENT"] for r in table(deployments)] == [
        str(d["id"]) for d in detail["deployments"]]
    # columns line up: every row of the versions table is as long as its header or shorter
    lines = versions.splitlines()
    assert all(line == line.rstrip() for line in shown.splitlines())
    assert lines[0].index("STATUS") == lines[1].index(rows[0]["STATUS"])


def test_json_output_is_the_apis_answer(tmp_path, launch):
    server = launch(copy_examples(tmp_path))
    for args, path in ((("models", "list"), "/v1/models"),
                       (("models", "show", "credit_risk"), "/v1/models/credit_risk"),
                       (("audit", "--limit", "3"), "/v1/audit?limit=3"),
                       (("audit", "--model", "mnist_mlp"), "/v1/audit?model=mnist_mlp")):
        printed = json.loads(ok(server, *args, "--json"))
        assert printed == assert_json_response(server.get(path), 200), args
    registered = json.loads(ok(server, "models", "register", "mnist_mlp", "--artifact", MNIST_V1,
                               "--json"))
    assert registered["name"] == "mnist_mlp" and registered["version"] == 3
    assert len(registered["sha256"]) == 64


def test_the_whole_rollout_from_the_command_line(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    rows = table(ok(server, "models", "list"))
    assert rows == [{"NAME": "mnist_mlp", "DEFAULT": "-", "SERVING": "2", "VERSIONS": "2",
                     "LABELS": "previous=1,stable=2"}]  # config.json's labels
    out = ok(server, "models", "register", "mnist_mlp", "--artifact", MNIST_V1, "--tags",
             "small, digits", "--metadata", '{"accuracy": 0.9}', "--reason", "retrained")
    assert "registered mnist_mlp version 3" in out
    assert "inferd models deploy mnist_mlp --version 3" in out
    version = assert_json_response(server.get("/v1/models/mnist_mlp"), 200)["versions"][-1]
    assert version["tags"] == ["small", "digits"] and version["metadata"] == {"accuracy": 0.9}
    assert version["created_by"] == "tester"
    assert "mnist_mlp version 3 serves" in ok(server, "models", "deploy", "mnist_mlp", "--version",
                                              "3", "--instances", "1", "--queue-delay-us", "100",
                                              "--default")
    body = case_request(mnist_case("1"))
    assert assert_json_response(server.infer("mnist_mlp", body), 200)["model_version"] == "3"
    assert "label canary -> version 3" in ok(server, "models", "label", "mnist_mlp", "canary", "3")
    assert "default version 3" in ok(server, "models", "default", "mnist_mlp", "3")
    out = ok(server, "models", "rollback", "mnist_mlp", "--to", "2", "--reason", "p99 too high",
             user="oncall")
    assert out == "mnist_mlp: rolled back from version 3 to 2 (reason: p99 too high)\n"
    assert assert_json_response(server.infer("mnist_mlp", body), 200)["model_version"] == "2"
    shown = ok(server, "models", "show", "mnist_mlp")
    assert "default:  2" in shown and "canary=3" in shown
    rows = {r["VERSION"]: r for r in table(shown.split("\n\n")[1])}
    assert set(rows) == {"2", "3"}
    assert rows["3"]["BY"] == "tester" and rows["3"]["TAGS"] == "small,digits"
    # the audit log names who did what and why
    entries = table(ok(server, "audit", "--model", "mnist_mlp", "--limit", "100"))
    actions = [(e["ACTOR"], e["ACTION"]) for e in entries]
    for action in ("register", "deploy", "set_label", "set_default"):
        assert ("tester", action) in actions, actions
    rollback = [e for e in entries if e["ACTION"] == "rollback"]
    assert rollback and rollback[-1]["ACTOR"] == "oncall"
    assert "p99 too high" in ok(server, "audit", "--model", "mnist_mlp")
    assert "no longer serves" in ok(server, "models", "unload", "mnist_mlp", "--version", "3")
    detail = assert_json_response(server.get("/v1/models/mnist_mlp"), 200)
    assert [d["version"] for d in detail["deployments"] if d["active"]] == [2]
    # unloading a whole model is the repository API's: explicit mode only
    stderr = fails(server, 400, "models", "unload", "mnist_mlp")
    assert "--model-control-mode explicit" in stderr


def test_audit_pages_on_with_after(tmp_path, launch):
    server = launch(copy_examples(tmp_path))
    everything = assert_json_response(server.get("/v1/audit"), 200)["entries"]
    assert len(everything) > 3
    proc = cli(server, "audit", "--limit", "2")
    assert proc.returncode == 0
    first = table(proc.stdout)
    assert [int(e["ID"]) for e in first] == [e["id"] for e in everything[:2]]
    assert f"inferd audit --after {everything[1]['id']}" in proc.stderr
    rest = table(ok(server, "audit", "--after", everything[1]["id"], "--limit", "2"))
    assert [int(e["ID"]) for e in rest] == [e["id"] for e in everything[2:4]]


def test_relative_artifact_paths_are_the_callers(tmp_path, launch):
    server = launch(make_repo(tmp_path / "repo"))
    work = tmp_path / "work"
    (work / "v3").mkdir(parents=True)
    shutil.copy(MNIST_V1, work / "v3" / "model.onnx")
    out = ok(server, "models", "register", "mnist_mlp", "--artifact", "v3/model.onnx", cwd=work)
    assert "registered mnist_mlp version 3" in out


def test_unload_in_explicit_mode(tmp_path, launch):
    server = launch(make_repo(tmp_path), "--model-control-mode", "explicit", "--load-model",
                    "mnist_mlp")
    assert "mnist_mlp unloaded" in ok(server, "models", "unload", "mnist_mlp")
    assert server.get("/v2/models/mnist_mlp").status_code == 404


def test_server_refusals_exit_1_with_its_message(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    before = assert_json_response(server.get("/v1/models/mnist_mlp"), 200)
    stderr = fails(server, 422, "models", "register", "mnist_mlp", "--artifact",
                   tmp_path / "no.onnx")
    assert "not a readable file" in stderr and stderr.startswith("inferd: POST /v1/models: ")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(MNIST_V1.read_bytes()[:1000])
    fails(server, 422, "models", "register", "mnist_mlp", "--artifact", broken)
    stderr = fails(server, 409, "models", "register", "mnist_mlp", "--artifact", MNIST_V1,
                   "--version", "2")
    assert "already has a version 2" in stderr
    assert assert_json_response(server.get("/v1/models/mnist_mlp"), 200) == before
    assert "unknown model 'absent'" in fails(server, 404, "models", "show", "absent")
    fails(server, 404, "models", "deploy", "mnist_mlp", "--version", "7")
    fails(server, 404, "models", "rollback", "absent", "--to", "1")
    # a name that is not a plain path segment stays one segment
    assert "GET /v1/models/a%2Fb%3Fc" in fails(server, 404, "models", "show", "a/b?c")


def test_usage_mistakes_exit_2_before_any_request():
    assert "--version N is required" in usage_error("models", "deploy", "mnist_mlp")
    assert "--artifact PATH is required" in usage_error("models", "register", "mnist_mlp")
    assert "VERSION must be a version number" in usage_error("models", "default", "m", "two")
    assert "does not take --artifact" in usage_error("models", "list", "--artifact", "x")
    assert "unknown option '--frobnicate'" in usage_error("models", "show", "m", "--frobnicate")
    assert "expected MODEL LABEL VERSION" in usage_error("models", "label", "m", "stable")
    assert "--metadata must be a JSON object" in usage_error(
        "models", "register", "m", "--artifact", "/x", "--metadata", "accuracy=1")
    assert "http:// or https://" in usage_error("models", "list", "--url", "localhost:8000")
    assert "--limit takes a whole number" in usage_error("audit", "--limit", "lots")
    proc = cli(None, "models", "frobnicate")
    assert proc.returncode == 2 and "unknown command 'frobnicate'" in proc.stderr
    proc = cli(None, "models")
    assert proc.returncode == 2 and "usage: inferd models" in proc.stderr


def test_every_subcommand_has_help():
    proc = cli(None, "models", "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    for name in SUBCOMMANDS:
        assert f"inferd models {name}" in proc.stdout
        sub = cli(None, "models", name, "--help")
        assert sub.returncode == 0, sub.stderr
        assert sub.stdout.startswith(f"usage: inferd models {name}")
        assert "--url URL" in sub.stdout and "Exit status" in sub.stdout
        assert all(len(line) < 80 for line in sub.stdout.splitlines())
    assert "--artifact PATH" in cli(None, "models", "register", "--help").stdout
    assert "--queue-delay-us N" in cli(None, "models", "deploy", "--help").stdout
    audit = cli(None, "audit", "--help")
    assert audit.returncode == 0 and "--after ID" in audit.stdout


@pytest.mark.parametrize("args", [("models", "list"), ("models", "show", "m"), ("audit",),
                                  ("models", "rollback", "m", "--to", "1")])
def test_an_unreachable_server_has_its_own_message(args):
    url = f"http://127.0.0.1:{free_port()}"
    proc = cli(None, *args, url=url)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"inferd: cannot reach the server at {url}: ")
    assert "INFERD_URL" in proc.stderr and "HTTP" not in proc.stderr


def test_the_url_comes_from_the_environment_or_the_flag(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    # INFERD_URL points nowhere; --url wins
    dead = f"http://127.0.0.1:{free_port()}"
    assert "mnist_mlp" in ok(None, "models", "list", "--url", server.url + "/", url=dead)
    assert cli(None, "models", "list", url=dead).returncode == 1

"""`inferd models ...` and `inferd audit` against a running server: tables, --json equal to the
API's answers, errors with non-zero exits and the server's message."""

import json
import os
import shutil
import subprocess

from conftest import EXAMPLE_MODELS, INFERD_BIN, assert_json_response, case_request, mnist_case


def make_repo(root):
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", root / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd", "1"))
    return root


def cli(server, *args, url=None):
    env = dict(os.environ, INFERD_URL=url or server.url, USER="tester")
    return subprocess.run([str(INFERD_BIN), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def ok(server, *args):
    proc = cli(server, *args)
    assert proc.returncode == 0, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_the_whole_rollout_from_the_command_line(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    listing = ok(server, "models", "list")
    assert listing.splitlines()[0].split() == ["NAME", "DEFAULT", "SERVING", "VERSIONS", "LABELS"]
    assert listing.splitlines()[1].split()[:3] == ["mnist_mlp", "-", "2"]
    out = ok(server, "models", "register", "mnist_mlp", "--artifact",
             str(EXAMPLE_MODELS / "mnist_mlp" / "1" / "model.onnx"), "--tags", "small,digits",
             "--metadata", '{"accuracy": 0.9}')
    assert "registered mnist_mlp version 3" in out
    assert "deployed" not in out
    assert "serves" in ok(server, "models", "deploy", "mnist_mlp", "--version", "3", "--instances",
                          "1", "--queue-delay-us", "100", "--default")
    body = case_request(mnist_case("1"))
    assert assert_json_response(server.infer("mnist_mlp", body), 200)["model_version"] == "3"
    assert "label canary -> version 3" in ok(server, "models", "label", "mnist_mlp", "canary", "3")
    out = ok(server, "models", "rollback", "mnist_mlp", "--to", "2", "--reason", "p99 too high")
    assert "rolled back from version 3 to 2" in out and "p99 too high" in out
    assert assert_json_response(server.infer("mnist_mlp", body), 200)["model_version"] == "2"
    shown = ok(server, "models", "show", "mnist_mlp")
    assert "default:  2" in shown and "canary=3" in shown
    rows = {line.split()[0]: line.split() for line in shown.splitlines()
            if line[:1].isdigit() and "AVAILABLE" in line}
    assert set(rows) == {"2", "3"} and rows["3"][-1] == "tester"
    # --json prints exactly what the API answers
    as_json = json.loads(ok(server, "models", "show", "mnist_mlp", "--json"))
    assert as_json == assert_json_response(server.get("/v1/models/mnist_mlp"), 200)
    audit = ok(server, "audit", "--model", "mnist_mlp", "--limit", "100")
    for action in ("register", "deploy", "set_label", "rollback"):
        assert action in audit
    assert "p99 too high" in audit
    audit_json = json.loads(ok(server, "audit", "--json"))
    assert audit_json["entries"][0]["id"] == 1
    assert "no longer serves" in ok(server, "models", "unload", "mnist_mlp", "--version", "3")
    # unloading a whole model is the repository API's: explicit mode only
    proc = cli(server, "models", "unload", "mnist_mlp")
    assert proc.returncode == 1 and "--model-control-mode explicit" in proc.stderr


def test_unload_in_explicit_mode(tmp_path, launch):
    server = launch(make_repo(tmp_path), "--model-control-mode", "explicit", "--load-model",
                    "mnist_mlp")
    assert "mnist_mlp unloaded" in ok(server, "models", "unload", "mnist_mlp")
    assert server.get("/v2/models/mnist_mlp").status_code == 404


def test_errors_exit_non_zero_with_a_message(tmp_path, launch):
    server = launch(make_repo(tmp_path))
    proc = cli(server, "models", "register", "mnist_mlp", "--artifact", str(tmp_path / "no.onnx"))
    assert proc.returncode == 1
    assert "HTTP 422" in proc.stderr and "not a readable file" in proc.stderr
    proc = cli(server, "models", "show", "absent")
    assert proc.returncode == 1 and "unknown model 'absent'" in proc.stderr
    proc = cli(server, "models", "deploy", "mnist_mlp")
    assert proc.returncode == 2 and "--version N is required" in proc.stderr
    proc = cli(server, "models", "default", "mnist_mlp", "two")
    assert proc.returncode == 2
    proc = cli(server, "models", "frobnicate")
    assert proc.returncode == 2 and "unknown command" in proc.stderr
    proc = cli(server, "models", "list", url="http://127.0.0.1:1")
    assert proc.returncode == 1 and "cannot reach the server" in proc.stderr
    assert cli(server, "models", "--help").returncode == 0
    assert "--artifact" in cli(server, "models", "register", "--help").stdout
    assert cli(server, "audit", "--help").returncode == 0

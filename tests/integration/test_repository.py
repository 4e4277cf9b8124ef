"""A repository with broken models: the good ones are served, the broken ones are reported with
their reason in the log and on the ready endpoints."""

import re
import shutil

import pytest

from conftest import (BROKEN_MODELS, TEST_MODELS, assert_json_response, assert_outputs_match,
                      case_request, load_reference, require_path)

LOADED_VERSIONS = [("mnist_mlp", "1"), ("mnist_mlp", "2"), ("credit_risk", "1"),
                   ("typed_identity", "1"), ("ops_mix", "1")]


def log_lines_naming(server, model):
    """The stderr lines naming `model` as a whole word."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(model)}(?![\w-])")
    return [line for line in server.stderr_text().splitlines() if pattern.search(line)]


def api_reasons(server, model):
    """The reasons the ready endpoints give for a model that failed to load."""
    reasons = []
    for path in (f"/v2/models/{model}/ready", f"/v2/models/{model}/versions/1/ready"):
        body = assert_json_response(server.get(path), 503)
        reasons.append(body["error"])
    return reasons


@pytest.mark.parametrize("reference", ["mnist_mlp_v1", "mnist_mlp_v2", "credit_risk_v1"])
def test_good_models_served_next_to_broken_ones(server, reference):
    ref = load_reference(reference)
    for case in ref["cases"]:
        resp = server.infer(ref["model"], case_request(case), version=str(ref["version"]))
        assert_outputs_match(assert_json_response(resp, 200), case["outputs"])


@pytest.mark.parametrize("model, version", LOADED_VERSIONS)
def test_log_line_per_loaded_version(server, model, version):
    lines = [line for line in log_lines_naming(server, model)
             if f"version {version}" in line and "loaded" in line]
    assert len(lines) == 1, f"expected one 'loaded' line for {model} version {version}:\n" \
                            + server.stderr_text()
    assert "failed" not in lines[0]


@pytest.mark.parametrize("model", BROKEN_MODELS)
def test_log_line_per_failed_model(server, model):
    lines = [line for line in log_lines_naming(server, model) if "failed to load" in line]
    assert len(lines) == 1, f"expected one 'failed to load' line for {model}:\n" \
                            + server.stderr_text()
    logged_reason = lines[0].split("failed to load", 1)[1].strip(" :-")
    assert logged_reason, f"no reason in {lines[0]!r}"
    for reason in api_reasons(server, model):
        assert logged_reason in reason, "the log and the ready endpoint disagree on the reason"
    assert not any("loaded" in line for line in log_lines_naming(server, model))


def test_unsupported_op_reason_names_op_and_node(server):
    reasons = api_reasons(server, "unsupported_op")
    failed = [line for line in log_lines_naming(server, "unsupported_op")
              if "failed to load" in line]
    for text in reasons + failed:
        assert "FrobnicateOp" in text and "mystery_node" in text, text


@pytest.mark.parametrize("model", ["truncated_mlp", "empty_model"])
def test_broken_model_reason_is_given(server, model):
    for reason in api_reasons(server, model):
        assert isinstance(reason, str) and len(reason.strip()) >= 5, reason


def test_repository_of_only_broken_models_is_ready(launch, tmp_path):
    shutil.copytree(require_path(TEST_MODELS / "unsupported_op"), tmp_path / "unsupported_op")
    (tmp_path / "empty_model" / "1").mkdir(parents=True)
    srv = launch(tmp_path)
    assert assert_json_response(srv.get("/v2/health/ready"), 200) == {"ready": True}
    assert assert_json_response(srv.get("/v2/models/unsupported_op/ready"), 503)["ready"] is False
    assert srv.stop() == 0, srv.stderr_text()

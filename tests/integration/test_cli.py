"""The command line: --version, --help, usage errors, and the defaults of `serve`."""

import re
import socket
import subprocess

import pytest

from conftest import (EXAMPLE_MODELS, assert_json_response, free_port, require_binary,
                      require_path, spawn_server)

SERVE_OPTIONS = ("--model-repository", "--http-port", "--threads", "--max-body-bytes",
                 "--reply-hold-us", "--max-connections")


def run_inferd(*args, timeout=10):
    """Runs inferd to completion (a server that starts by mistake is killed and fails the test)."""
    try:
        return subprocess.run([str(require_binary()), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"inferd {' '.join(map(str, args))} still running after {timeout} s")


def test_version():
    result = run_inferd("--version")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"inferd \d+\.\d+\.\d+\S*\n?", result.stdout), result.stdout


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]], ids=["main", "serve"])
def test_help_lists_serve_options(args):
    result = run_inferd(*args)
    assert result.returncode == 0, result.stderr
    for option in SERVE_OPTIONS:
        assert option in result.stdout, f"'inferd {' '.join(args)}' does not mention {option}"


def test_serve_requires_model_repository():
    result = run_inferd("serve", "--http-port", free_port(), "--http-address", "127.0.0.1")
    assert result.returncode == 2
    assert "--model-repository" in result.stderr


def test_missing_repository_directory(tmp_path):
    missing = tmp_path / "no-such-repository"
    result = run_inferd("serve", "--model-repository", missing, "--http-port", free_port(),
                        "--http-address", "127.0.0.1")
    assert result.returncode != 0
    assert str(missing) in result.stderr


@pytest.mark.parametrize("args", [
    ["--no-such-option"],
    ["serve", "--model-repository", EXAMPLE_MODELS, "--no-such-option"],
], ids=["main", "serve"])
def test_unknown_option(args):
    result = run_inferd(*args)
    assert result.returncode == 2
    assert "--no-such-option" in result.stderr


@pytest.mark.parametrize("value", ["-1", "abc", "10000001", ""])
def test_reply_hold_must_be_a_number_of_microseconds(value):
    result = run_inferd("serve", "--model-repository", EXAMPLE_MODELS, "--reply-hold-us", value)
    assert result.returncode == 2
    assert "--reply-hold-us must be 0-10000000" in result.stderr


@pytest.mark.parametrize("value", ["0", "-3", "x", "1000001"])
def test_max_connections_must_be_a_positive_count(value):
    result = run_inferd("serve", "--model-repository", EXAMPLE_MODELS, "--max-connections", value)
    assert result.returncode == 2
    assert "--max-connections must be 1-1000000" in result.stderr


def non_loopback_ipv4():
    """An IPv4 address of this machine other than 127.x, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_default_port_and_address():
    """Without --http-port and --http-address the server listens on 0.0.0.0:8000."""
    try:
        with socket.socket() as probe:
            probe.bind(("0.0.0.0", 8000))
    except OSError:
        pytest.skip("port 8000 is in use on this machine")
    srv = spawn_server(["serve", "--model-repository", require_path(EXAMPLE_MODELS)], 8000)
    try:
        assert assert_json_response(srv.get("/v2/health/live"), 200) == {"live": True}
        other = non_loopback_ipv4()
        if other:  # bound to every interface, not only loopback
            with socket.create_connection((other, 8000), timeout=5):
                pass
    finally:
        code = srv.stop()
    assert code == 0, srv.stderr_text()


def test_port_already_served_is_an_error(launch):
    """A second server on a port another process serves must fail, not silently share it."""
    first = launch(EXAMPLE_MODELS)
    result = run_inferd("serve", "--model-repository", str(EXAMPLE_MODELS), "--http-port",
                        str(first.port), "--http-address", "127.0.0.1")
    assert result.returncode == 1, result.stderr
    assert "already in use" in result.stderr
    assert first.get("/v2/health/ready").status_code == 200

"""Shared fixtures and helpers for the inferd integration tests.

The tests drive a real `inferd` process over HTTP. The binary is taken from the environment
variable INFERD_BIN (default: <repo>/build/inferd). With INFERD_SANITIZED=1 (an ASan build) the
request counts of the load tests are scaled down by `scaled()`.

Test modules import the helpers directly: `from conftest import start_server, ...`.
"""

import json
import re
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
INFERD_BIN = Path(os.environ.get("INFERD_BIN", REPO_ROOT / "build" / "inferd"))
SANITIZED = os.environ.get("INFERD_SANITIZED") == "1"

EXAMPLE_MODELS = REPO_ROOT / "examples" / "models"
EXAMPLE_REQUESTS = REPO_ROOT / "examples" / "requests"
TEST_MODELS = REPO_ROOT / "tests" / "data" / "models"
REFERENCE_DIR = REPO_ROOT / "tests" / "data" / "reference"

# Largest absolute difference allowed between a served output and its reference value.
TOLERANCE = 1e-5
STARTUP_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0

# The models the module-scoped `server` fixture serves that must fail to load.
BROKEN_MODELS = ("truncated_mlp", "unsupported_op", "empty_model")


def scaled(count):
    """A request count, divided by 4 under the (much slower) sanitizer build."""
    return max(1, count // 4) if SANITIZED else count


def require_binary():
    if not (INFERD_BIN.is_file() and os.access(INFERD_BIN, os.X_OK)):
        pytest.fail(f"inferd binary not found at {INFERD_BIN}: "
                    "build it (make build) or set INFERD_BIN")
    return INFERD_BIN


def require_path(path):
    if not Path(path).exists():
        pytest.fail(f"test data missing: {path}")
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Starting and stopping servers
# ---------------------------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One running `inferd serve` process."""

    def __init__(self, proc, port, stderr_path, host="127.0.0.1"):
        self.proc = proc
        self.port = port
        self.host = host
        self.url = f"http://{host}:{port}"
        self.stderr_path = stderr_path

    def stderr_text(self):
        return Path(self.stderr_path).read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def get(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.get(self.url + path, **kwargs)

    def post(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.post(self.url + path, **kwargs)

    def put(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.put(self.url + path, **kwargs)

    def delete(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.delete(self.url + path, **kwargs)

    def patch(self, path, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.patch(self.url + path, **kwargs)

    def infer(self, model, body, version=None, session=None, timeout=HTTP_TIMEOUT):
        """POSTs an infer request; `body` is a dict (sent as JSON) or raw bytes/str."""
        http = session or requests
        kwargs = {"timeout": timeout}
        if isinstance(body, (bytes, str)):
            kwargs["data"] = body
            kwargs["headers"] = {"Content-Type": "application/json"}
        else:
            kwargs["json"] = body
        return http.post(self.url + infer_path(model, version), **kwargs)

    def wait_exit(self, timeout):
        """The exit code, or a test failure if the process is still running after `timeout`."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"inferd did not exit within {timeout} s; stderr:\n{self.stderr_text()}")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Sends `sig` and returns the exit code (fails the test if it takes over `timeout`)."""
        if self.alive():
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()


_started = []  # every process started, so that none outlives the session


def spawn_server(argv, port, host="127.0.0.1", wait_ready=True, timeout=STARTUP_TIMEOUT):
    """Runs INFERD_BIN with `argv` and waits until it answers on host:port.

    Waits for GET /v2/health/live == 200 and, with `wait_ready`, /v2/health/ready == 200 (all
    models finished loading). Fails the test with the process's stderr if it exits first."""
    require_binary()
    fd, stderr_path = tempfile.mkstemp(prefix="inferd-stderr-", suffix=".log")
    with os.fdopen(fd, "wb") as stderr_file:
        proc = subprocess.Popen([str(INFERD_BIN), *map(str, argv)], stdin=subprocess.DEVNULL,
                                stdout=stderr_file, stderr=stderr_file)
    server = Server(proc, port, stderr_path, host)
    _started.append(server)
    deadline = time.monotonic() + timeout
    for path in ("/v2/health/live", "/v2/health/ready") if wait_ready else ("/v2/health/live",):
        while True:
            if not server.alive():
                pytest.fail(f"inferd exited with code {proc.returncode} before answering {path}; "
                            f"command: {argv}\nstderr:\n{server.stderr_text()}")
            try:
                if requests.get(server.url + path, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"inferd did not answer 200 on {path} within {timeout} s; "
                            f"stderr:\n{server.stderr_text()}")
            time.sleep(0.05)
    return server


def start_server(repo_dir, *extra_args, wait_ready=True):
    """Starts `inferd serve` for `repo_dir` on a free port of 127.0.0.1; returns a Server."""
    require_path(repo_dir)
    for attempt in range(3):
        port = free_port()
        argv = ["serve", "--model-repository", repo_dir, "--http-port", port,
                "--http-address", "127.0.0.1", *extra_args]
        try:
            return spawn_server(argv, port, wait_ready=wait_ready)
        except pytest.fail.Exception:
            # Another process may have taken the port between free_port() and the bind.
            if attempt == 2 or "in use" not in _started[-1].stderr_text().lower():
                raise


def pytest_sessionfinish(session, exitstatus):
    for server in _started:
        server.kill()
        Path(server.stderr_path).unlink(missing_ok=True)


@pytest.fixture
def launch():
    """start_server() for one test. Whatever the test leaves running is stopped afterwards, and
    the test fails if any of its servers reported a sanitizer finding (ASan, UBSan, TSan)."""
    mine = []

    def _launch(repo_dir, *extra_args, **kwargs):
        server = start_server(repo_dir, *extra_args, **kwargs)
        mine.append(server)
        return server

    yield _launch
    findings = []
    for server in mine:
        if server.alive():
            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        text = server.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                start = text.index(marker)
                findings.append(text[max(0, start - 200):start + 3000])
                break
    assert not findings, "sanitizer findings:\n" + "\n----\n".join(findings)


# What ASan, UBSan and TSan print when they find something.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")


def build_test_repository(root):
    """The repository of the shared `server`: the examples, the typed/ops/broken test models,
    a truncated copy of mnist_mlp v1 ("truncated_mlp") and a model folder without model.onnx."""
    root = Path(root)
    require_path(EXAMPLE_MODELS)
    shutil.copytree(EXAMPLE_MODELS, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".inferd"))
    for name in ("typed_identity", "ops_mix", "unsupported_op"):
        shutil.copytree(require_path(TEST_MODELS / name), root / name)

    truncated = root / "truncated_mlp"
    shutil.copytree(EXAMPLE_MODELS / "mnist_mlp", truncated)
    shutil.rmtree(truncated / "2")
    onnx_file = truncated / "1" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[: onnx_file.stat().st_size // 2])
    config_file = truncated / "config.json"
    config = json.loads(config_file.read_text())
    config["name"] = "truncated_mlp"
    config_file.write_text(json.dumps(config, indent=2))

    (root / "empty_model" / "1").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server per test module over build_test_repository(); must exit 0 on SIGTERM."""
    repo = build_test_repository(tmp_path_factory.mktemp("repo"))
    srv = start_server(repo)
    yield srv
    if not srv.alive():
        pytest.fail(f"inferd died during the tests (code {srv.proc.returncode}); "
                    f"stderr:\n{srv.stderr_text()}")
    code = srv.stop(signal.SIGTERM, timeout=10)
    assert code == 0, f"inferd exited with {code} on SIGTERM; stderr:\n{srv.stderr_text()}"


# ---------------------------------------------------------------------------------------------
# Requests and responses
# ---------------------------------------------------------------------------------------------


def infer_path(model, version=None):
    if version is None:
        return f"/v2/models/{model}/infer"
    return f"/v2/models/{model}/versions/{version}/infer"


def tensor(name, datatype, shape, data, **extra):
    """One entry of "inputs" in an infer request."""
    return {"name": name, "datatype": datatype, "shape": list(shape), "data": data, **extra}


def nest(flat, shape):
    """Row-major flat data as nested lists of `shape`."""
    if len(shape) <= 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def flatten(data):
    """Flat row-major list of a possibly nested list."""
    if isinstance(data, list):
        return [item for sub in data for item in flatten(sub)]
    return [data]


def assert_json_response(resp, status):
    """Checks status, JSON content type and a Content-Length (not chunked); returns the body."""
    assert resp.status_code == status, \
        f"expected {status}, got {resp.status_code}: {resp.text[:1000]}"
    content_type = resp.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip().lower() == "application/json", \
        f"Content-Type is {content_type!r}"
    assert "Content-Length" in resp.headers, f"no Content-Length (chunked?): {dict(resp.headers)}"
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    return resp.json()


def assert_error(resp, status, *mentions):
    """A JSON error: exactly {"error": "<non-empty message>"}, naming each of `mentions`."""
    body = assert_json_response(resp, status)
    assert isinstance(body, dict) and list(body) == ["error"], f"error body is {body!r}"
    message = body["error"]
    assert isinstance(message, str) and message.strip(), f"empty error message: {body!r}"
    for word in mentions:
        assert word in message, f"error {message!r} does not mention {word!r}"
    return message


def outputs_by_name(body):
    names = [out["name"] for out in body["outputs"]]
    assert len(names) == len(set(names)), f"duplicate outputs: {names}"
    return {out["name"]: out for out in body["outputs"]}


def assert_outputs_match(body, expected, tol=TOLERANCE):
    """`expected` maps output name -> {"datatype", "shape", "data"}; every one must be in the
    response with that datatype and shape and a flat "data" within `tol` of the reference."""
    got = outputs_by_name(body)
    for name, ref in expected.items():
        assert name in got, f"output {name!r} missing from {list(got)}"
        out = got[name]
        assert out["datatype"] == ref["datatype"], f"{name}: datatype {out['datatype']}"
        assert out["shape"] == list(ref["shape"]), f"{name}: shape {out['shape']}"
        data = out["data"]
        assert isinstance(data, list) and all(not isinstance(v, list) for v in data), \
            f"{name}: data is not a flat list"
        want = np.asarray(flatten(ref["data"]), dtype=np.float64)
        have = np.asarray(data, dtype=np.float64)
        assert have.shape == want.shape, f"{name}: {have.size} values, expected {want.size}"
        err = float(np.max(np.abs(have - want))) if want.size else 0.0
        assert err <= tol, f"{name}: max abs error {err} > {tol}"


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------

REFERENCE_NAMES = ("mnist_mlp_v1", "mnist_mlp_v2", "credit_risk_v1", "ops_mix_v1")


def load_reference(name):
    """tests/data/reference/<name>.json: {"model", "version", "cases": [...]}."""
    return json.loads(require_path(REFERENCE_DIR / f"{name}.json").read_text())


def case_request(case, nested=False, **extra):
    """An infer request body holding the inputs of one reference case."""
    inputs = []
    for name, ref in case["inputs"].items():
        flat = flatten(ref["data"])
        data = nest(flat, ref["shape"]) if nested else flat
        inputs.append(tensor(name, ref["datatype"], ref["shape"], data))
    return {"inputs": inputs, **extra}


def mnist_case(version="2", index=0):
    return load_reference(f"mnist_mlp_v{version}")["cases"][index]


def assert_serves_mnist(server, session=None):
    """The server is alive and answers a reference mnist_mlp request correctly."""
    assert server.alive(), f"inferd died; stderr:\n{server.stderr_text()}"
    case = mnist_case("2")
    resp = server.infer("mnist_mlp", case_request(case), session=session)
    body = assert_json_response(resp, 200)
    assert body["model_name"] == "mnist_mlp"
    assert body["model_version"] == "2"
    assert_outputs_match(body, case["outputs"])


# ---------------------------------------------------------------------------------------------
# Raw sockets (for what `requests` cannot send)
# ---------------------------------------------------------------------------------------------


def metric_samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out[(match.group(1), labels)] = float(match.group(3))
    return out


def metric_value(all_samples, name, **labels):
    return all_samples[(name, frozenset(labels.items()))]


def connect(server, timeout=10.0):
    return socket.create_connection((server.host, server.port), timeout=timeout)


def http_request_bytes(method, path, body=b"", content_type="application/json", extra_headers=()):
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    if body:
        head.append(f"Content-Type: {content_type}")
    head.extend(extra_headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def read_http_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length; returns (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before the response headers: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    assert "content-length" in headers, f"response without Content-Length: {headers}"
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed in the middle of the response body")
        body += chunk
    return status, headers, body[:length]


# ---------------------------------------------------------------------------------------------
# Load: many keep-alive clients at once
# ---------------------------------------------------------------------------------------------


def mnist_workload():
    """(path, JSON body, expected version, expected outputs) for every mnist_mlp reference case,
    addressed to its version and, for version 2, also without a version."""
    work = []
    for version in ("1", "2"):
        for case in load_reference(f"mnist_mlp_v{version}")["cases"]:
            body = json.dumps(case_request(case)).encode()
            work.append((infer_path("mnist_mlp", version), body, version, case["outputs"]))
            if version == "2":
                work.append((infer_path("mnist_mlp"), body, version, case["outputs"]))
    return work


def check_response(resp, version, expected):
    """None if `resp` is a correct answer from `version`, else what is wrong with it."""
    if resp.status_code != 200:
        return f"status {resp.status_code}: {resp.text[:200]}"
    try:
        body = resp.json()
        assert body["model_version"] == version, f"model_version {body['model_version']}"
        assert_outputs_match(body, expected)
    except (AssertionError, ValueError, KeyError) as exc:
        return f"wrong answer: {exc}"
    return None


class ClientPool:
    """`clients` threads, each with its own keep-alive requests.Session, posting the requests of
    `work` round-robin: `per_client` of them, or until stop() with per_client=None.

    With `until_disconnected`, a client ends quietly at its first connection error (the server is
    going away); otherwise a connection error is a problem like a wrong answer."""

    MAX_PROBLEMS = 20

    def __init__(self, url, work, clients, per_client=None, until_disconnected=False,
                 timeout=HTTP_TIMEOUT):
        self.url, self.work, self.per_client = url, work, per_client
        self.until_disconnected, self.timeout = until_disconnected, timeout
        self.ok = 0
        self.problems = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                         for n in range(clients)]
        for thread in self._threads:
            thread.start()

    def _post(self, session, path, body):
        return session.post(self.url + path, data=body, timeout=self.timeout,
                            headers={"Content-Type": "application/json"})

    def _client(self, index):
        good = 0
        with requests.Session() as session:
            i = 0
            while not self._stop.is_set() and (self.per_client is None or i < self.per_client):
                path, body, version, expected = self.work[(index + i) % len(self.work)]
                i += 1
                try:
                    problem = check_response(self._post(session, path, body), version, expected)
                except requests.ConnectionError as exc:
                    if self.until_disconnected:
                        break
                    problem = f"connection error: {exc!r}"
                except requests.RequestException as exc:
                    problem = f"request failed: {exc!r}"
                if problem is None:
                    good += 1
                    continue
                with self._lock:
                    self.problems.append(problem)
                    if len(self.problems) >= self.MAX_PROBLEMS:
                        break
        with self._lock:
            self.ok += good

    def stop(self):
        self._stop.set()

    def join(self, timeout=60.0):
        """Waits for every client; returns (number of correct answers, problems)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        hung = sum(thread.is_alive() for thread in self._threads)
        assert not hung, f"{hung} client threads still running after {timeout} s"
        return self.ok, self.problems


# ---------------------------------------------------------------------------------------------
# Models written by the tests themselves
# ---------------------------------------------------------------------------------------------


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field (strings, bytes, messages)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int_field(number, value):
    return _varint(number << 3) + _varint(value)


def _value_info(name, dims):
    """ONNX ValueInfoProto of an FP32 tensor; a dim of None is symbolic ("batch")."""
    shape = b"".join(_field(1, _field(2, "batch") if d is None else _int_field(1, d))
                     for d in dims)
    tensor_type = _int_field(1, 1) + _field(2, shape)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def write_matmul_model(path, size, seed=0):
    """An ONNX model y = x @ W with W a size x size FP32 initializer (size**2 * 4 bytes), built
    from onnx.proto's field numbers so that no ONNX tooling is needed to make a big model."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((size, size), dtype=np.float32) / np.float32(size)
    initializer = (_int_field(1, size) + _int_field(1, size) + _int_field(2, 1) + _field(8, "W")
                   + _field(9, weights.tobytes()))
    node = _field(1, "x") + _field(1, "W") + _field(2, "y") + _field(3, "matmul") + _field(4, "MatMul")
    graph = (_field(1, node) + _field(2, "matmul_graph") + _field(5, initializer)
             + _field(11, _value_info("x", [None, size])) + _field(12, _value_info("y", [None, size])))
    model = _int_field(1, 8) + _field(8, _field(1, "") + _int_field(2, 13)) + _field(7, graph)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(model)
    return weights

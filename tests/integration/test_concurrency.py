"""Many keep-alive clients at once: every answer is a 200 with the reference outputs; requests
that arrive together are answered in the order they arrived."""

import json
import socket
import struct
import time

import numpy as np
import pytest

from conftest import (EXAMPLE_MODELS, SANITIZED, ClientPool, connect, http_request_bytes,
                      metric_samples, metric_value, read_http_response,
                      infer_path, mnist_workload, scaled, start_server, tensor,
                      write_matmul_model)


@pytest.fixture(scope="module", params=[
    pytest.param(((), 16, 500), id="default-threads-16x500"),
    pytest.param((("--threads", "1"), 8, 100), id="threads1-8x100"),
    pytest.param((("--threads", "2"), 8, 100), id="threads2-8x100"),
])
def load_setup(request):
    """A server over examples/models with the given options, and the load to put on it."""
    extra_args, clients, per_client = request.param
    srv = start_server(EXAMPLE_MODELS, *extra_args)
    yield srv, clients, scaled(per_client)
    code = srv.stop()
    assert code == 0, srv.stderr_text()


def test_concurrent_keep_alive_clients(load_setup):
    srv, clients, per_client = load_setup
    ok, problems = ClientPool(srv.url, mnist_workload(), clients, per_client).join()
    assert not problems, f"{len(problems)} bad answers, first ones: {problems[:5]}"
    assert ok == clients * per_client
    assert srv.alive(), srv.stderr_text()


# ---------------------------------------------------------------------------------------------
# Requests that arrive together are answered in the order they arrived
# ---------------------------------------------------------------------------------------------

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: the kernel's receive time
ORDER_SIZE = 512  # the model is y = x @ W with W [512, 512]
FOLLOWERS = 6


def matmul_request(rows, seed):
    rng = np.random.default_rng(seed)
    data = np.round(rng.standard_normal(rows * ORDER_SIZE), 3).tolist()
    body = json.dumps({"inputs": [tensor("x", "FP32", [rows, ORDER_SIZE], data)]}).encode()
    return http_request_bytes("POST", infer_path("matmul"), body)


def first_bytes_received_at(sock):
    """Reads one response from `sock`; returns (kernel receive time of its first bytes, status)."""
    data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(16))
    stamps = [struct.unpack("qq", payload[:16]) for level, kind, payload in ancillary
              if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
    assert stamps, "no receive timestamp (SO_TIMESTAMPNS)"
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return stamps[0][0] * 10**9 + stamps[0][1], int(head.split()[1])


def answers_to_followers(launch, tmp_path, *options, rows=16, pause=0.0):
    """The only loop busy with a large request while six more of `rows` rows arrive, `pause`
    seconds apart, all ready at its next turn. Returns the kernel receive time of the large
    answer and of each follower's, in the order they were sent."""
    write_matmul_model(tmp_path / "matmul" / "1" / "model.onnx", ORDER_SIZE)
    srv = launch(tmp_path, "--threads", "1", *options)
    blocker = matmul_request(1024, seed=1)  # about 0.5M numbers to parse, multiply and write
    followers = [matmul_request(rows, seed=2 + i) for i in range(FOLLOWERS)]
    socks = [connect(srv, timeout=60) for _ in range(FOLLOWERS + 1)]
    try:
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        socks[0].sendall(blocker)
        time.sleep(0.05 if not SANITIZED else 0.2)  # the loop has the whole blocker and is on it
        sent_at = []
        for sock, raw in zip(socks[1:], followers):
            sock.sendall(raw)
            sent_at.append(time.clock_gettime_ns(time.CLOCK_REALTIME))
            time.sleep(pause)
        blocker_at, blocker_status = first_bytes_received_at(socks[0])
        answers = [first_bytes_received_at(sock) for sock in socks[1:]]
    finally:
        for sock in socks:
            sock.close()
    assert blocker_status == 200
    assert all(status == 200 for _, status in answers), answers
    # the premise: every follower was sent while the blocker was still being computed
    assert blocker_at > sent_at[-1], "the large request finished before the others were sent"
    return blocker_at, [at for at, _ in answers]


def test_requests_arriving_together_are_answered_in_arrival_order(launch, tmp_path):
    """One event-loop thread busy with a large request; six small requests arrive meanwhile, one
    after the other, on six connections, and are all ready at the loop's next turn: they must be
    answered first come, first served (a server that takes them in another order makes the
    earliest wait longest)."""
    _, times = answers_to_followers(launch, tmp_path, pause=0.002)
    order = sorted(range(FOLLOWERS), key=lambda i: times[i])
    assert order == list(range(FOLLOWERS)), f"answered in the order {order}, sent 0..{FOLLOWERS - 1}"


def test_answers_of_one_turn_are_written_together(launch, tmp_path):
    """Allowed to hold answers long enough, the loop writes the six answers of one turn in one
    burst once it has served all six, so that a client reading them wakes once: they arrive
    close together, the first only once all six are computed."""
    blocker_at, times = answers_to_followers(launch, tmp_path, "--reply-hold-us", "10000000",
                                            rows=64)
    assert times == sorted(times), "answers written out of arrival order"
    computing = times[0] - blocker_at  # the six followers' work, as their answers are held
    spread = times[-1] - times[0]
    assert spread < computing / 2, (
        f"answers spread over {spread / 1e6:.2f} ms after {computing / 1e6:.2f} ms of work: "
        "written one by one, not together")


def test_answers_are_not_held_longer_than_allowed(launch, tmp_path):
    """With holding off, or with the default limit (500 us) and requests of several
    milliseconds each, every answer is written as soon as it is computed: the six arrive spread
    over the time the later five took, several times wider than when they are held together."""
    def spread(subdir, *options):
        _, times = answers_to_followers(launch, tmp_path / subdir, *options, rows=64)
        return times[-1] - times[0]
    held = spread("held", "--reply-hold-us", "10000000")
    for name, options in (("off", ("--reply-hold-us", "0")), ("default", ())):
        apart = spread(name, *options)
        assert apart > 4 * held, (
            f"{name}: answers within {apart / 1e6:.2f} ms, held together within "
            f"{held / 1e6:.2f} ms: not written as each was computed")


def test_head_answer_held_with_others_has_no_body(launch, tmp_path):
    """A HEAD request served in the same busy turn as others: its held answer carries the
    headers only, as HTTP requires, so the next answer on that keep-alive connection starts
    where the client expects it."""
    write_matmul_model(tmp_path / "matmul" / "1" / "model.onnx", ORDER_SIZE)
    srv = launch(tmp_path, "--threads", "1", "--reply-hold-us", "10000000")
    socks = [connect(srv, timeout=60) for _ in range(3)]
    try:
        socks[0].sendall(matmul_request(1024, seed=1))  # keeps the only loop busy
        time.sleep(0.05 if not SANITIZED else 0.2)
        socks[1].sendall(matmul_request(4, seed=2))
        socks[2].sendall(http_request_bytes("HEAD", infer_path("matmul")))
        for sock in socks[:2]:
            status, _, _ = read_http_response(sock)
            assert status == 200
        head = b""
        while b"\r\n\r\n" not in head:
            head += socks[2].recv(65536)
        status_line, _, rest = head.partition(b"\r\n")
        assert status_line.split()[1] != b"200", status_line  # HEAD on /infer is not allowed
        assert rest.endswith(b"\r\n\r\n"), f"bytes after the HEAD answer's headers: {rest!r}"
        socks[2].sendall(http_request_bytes("GET", "/v2/health/ready"))
        status, _, _ = read_http_response(socks[2])
        assert status == 200
    finally:
        for sock in socks:
            sock.close()


def connections(text):
    return metric_value(metric_samples(text), "inferd_http_connections")


def test_connections_past_the_limit_wait_until_one_closes(launch):
    """--max-connections 3 on one loop thread: with three connections open a fourth is not
    served, and it is served as soon as one of the three closes. /metrics counts the open
    connections, the limit and the pause in accepting."""
    srv = launch(EXAMPLE_MODELS, "--threads", "1", "--max-connections", "3")
    deadline = time.monotonic() + 10
    while connections(srv.get("/metrics").text) > 1:
        assert time.monotonic() < deadline, "the readiness checks' connections stayed open"
        time.sleep(0.05)
    idle = [connect(srv) for _ in range(2)]
    watcher = connect(srv)  # the third: keep-alive, reads /metrics
    watcher.sendall(http_request_bytes("GET", "/metrics"))
    status, _, body = read_http_response(watcher)
    assert status == 200
    now = metric_samples(body.decode())
    assert metric_value(now, "inferd_http_connections") == 3
    assert metric_value(now, "inferd_http_connection_limit") == 3
    assert metric_value(now, "inferd_http_accept_pauses_total") >= 1
    path, body_bytes, _, _ = mnist_workload()[0]
    fourth = connect(srv, timeout=5)
    fourth.sendall(http_request_bytes("POST", path, body_bytes))
    fourth.settimeout(0.5)
    with pytest.raises(socket.timeout):
        fourth.recv(1)  # waiting in the listen backlog, unanswered
    idle.pop().close()
    fourth.settimeout(10)
    status, _, _ = read_http_response(fourth)
    assert status == 200
    watcher.sendall(http_request_bytes("GET", "/metrics"))
    _, _, body = read_http_response(watcher)
    assert connections(body.decode()) == 3  # idle, watcher, fourth
    for sock in idle + [watcher, fourth]:
        sock.close()
    deadline = time.monotonic() + 10
    while True:  # every slot is free again: new connections are served at once
        text = srv.get("/metrics").text
        if connections(text) <= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert connections(text) == 1  # the request reading it

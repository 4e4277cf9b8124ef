#!/usr/bin/python3
"""bench/swap.py: the version-swap benchmark behind `make bench-swap`.

Serves the example MLP (both versions on disk) in explicit model-control mode and drives it with
wrk at 32 connections (requests without a version), twice per round for the same duration:
steady (nothing changes) and swapping (the served version swapped 20 times, evenly spread, by
repository-API loads alternating version_policy between version 1 and version 2; every swap
loads and warms the incoming version, switches, and drains and frees the outgoing one). Prints
req/s, p50 and p99 of both, the p99 ratio (target <= 1.5) and the failed requests (target 0),
medians over rounds, and saves the table to bench/results/swap-latest.txt.

Usage: bench/swap.py /abs/path/to/inferd
Env:   BENCH_DURATION (seconds per wrk run, default 10), BENCH_RUNS (rounds, default 3)
"""

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SWAPS = 20
CONNECTIONS = 32


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method, url, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read()


def wrk(url, body_file):
    env = dict(os.environ, BENCH_BODY_FILE=str(body_file))
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency",
                          "-s", str(ROOT / "bench" / "post.lua"), url],
                         capture_output=True, text=True, env=env, check=True).stdout

    def latency_ms(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = int(re.search(r"post.lua: non-2xx responses: (\d+)", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": latency_ms("50"), "p99": latency_ms("99"), "non2xx": non2xx,
            "socket_errors": errors.group(1).strip() if errors else "none"}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/swap.py /abs/path/to/inferd")
    inferd = sys.argv[1]
    work = Path(tempfile.mkdtemp(prefix="inferd-swap-"))
    shutil.copytree(ROOT / "examples" / "models" / "mnist_mlp", work / "repo" / "mnist_mlp",
                    ignore=shutil.ignore_patterns(".inferd"))
    base = json.loads((work / "repo" / "mnist_mlp" / "config.json").read_text())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(work / "inferd.log", "wb")
    server = subprocess.Popen([inferd, "serve", "--model-repository", str(work / "repo"),
                               "--http-port", str(port), "--http-address", "127.0.0.1",
                               "--model-control-mode", "explicit", "--load-model", "mnist_mlp"],
                              stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                if http("GET", url + "/v2/health/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("bench-swap: inferd did not become ready")
        infer_url = url + "/v2/models/mnist_mlp/infer"
        body_file = ROOT / "examples" / "requests" / "mnist_mlp.json"

        def load(version):
            config = dict(base, version_policy={"specific": {"versions": [version]}})
            http("POST", url + "/v2/repository/models/mnist_mlp/load",
                 {"parameters": {"config": json.dumps(config)}})

        load(2)
        steady, swapping, swap_ms = [], [], []
        for round_number in range(RUNS):
            steady.append(wrk(infer_url, body_file))
            done = threading.Event()

            def swapper():
                interval = DURATION / (SWAPS + 1)
                for i in range(SWAPS):
                    time.sleep(interval)
                    start = time.monotonic()
                    load(1 if i % 2 == 0 else 2)
                    swap_ms.append((time.monotonic() - start) * 1000)
                done.set()

            thread = threading.Thread(target=swapper)
            thread.start()
            swapping.append(wrk(infer_url, body_file))
            thread.join()
            print(f"round {round_number + 1}: steady p99 {steady[-1]['p99']:.2f} ms, "
                  f"swapping p99 {swapping[-1]['p99']:.2f} ms, "
                  f"failed {swapping[-1]['non2xx']}", flush=True)
        if server.poll() is not None:
            sys.exit("bench-swap: inferd exited during the run")
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    failed = sum(r["non2xx"] for r in swapping)
    lines = [
        f"bench-swap: {CONNECTIONS} connections, {DURATION} s per run, {RUNS} rounds, "
        f"{SWAPS} swaps per swapping run (medians)",
        f"{'phase':<10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}  socket errors",
        f"{'steady':<10} {median(steady, 'rps'):>10.0f} {median(steady, 'p50'):>8.2f} "
        f"{median(steady, 'p99'):>8.2f} {sum(r['non2xx'] for r in steady):>7}  "
        f"{'; '.join(sorted({r['socket_errors'] for r in steady}))}",
        f"{'swapping':<10} {median(swapping, 'rps'):>10.0f} {median(swapping, 'p50'):>8.2f} "
        f"{median(swapping, 'p99'):>8.2f} {failed:>7}  "
        f"{'; '.join(sorted({r['socket_errors'] for r in swapping}))}",
        f"p99 swapping / steady: {median(swapping, 'p99') / median(steady, 'p99'):.2f} "
        f"(target <= 1.5); failed requests during swaps: {failed} (target 0); "
        f"one swap (load + warm + switch) took {statistics.median(swap_ms):.1f} ms median, "
        f"{max(swap_ms):.1f} ms max",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    (ROOT / "bench" / "results" / "swap-latest.txt").write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

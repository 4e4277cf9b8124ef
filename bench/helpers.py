"""Small jobs of bench/run.sh that are easier in Python than in bash: free ports, one HTTP
request, comparing two V2 answers, writing a model repository's config.json and the CNN's
request body. Standard library only (Debian's /usr/bin/python3).

Usage: /usr/bin/python3 bench/helpers.py COMMAND ARGS...

  ports N                      print N free TCP ports on 127.0.0.1, space-separated
  status METHOD URL [BODY [OUT]]
                               print the HTTP status of one request (0: no connection), with
                               BODY (a file) as a JSON body; save the answer's body to OUT
  same-outputs A B             exit 0 if the V2 answers in files A and B carry the same output
                               tensors (names, shapes, datatypes; data to 1e-5 relative),
                               else print why and exit 1
  field FILE KEY               print the string KEY of the JSON object in FILE (the whole file
                               when it is not such an object)
  config SRC DST KEY=JSON...   write DST: the JSON object in SRC ('-': an empty one) with each
                               KEY set to the JSON value given
  cnn-request OUT NAME         write a V2 request for a [1,1,28,28] FP32 input named NAME:
                               a deterministic random image (fixed seed), pixels in [0,1]
                               with 4 decimals
"""

import json
import math
import random
import socket
import sys
import urllib.error
import urllib.request

CNN_REQUEST_SEED = 28


def ports(count):
    sockets = [socket.socket() for _ in range(int(count))]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    print(*(s.getsockname()[1] for s in sockets))
    for s in sockets:
        s.close()


def status(method, url, body_path=None, out_path=None):
    data = None
    if body_path:
        with open(body_path, "rb") as f:
            data = f.read()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    code, answer = 0, b""
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            code, answer = response.status, response.read()
    except urllib.error.HTTPError as e:
        code, answer = e.code, e.read()
    except Exception as e:  # refused, reset, timed out: the caller sees 0
        answer = str(e).encode()
    if out_path:
        with open(out_path, "wb") as f:
            f.write(answer)
    print(code)


def same_outputs(path_a, path_b):
    def outputs(path):
        with open(path, "rb") as f:
            return {o["name"]: o for o in json.load(f)["outputs"]}

    try:
        a, b = outputs(path_a), outputs(path_b)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"not a V2 answer: {e}")
        return 1
    if sorted(a) != sorted(b):
        print(f"output names differ: {sorted(a)} vs {sorted(b)}")
        return 1
    for name in a:
        for key in ("datatype", "shape"):
            if a[name][key] != b[name][key]:
                print(f"output '{name}': {key} {a[name][key]} vs {b[name][key]}")
                return 1
        data_a, data_b = a[name]["data"], b[name]["data"]
        if len(data_a) != len(data_b):
            print(f"output '{name}': {len(data_a)} vs {len(data_b)} values")
            return 1
        for i, (x, y) in enumerate(zip(data_a, data_b)):
            if not math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-7):
                print(f"output '{name}'[{i}]: {x} vs {y}")
                return 1
    return 0


def field(path, key):
    with open(path, "rb") as f:
        text = f.read().decode(errors="replace")
    try:
        value = json.loads(text)[key]
        print(value if isinstance(value, str) else json.dumps(value))
    except (ValueError, KeyError, TypeError):
        print(text.strip())


def config(src, dst, *assignments):
    document = {}
    if src != "-":
        with open(src) as f:
            document = json.load(f)
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        document[key] = json.loads(value)
    with open(dst, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


def cnn_request(out_path, input_name):
    rng = random.Random(CNN_REQUEST_SEED)
    pixels = [round(rng.randrange(256) / 255, 4) for _ in range(28 * 28)]
    request = {"id": "cnn-bench", "inputs": [
        {"name": input_name, "shape": [1, 1, 28, 28], "datatype": "FP32", "data": pixels}]}
    with open(out_path, "w") as f:
        json.dump(request, f, separators=(",", ":"))
        f.write("\n")


COMMANDS = {
    "ports": (ports, 1, 1),
    "status": (status, 2, 4),
    "same-outputs": (same_outputs, 2, 2),
    "field": (field, 2, 2),
    "config": (config, 2, None),
    "cnn-request": (cnn_request, 2, 2),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    function, least, most = COMMANDS[argv[1]]
    args = argv[2:]
    if len(args) < least or (most is not None and len(args) > most):
        print(__doc__, file=sys.stderr)
        return 2
    return function(*args) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

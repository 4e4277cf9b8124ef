#!/usr/bin/env bash
# bench/run.sh: HTTP load benchmark of inferd against an nginx baseline.
#
# Measures throughput (req/s) and latency (p50, p99) of
# POST /v2/models/mnist_mlp/infer with examples/requests/mnist_mlp.json,
# driven by wrk (-t2 -c64) over loopback. The same POST, same body and
# headers, goes to an nginx that answers every request with a fixed JSON body
# about the size of inferd's reply: that is the cost of HTTP alone, the
# ceiling inferd can approach on this machine. Rounds alternate the targets;
# the table shows medians over rounds and the inferd/nginx req/s ratio.
#
# Usage: bench/run.sh /abs/path/to/inferd       (make bench does this)
# Env:   BENCH_DURATION  seconds per wrk run (default 10)
#        BENCH_RUNS      rounds; each round runs both targets once (default 3)
# Output: the table on stdout, saved to bench/results/latest.txt and
#         appended to bench/results/history.txt.
# Exit:  1 if any run had non-2xx responses or socket errors, 2 on misuse.
set -euo pipefail

die() {
  echo "bench: $*" >&2
  exit 1
}

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh /abs/path/to/inferd" >&2
  exit 2
fi
INFERD_BIN=$1
case $INFERD_BIN in
  /*) ;;
  */*) INFERD_BIN=$PWD/$INFERD_BIN ;;
  *) INFERD_BIN=$(command -v "$INFERD_BIN" || true) ;;
esac
if [ -z "$INFERD_BIN" ] || [ ! -x "$INFERD_BIN" ]; then
  die "inferd binary '$1' not found or not executable (build it first: make build)"
fi

DURATION=${BENCH_DURATION:-10}
RUNS=${BENCH_RUNS:-3}
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_DURATION must be a positive integer (seconds), got '$DURATION'" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive integer, got '$RUNS'" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NGINX=/usr/sbin/nginx
PY=/usr/bin/python3
MODEL_REPO=examples/models
BODY=examples/requests/mnist_mlp.json
INFER_PATH=/v2/models/mnist_mlp/infer
THREADS=2
CONNS=64
READY_TIMEOUT=30
RESULTS=bench/results

WRK=$(command -v wrk || true)
[ -n "$WRK" ] || die "wrk not found (scripts/install-deps.sh bench)"
[ -x "$NGINX" ] || die "$NGINX not found (scripts/install-deps.sh bench)"
[ -x "$PY" ] || die "$PY not found"
[ -d "$MODEL_REPO" ] || die "$ROOT/$MODEL_REPO not found"
[ -r "$BODY" ] || die "$ROOT/$BODY not found"
[ -r bench/post.lua ] || die "$ROOT/bench/post.lua not found"

# About the size of inferd's reply for mnist_mlp (10 FP32 logits): ~330 bytes.
NGINX_REPLY='{"id":"bench","model_name":"mnist_mlp","model_version":"1","outputs":[{"name":"logits","datatype":"FP32","shape":[1,10],"data":[-2.8186757564544678,-5.5864133834838867,2.4149515628814697,-6.8410196304321289,0.57411205768585205,-2.1489772796630859,-7.0720171928405762,0.11897172778844833,-7.4000692367553711,-1.0616691112518311]}]}'

# ---------------------------------------------------------------- processes

# Taken before anything starts: other load on the machine skews the figures.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/inferd-bench.XXXXXX")
nginx_pid=""
inferd_pid=""
wrk_pid=""

# True while a process of process group $1 is alive (zombies do not count).
group_alive() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v g="$1" '{ sub(/^.*\) /, ""); if ($3 == g && $1 != "Z") { found = 1; exit } }
                   END { exit !found }'
}

# True while process $1 is alive (a zombie does not count).
proc_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Servers run under setsid, so each is the leader of its own process group:
# one signal reaches nginx's workers or anything inferd spawned, and a
# Ctrl-C on the terminal reaches only this script, which then stops them.
stop_server() {
  local name=$1 pid=$2 i
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    group_alive "$pid" || break
    sleep 0.1
  done
  if group_alive "$pid"; then
    echo "bench: $name (pid $pid) still running 10 s after SIGTERM; sending SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$wrk_pid" ]; then
    kill -TERM "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" 2>/dev/null || true
  fi
  stop_server inferd "$inferd_pid"
  stop_server nginx "$nginx_pid"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Prints the HTTP status of one request (0 if no connection).
# Usage: http_status METHOD URL [BODY_FILE]
http_status() {
  "$PY" -c '
import sys, urllib.request, urllib.error
method, url = sys.argv[1], sys.argv[2]
data = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method,
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        r.read()
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
' "$@"
}

log_tail() {
  echo "---- last lines of $1 ----" >&2
  tail -n 20 "$1" >&2 || true
  echo "----" >&2
}

# Waits until GET $3 answers 200. Usage: wait_ready NAME PID URL LOG
wait_ready() {
  local name=$1 pid=$2 url=$3 log=$4 deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if ! proc_alive "$pid"; then
      log_tail "$log"
      die "$name exited during startup"
    fi
    [ "$(http_status GET "$url")" = 200 ] && return 0
    if ((SECONDS >= deadline)); then
      log_tail "$log"
      die "$name not ready within ${READY_TIMEOUT} s (GET $url)"
    fi
    sleep 0.2
  done
}

read -r NGINX_PORT INFERD_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
') || true
[ -n "${INFERD_PORT:-}" ] || die "could not pick free ports"

mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<EOF
# generated by bench/run.sh
daemon off;
master_process on;
worker_processes 2;
pid $TMP/nginx/nginx.pid;
lock_file $TMP/nginx/nginx.lock;
error_log $TMP/nginx/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    server_tokens off;
    client_max_body_size 64m;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;

    server {
        listen 127.0.0.1:$NGINX_PORT reuseport;
        location / {
            default_type application/json;
            return 200 '$NGINX_REPLY';
        }
    }
}
EOF

setsid "$NGINX" -p "$TMP/nginx/" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" \
  >"$TMP/nginx/stdout.log" 2>&1 &
nginx_pid=$!
setsid "$INFERD_BIN" serve --model-repository "$MODEL_REPO" --http-port "$INFERD_PORT" \
  >"$TMP/inferd.log" 2>&1 &
inferd_pid=$!

NGINX_URL=http://127.0.0.1:$NGINX_PORT/
INFERD_URL=http://127.0.0.1:$INFERD_PORT$INFER_PATH
wait_ready nginx "$nginx_pid" "$NGINX_URL" "$TMP/nginx/error.log"
wait_ready inferd "$inferd_pid" "http://127.0.0.1:$INFERD_PORT/v2/health/ready" "$TMP/inferd.log"

# One request each before the load, so a wrong model name or a rejected body
# fails here with a clear message rather than as a run full of errors.
for t in inferd nginx; do
  url=$INFERD_URL
  [ "$t" = nginx ] && url=$NGINX_URL
  code=$(http_status POST "$url" "$BODY")
  case $code in
    2??) ;;
    *) die "$t answered POST $url with HTTP $code (0 = no connection) before the load" ;;
  esac
done

# -------------------------------------------------------------------- runs

# us VALUE: wrk's time ("812.00us", "1.23ms", "2.00s", "1.50m") in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    m = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : (u == "h") ? 3.6e9 : -1
    if (m < 0) exit 1
    printf "%.0f\n", n * m
  }'
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) printf "%.2f\n", a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A RPS P50 P99 NON2XX SOCKERR
failures=()

# run_wrk TARGET ROUND: one wrk run; records req/s, p50, p99, errors.
run_wrk() {
  local t=$1 r=$2 url pid log out rps p50 p99 lua_bad wrk_bad bad sock
  if [ "$t" = nginx ]; then
    url=$NGINX_URL pid=$nginx_pid log=$TMP/nginx/error.log
  else
    url=$INFERD_URL pid=$inferd_pid log=$TMP/inferd.log
  fi
  out=$TMP/wrk-$t-$r.txt
  # In the background, so that a signal to this script is handled at once
  # (bash runs traps only after a foreground command ends); cleanup stops it.
  BENCH_BODY_FILE=$ROOT/$BODY "$WRK" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
    -s bench/post.lua "$url" >"$out" 2>&1 &
  wrk_pid=$!
  if ! wait "$wrk_pid"; then
    wrk_pid=""
    cat "$out" >&2
    die "wrk failed against $t ($url)"
  fi
  wrk_pid=""
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(awk '/^ *Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' "$out")
  p99=$(awk '/^ *Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
  lua_bad=$(awk '/^post\.lua: non-2xx responses:/ { print $NF }' "$out")
  wrk_bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  sock=$(awk '/Socket errors:/ { sub(/^.*Socket errors: */, ""); print }' "$out")
  if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ] || [ -z "$lua_bad" ]; then
    cat "$out" >&2
    die "could not parse wrk output for $t round $r"
  fi
  p50=$(to_us "$p50") || die "unknown latency unit in wrk output: $p50"
  p99=$(to_us "$p99") || die "unknown latency unit in wrk output: $p99"
  # wrk's own count covers statuses >= 400 only; post.lua's covers all non-2xx.
  bad=${lua_bad}
  ((${wrk_bad:-0} > bad)) && bad=$wrk_bad
  # wrk prints the socket errors line only when one of its counts is non-zero.
  if [ -n "$sock" ] && [[ $sock =~ [1-9] ]]; then
    failures+=("$t round $r: socket errors: $sock")
  else
    sock=none
  fi
  ((bad == 0)) || failures+=("$t round $r: $bad non-2xx responses")
  if ! proc_alive "$pid"; then
    log_tail "$log"
    die "$t exited during round $r"
  fi
  RPS[$t]+="$rps "
  P50[$t]+="$p50 "
  P99[$t]+="$p99 "
  NON2XX[$t]=$((${NON2XX[$t]:-0} + bad))
  [ "$sock" = none ] || SOCKERR[$t]=yes
  printf 'round %d/%d  %-6s  %10.2f req/s  p50 %7d us  p99 %7d us  non-2xx %d  socket errors: %s\n' \
    "$r" "$RUNS" "$t" "$rps" "$p50" "$p99" "$bad" "$sock"
}

echo "bench: inferd on :$INFERD_PORT, nginx on :$NGINX_PORT;" \
  "$RUNS round(s) of wrk -t$THREADS -c$CONNS -d${DURATION}s per target"
for ((r = 1; r <= RUNS; r++)); do
  # Alternate the order too, so neither target always runs first.
  if ((r % 2)); then order=(inferd nginx); else order=(nginx inferd); fi
  for t in "${order[@]}"; do
    run_wrk "$t" "$r"
  done
done

# ------------------------------------------------------------------ report

if commit=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
else
  commit=unknown
fi
wrk_version=$("$WRK" -v 2>&1 | awk 'NR == 1 { print $2; exit }' || true)
nginx_version=$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')
body_bytes=$(wc -c <"$BODY")

declare -A MED_RPS
table=$TMP/table.txt
{
  echo "inferd load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:  $commit"
  echo "host:    $(uname -n), $(nproc) cores, Linux $(uname -r), load average before start $LOAD_BEFORE"
  echo "load:    wrk ${wrk_version:-?} -t$THREADS -c$CONNS -d${DURATION}s --latency, $RUNS run(s) per target, targets alternated"
  echo "request: POST $INFER_PATH, $BODY ($body_bytes bytes)"
  echo "nginx:   $nginx_version, worker_processes 2, return 200 with a ${#NGINX_REPLY}-byte JSON body"
  echo "inferd:  $INFERD_BIN"
  echo
  printf '%-8s %13s %10s %10s %8s %7s  %s\n' target "req/s median" "p50 us" "p99 us" non-2xx sockerr "req/s of each run"
  for t in inferd nginx; do
    read -ra rps_runs <<<"${RPS[$t]}"
    read -ra p50_runs <<<"${P50[$t]}"
    read -ra p99_runs <<<"${P99[$t]}"
    MED_RPS[$t]=$(median "${rps_runs[@]}")
    printf '%-8s %13.2f %10.0f %10.0f %8d %7s  %s\n' "$t" "${MED_RPS[$t]}" \
      "$(median "${p50_runs[@]}")" "$(median "${p99_runs[@]}")" "${NON2XX[$t]}" \
      "$([ -n "${SOCKERR[$t]:-}" ] && echo yes || echo none)" "${rps_runs[*]}"
  done
  echo "(p50 and p99 are medians over the runs of each run's percentile)"
  for f in "${failures[@]}"; do
    echo "FAILED: $f"
  done
  awk -v a="${MED_RPS[inferd]}" -v b="${MED_RPS[nginx]}" -v n="$RUNS" 'BEGIN {
    if (b > 0) printf "inferd/nginx req/s ratio: %.2f (median of %d runs)\n", a / b, n
    else printf "inferd/nginx req/s ratio: n/a (nginx served nothing; median of %d runs)\n", n
  }'
} >"$table"

echo
cat "$table"

mkdir -p "$RESULTS"
cp "$table" "$RESULTS/latest.txt.tmp"
mv "$RESULTS/latest.txt.tmp" "$RESULTS/latest.txt"
{
  echo "=================================================================="
  cat "$table"
  echo
} >>"$RESULTS/history.txt"

if [ ${#failures[@]} -gt 0 ]; then
  for f in "${failures[@]}"; do
    echo "bench: FAIL: $f" >&2
  done
  exit 1
fi

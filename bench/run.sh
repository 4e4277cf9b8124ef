#!/usr/bin/env bash
# bench/run.sh: the load benchmark behind `make bench`: inferd against its references over
# loopback, driven by wrk, at 64 connections and at 1.
#
# Cases (bench/README.md says what each one is for):
#   (a) nginx answering a static 200 with inferd's reply bytes: the loopback limit
#   (b) inferd, the example MLP, batching off (examples/models as is)
#   (c) inferd, the same MLP with dynamic batching (a generated repository copy)
#   (d) the same MLP behind FastAPI + uvicorn (bench/peers/fastapi_mlp.py), same V2 JSON
#   (e) inferd, a small CNN with a dense head (bench/make_cnn.py), batching off and on; and,
#       at 64 connections only, LeNet (tools/make_bench_models.py's lenet.onnx) off and on
#   (a) and (b) again pinned: server on CPU 0 with one thread, wrk -t1 -c64 on CPU 1
# Each round runs every case once per connection count (order reversed every other round);
# the table shows medians over rounds and the ratios the project targets (docs: DESIGN budgets).
# inferd runs from a copy of the binary taken at start, so that a rebuild during the run does
# not change what is measured.
#
# Usage: bench/run.sh /abs/path/to/inferd       (make bench does this)
# Env:   BENCH_DURATION         seconds per wrk run (default 6)
#        BENCH_RUNS             rounds (default 3)
#        BENCH_BATCH_DELAY_US   max_queue_delay_microseconds of (c) and (e) on (default 250)
#        BENCH_BATCH_INSTANCES  instance_group count of (c) and LeNet on (default 1)
#        BENCH_CNN_INSTANCES    instance_group count of the CNN on (default 2, one per core)
#        BENCH_MODELS_DIR       where cnn.onnx and lenet.onnx are, or are made
#                               (default build/bench-models)
#        BENCH_RESULTS_DIR      where latest.txt and history.txt go (default bench/results)
# Output: the table on stdout, saved to $BENCH_RESULTS_DIR/latest.txt and appended to
#         $BENCH_RESULTS_DIR/history.txt.
# Exit:  1 if a run had non-2xx responses or socket errors, or an inferd or nginx failed to
#        start or exited; 2 on misuse. A FastAPI peer or CNN that cannot run is reported as
#        skipped, with the reason, and does not fail the run. Missed targets do not either.
set -euo pipefail

die() {
  echo "bench: $*" >&2
  exit 1
}

usage_error() {
  echo "bench: $*" >&2
  exit 2
}

if [ $# -ne 1 ]; then
  usage_error "usage: bench/run.sh /abs/path/to/inferd"
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

DURATION=${BENCH_DURATION:-6}
RUNS=${BENCH_RUNS:-3}
BATCH_DELAY_US=${BENCH_BATCH_DELAY_US:-250}
BATCH_INSTANCES=${BENCH_BATCH_INSTANCES:-1}
CNN_INSTANCES=${BENCH_CNN_INSTANCES:-2}
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_DURATION must be a positive integer (seconds), got '$DURATION'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_RUNS must be a positive integer, got '$RUNS'"
[[ $BATCH_DELAY_US =~ ^[0-9]+$ ]] || usage_error "BENCH_BATCH_DELAY_US must be an integer >= 0, got '$BATCH_DELAY_US'"
[[ $BATCH_INSTANCES =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_BATCH_INSTANCES must be a positive integer, got '$BATCH_INSTANCES'"
[[ $CNN_INSTANCES =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_CNN_INSTANCES must be a positive integer, got '$CNN_INSTANCES'"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NGINX=/usr/sbin/nginx
PY=/usr/bin/python3
HELPERS=bench/helpers.py
MODEL_REPO=examples/models
MLP_BODY=examples/requests/mnist_mlp.json
MLP_PATH=/v2/models/mnist_mlp/infer
MODELS_DIR=${BENCH_MODELS_DIR:-build/bench-models}
LENET_TOOL=tools/make_bench_models.py
CNN_TOOL=bench/make_cnn.py
CNN_MAX_BATCH=32 # 64 connections over the CNN's 2 instances (bench/README.md)
READY_TIMEOUT=30
PEER_WORKERS=2
SERVER_CPU=0
CLIENT_CPU=1
RESULTS=${BENCH_RESULTS_DIR:-bench/results}

WRK=$(command -v wrk || true)
TASKSET=$(command -v taskset || true)
[ -n "$WRK" ] || die "wrk not found (scripts/install-deps.sh bench)"
[ -x "$NGINX" ] || die "$NGINX not found (scripts/install-deps.sh bench)"
[ -x "$PY" ] || die "$PY not found"
[ -d "$MODEL_REPO/mnist_mlp" ] || die "$ROOT/$MODEL_REPO/mnist_mlp not found"
for f in "$MLP_BODY" bench/post.lua "$HELPERS" bench/peers/fastapi_mlp.py "$CNN_TOOL"; do
  [ -r "$f" ] || die "$ROOT/$f not found"
done

# ------------------------------------------------------------------ the cases

# Order of the table and of a round. A case runs at each of its connection counts; "p64" is
# the pinned layout (server on SERVER_CPU, wrk -t1 -c64 on CLIENT_CPU).
CASES=(nginx mlp mlp_batched mlp_fastapi cnn cnn_batched lenet lenet_batched nginx_pinned mlp_pinned)
declare -A CASE_LABEL=(
  [nginx]="(a) nginx static 200"
  [mlp]="(b) inferd mlp"
  [mlp_batched]="(c) inferd mlp batching"
  [mlp_fastapi]="(d) fastapi mlp"
  [cnn]="(e) inferd cnn"
  [cnn_batched]="(e) inferd cnn batching"
  [lenet]="(e) inferd lenet"
  [lenet_batched]="(e) inferd lenet batching"
  [nginx_pinned]="(a) nginx pinned"
  [mlp_pinned]="(b) inferd mlp pinned"
)
declare -A CASE_SERVER=(
  [nginx]=nginx [mlp]=inferd [mlp_batched]=inferd_batched [mlp_fastapi]=fastapi
  [cnn]=inferd_cnn [cnn_batched]=inferd_batched [lenet]=inferd_cnn [lenet_batched]=inferd_batched
  [nginx_pinned]=nginx_pinned [mlp_pinned]=inferd_pinned
)
declare -A CASE_CONNS=(
  [nginx]="64 1" [mlp]="64 1" [mlp_batched]="64 1" [mlp_fastapi]="64 1"
  [cnn]="64 1" [cnn_batched]="64 1" [lenet]=64 [lenet_batched]=64
  [nginx_pinned]=p64 [mlp_pinned]=p64
)
CNN_PATH=/v2/models/cnn/infer
LENET_PATH=/v2/models/lenet/infer
declare -A CASE_PATH=(
  [nginx]=/ [mlp]=$MLP_PATH [mlp_batched]=$MLP_PATH [mlp_fastapi]=$MLP_PATH
  [cnn]=$CNN_PATH [cnn_batched]=$CNN_PATH [lenet]=$LENET_PATH [lenet_batched]=$LENET_PATH
  [nginx_pinned]=/ [mlp_pinned]=$MLP_PATH
)
declare -A CASE_SKIP=() # case -> why it is not measured

# ---------------------------------------------------------------- processes

# Taken before anything starts: other load on the machine skews the figures.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$SECONDS
TMP=$(mktemp -d "${TMPDIR:-/tmp}/inferd-bench.XXXXXX")
SERVE_BIN=$TMP/inferd
CNN_BODY=$TMP/cnn-request.json
declare -A CASE_BODY=(
  [nginx]=$MLP_BODY [mlp]=$MLP_BODY [mlp_batched]=$MLP_BODY [mlp_fastapi]=$MLP_BODY
  [cnn]=$CNN_BODY [cnn_batched]=$CNN_BODY [lenet]=$CNN_BODY [lenet_batched]=$CNN_BODY
  [nginx_pinned]=$MLP_BODY [mlp_pinned]=$MLP_BODY
)
SERVERS=(nginx nginx_pinned inferd inferd_pinned inferd_batched inferd_cnn fastapi)
declare -A SERVER_PID=() SERVER_PORT=() SERVER_LOG=() SERVER_DEAD=()
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

# Servers run under setsid, so each is the leader of its own process group: one signal reaches
# nginx's workers, uvicorn's workers or anything inferd spawned, and a Ctrl-C on the terminal
# reaches only this script, which then stops them.
stop_server() {
  local name=$1 pid=${SERVER_PID[$1]:-} i
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
  SERVER_PID[$name]=""
}

cleanup() {
  local rc=$? name
  trap - EXIT INT TERM HUP
  if [ -n "$wrk_pid" ]; then
    kill -TERM "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" 2>/dev/null || true
  fi
  for name in "${SERVERS[@]}"; do
    stop_server "$name"
  done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
cp "$INFERD_BIN" "$SERVE_BIN" || die "could not copy $INFERD_BIN to $SERVE_BIN"

helper() {
  "$PY" "$HELPERS" "$@"
}

log_tail() {
  echo "---- last lines of $1 ----" >&2
  tail -n 20 "$1" >&2 || true
  echo "----" >&2
}

# start_server NAME LOG COMMAND...: starts COMMAND in its own session, output to LOG.
start_server() {
  local name=$1 log=$2
  shift 2
  SERVER_LOG[$name]=$log
  setsid "$@" >"$log" 2>&1 &
  SERVER_PID[$name]=$!
}

# wait_ready NAME PATH: 0 once GET PATH on NAME's port answers 200; otherwise prints why on
# stderr (with the log's tail) and returns 1.
wait_ready() {
  local name=$1 url="http://127.0.0.1:${SERVER_PORT[$1]}$2" deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if ! proc_alive "${SERVER_PID[$name]}"; then
      log_tail "${SERVER_LOG[$name]}"
      echo "bench: $name exited during startup" >&2
      return 1
    fi
    [ "$(helper status GET "$url")" = 200 ] && return 0
    if ((SECONDS >= deadline)); then
      log_tail "${SERVER_LOG[$name]}"
      echo "bench: $name not ready within ${READY_TIMEOUT} s (GET $url)" >&2
      return 1
    fi
    sleep 0.2
  done
}

# ----------------------------------------------------------------- set-up

read -ra ports < <(helper ports ${#SERVERS[@]}) || true
[ ${#ports[@]} -eq ${#SERVERS[@]} ] || die "could not pick free ports"
for i in "${!SERVERS[@]}"; do
  SERVER_PORT[${SERVERS[$i]}]=${ports[$i]}
done

if [ -z "$TASKSET" ] || [ "$(nproc)" -lt 2 ]; then
  CASE_SKIP[nginx_pinned]="needs taskset and 2 CPUs"
  CASE_SKIP[mlp_pinned]=${CASE_SKIP[nginx_pinned]}
fi

# (e): the CNN from bench/make_cnn.py, made when missing or older than the script, and LeNet
# from tools/make_bench_models.py, made once if missing. Neither is committed.
CNN=$MODELS_DIR/cnn.onnx
LENET=$MODELS_DIR/lenet.onnx
declare -A MODEL_FILE=([cnn]=$CNN [lenet]=$LENET) MODEL_SKIP=() # model -> why it is not served
if [ ! -f "$CNN" ] || [ "$CNN_TOOL" -nt "$CNN" ]; then
  echo "bench: making $CNN with $CNN_TOOL" >&2
  if ! "$PY" "$CNN_TOOL" "$CNN" >"$TMP/make-cnn.log" 2>&1 || [ ! -f "$CNN" ]; then
    MODEL_SKIP[cnn]="$CNN_TOOL failed: $(tail -n 1 "$TMP/make-cnn.log")"
  fi
fi
if [ ! -f "$LENET" ]; then
  if [ ! -f "$LENET_TOOL" ]; then
    MODEL_SKIP[lenet]="$LENET_TOOL not found, so no $LENET"
  else
    echo "bench: making $LENET with $LENET_TOOL" >&2
    if ! "$PY" "$LENET_TOOL" "$MODELS_DIR" >"$TMP/make-models.log" 2>&1 || [ ! -f "$LENET" ]; then
      MODEL_SKIP[lenet]="$LENET_TOOL failed: $(tail -n 1 "$TMP/make-models.log")"
    fi
  fi
fi

# The repositories: (c) and (e)-on share a server with batching; (e)-off has its own, so that
# (b) serves examples/models exactly as committed.
DELAY="dynamic_batching={\"max_queue_delay_microseconds\": $BATCH_DELAY_US}"
BATCHING=("instance_group=[{\"count\": $BATCH_INSTANCES}]" "$DELAY")
declare -A MODEL_INSTANCES=([cnn]=$CNN_INSTANCES [lenet]=$BATCH_INSTANCES)
mkdir -p "$TMP/repo-batched/mnist_mlp" "$TMP/repo-cnn"
for v in "$MODEL_REPO"/mnist_mlp/*/; do
  cp -r "$v" "$TMP/repo-batched/mnist_mlp/"
done
helper config "$MODEL_REPO/mnist_mlp/config.json" "$TMP/repo-batched/mnist_mlp/config.json" \
  "${BATCHING[@]}" || die "could not write the batching config"
cnn_served=""
for model in cnn lenet; do
  [ -z "${MODEL_SKIP[$model]:-}" ] || continue
  mkdir -p "$TMP/repo-cnn/$model/1" "$TMP/repo-batched/$model/1"
  cp "${MODEL_FILE[$model]}" "$TMP/repo-cnn/$model/1/model.onnx"
  cp "${MODEL_FILE[$model]}" "$TMP/repo-batched/$model/1/model.onnx"
  helper config - "$TMP/repo-cnn/$model/config.json" "name=\"$model\"" 'backend="onnx"' \
    "max_batch_size=$CNN_MAX_BATCH" || die "could not write the $model config"
  helper config "$TMP/repo-cnn/$model/config.json" "$TMP/repo-batched/$model/config.json" \
    "instance_group=[{\"count\": ${MODEL_INSTANCES[$model]}}]" "$DELAY" ||
    die "could not write the $model batching config"
  cnn_served=yes
done
[ -z "$cnn_served" ] || helper cnn-request "$CNN_BODY" input || die "could not write the CNN request"

# inferd_serve NAME REPO [SERVE OPTION...]: starts inferd on NAME's port, from the copy of the
# binary, with no registry (nothing written to the repository; the registry is not on the
# infer path).
inferd_serve() {
  local name=$1 repo=$2
  shift 2
  start_server "$name" "$TMP/$name.log" "$@" "$SERVE_BIN" serve --model-repository "$repo" \
    --http-address 127.0.0.1 --http-port "${SERVER_PORT[$name]}" --registry none \
    ${SERVE_THREADS[$name]:+--threads ${SERVE_THREADS[$name]}}
}
declare -A SERVE_THREADS=([inferd_pinned]=1)
inferd_serve inferd "$MODEL_REPO"
inferd_serve inferd_batched "$TMP/repo-batched"
[ -z "$cnn_served" ] || inferd_serve inferd_cnn "$TMP/repo-cnn"
if [ -z "${CASE_SKIP[mlp_pinned]:-}" ]; then
  # taskset execs inferd, so the pid (and process group) is inferd's own.
  inferd_serve inferd_pinned "$MODEL_REPO" "$TASKSET" -c "$SERVER_CPU"
fi

# (d): started now, as it takes a few seconds (torch import in each worker).
peer_skip=""
if ! peer_error=$("$PY" -c 'import fastapi, uvicorn, torch, onnx' 2>&1); then
  peer_skip="python3 cannot import fastapi, uvicorn, torch and onnx (scripts/install-deps.sh bench): ${peer_error##*$'\n'}"
else
  start_server fastapi "$TMP/fastapi.log" env BENCH_MLP_ONNX="$ROOT/$MODEL_REPO/mnist_mlp/2/model.onnx" \
    "$PY" -m uvicorn fastapi_mlp:app --app-dir bench/peers --workers "$PEER_WORKERS" \
    --host 127.0.0.1 --port "${SERVER_PORT[fastapi]}" --no-access-log --log-level info
fi

for name in inferd inferd_batched inferd_cnn inferd_pinned; do
  [ -n "${SERVER_PID[$name]:-}" ] || continue
  wait_ready "$name" /v2/health/ready || die "$name did not start"
done
for model in cnn lenet; do
  [ -z "${MODEL_SKIP[$model]:-}" ] || continue
  for name in inferd_cnn inferd_batched; do
    code=$(helper status GET "http://127.0.0.1:${SERVER_PORT[$name]}/v2/models/$model/ready" "" "$TMP/$model-ready.json")
    if [ "$code" != 200 ]; then
      MODEL_SKIP[$model]="inferd cannot serve it: $(helper field "$TMP/$model-ready.json" error)"
      break
    fi
  done
done
for model in cnn lenet; do
  if [ -n "${MODEL_SKIP[$model]:-}" ]; then
    CASE_SKIP[$model]="${MODEL_FILE[$model]}: ${MODEL_SKIP[$model]}"
    CASE_SKIP[${model}_batched]=${CASE_SKIP[$model]}
  fi
done

# (a) answers with exactly the bytes inferd sends for this request, so that the two differ in
# the work done, not in the size of the reply.
code=$(helper status POST "http://127.0.0.1:${SERVER_PORT[inferd]}$MLP_PATH" "$MLP_BODY" "$TMP/reply-mlp.json")
[ "$code" = 200 ] || die "inferd answered POST $MLP_PATH with HTTP $code: $(cat "$TMP/reply-mlp.json")"
NGINX_REPLY=$(cat "$TMP/reply-mlp.json")
case $NGINX_REPLY in
  *"'"* | *'\'* | *'$'* | *$'\n'*) die "inferd's reply cannot be put in an nginx string as is: $NGINX_REPLY" ;;
esac

write_nginx_conf() { # DIR PORT WORKERS
  mkdir -p "$1"
  cat >"$1/nginx.conf" <<EOF
# generated by bench/run.sh
daemon off;
master_process on;
worker_processes $3;
pid $1/nginx.pid;
lock_file $1/nginx.lock;
error_log $1/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    server_tokens off;
    client_max_body_size 64m;
    keepalive_requests 1000000;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;

    server {
        listen 127.0.0.1:$2 reuseport;
        location / {
            default_type application/json;
            return 200 '$NGINX_REPLY';
        }
    }
}
EOF
}

write_nginx_conf "$TMP/nginx" "${SERVER_PORT[nginx]}" 2
start_server nginx "$TMP/nginx/stdout.log" "$NGINX" -p "$TMP/nginx/" -e "$TMP/nginx/error.log" \
  -c "$TMP/nginx/nginx.conf"
if [ -z "${CASE_SKIP[nginx_pinned]:-}" ]; then
  write_nginx_conf "$TMP/nginx_pinned" "${SERVER_PORT[nginx_pinned]}" 1
  start_server nginx_pinned "$TMP/nginx_pinned/stdout.log" "$TASKSET" -c "$SERVER_CPU" "$NGINX" \
    -p "$TMP/nginx_pinned/" -e "$TMP/nginx_pinned/error.log" -c "$TMP/nginx_pinned/nginx.conf"
fi
for name in nginx nginx_pinned; do
  [ -n "${SERVER_PID[$name]:-}" ] || continue
  wait_ready "$name" / || die "$name did not start"
done

# uvicorn's master answers once one worker is up; wait for all of them, or the first runs
# would measure fewer workers. A worker that fails (import error, exception at start-up) logs
# an ERROR line and exits while the master goes on: give up on the first such line.
peer_ready() {
  local log=$TMP/fastapi.log deadline=$((SECONDS + READY_TIMEOUT)) error
  while :; do
    if ! proc_alive "${SERVER_PID[fastapi]}"; then
      log_tail "$log"
      peer_skip="uvicorn exited during startup: $(grep -m1 -E '^(ERROR|Traceback|[A-Za-z]*Error)' "$log" || tail -n 1 "$log")"
      return 1
    fi
    if error=$(grep -m1 '^ERROR:' "$log"); then
      log_tail "$log"
      peer_skip="uvicorn failed to start: $(sed 's/^ERROR: *//' <<<"$error")"
      return 1
    fi
    if (($(grep -c 'Application startup complete' "$log" || true) >= PEER_WORKERS)) &&
      [ "$(helper status GET "http://127.0.0.1:${SERVER_PORT[fastapi]}/v2/health/ready")" = 200 ]; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$log"
      peer_skip="its $PEER_WORKERS uvicorn workers were not all ready within ${READY_TIMEOUT} s"
      return 1
    fi
    sleep 0.2
  done
}
if [ -z "$peer_skip" ] && ! peer_ready; then
  stop_server fastapi
fi

# One request per case before the load, so that a wrong model name or a rejected body fails
# here with a clear message rather than as a run full of errors; the MLP servers must give
# (b)'s answer and the batched CNN the unbatched one.
declare -A REFERENCE=([mlp_batched]=mlp [mlp_pinned]=mlp [mlp_fastapi]=mlp [cnn_batched]=cnn
  [lenet_batched]=lenet)
[ -n "$peer_skip" ] && CASE_SKIP[mlp_fastapi]=$peer_skip
for c in "${CASES[@]}"; do
  [ -z "${CASE_SKIP[$c]:-}" ] || continue
  server=${CASE_SERVER[$c]}
  url="http://127.0.0.1:${SERVER_PORT[$server]}${CASE_PATH[$c]}"
  code=$(helper status POST "$url" "${CASE_BODY[$c]}" "$TMP/reply-$c.json")
  why=""
  case $code in
    2??)
      ref=${REFERENCE[$c]:-}
      if [ -n "$ref" ] && ! diff=$(helper same-outputs "$TMP/reply-$ref.json" "$TMP/reply-$c.json"); then
        why="its answer differs from ${CASE_LABEL[$ref]}'s: $diff"
      fi
      ;;
    *) why="answered POST $url with HTTP $code (0 = no connection): $(head -c 300 "$TMP/reply-$c.json")" ;;
  esac
  [ -z "$why" ] && continue
  if [ "$c" = mlp_fastapi ]; then
    CASE_SKIP[$c]="the FastAPI peer $why"
    stop_server fastapi
  else
    die "${CASE_LABEL[$c]} $why"
  fi
done
for c in "${CASES[@]}"; do
  [ -z "${CASE_SKIP[$c]:-}" ] || echo "bench: ${CASE_LABEL[$c]}: skipped: ${CASE_SKIP[$c]}" >&2
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

# The runs of one round, "case/conns", in table order.
RUN_LIST=()
for c in "${CASES[@]}"; do
  [ -z "${CASE_SKIP[$c]:-}" ] || continue
  for n in ${CASE_CONNS[$c]}; do
    RUN_LIST+=("$c/$n")
  done
done

declare -A RPS=() P50=() P99=() NON2XX=() SOCKERR=() OTHER=() SERVER_US=()
declare -A MED_RPS=() MED_P50=() MED_P99=() MED_OTHER=() MED_SERVER_US=()
CLK_TCK=$(getconf CLK_TCK)
DISTURBED_PCT=10 # a verdict whose runs saw more other load than this is marked disturbed
NCPU=$(nproc)

# cpu_ticks PGID: "BUSY GROUP" in clock ticks: the busy time of the whole machine (every CPU,
# hypervisor steal included) and the CPU time of process group PGID (a server and its workers).
cpu_ticks() {
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat | tr '\n' ' '
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v g="$1" '{ sub(/^.*\) /, ""); if ($3 == g) t += $12 + $13 } END { print t + 0 }'
}

# children_ticks: CPU time of this script's finished children (wrk, once waited for). `times`
# must run in this shell, not in a $(...) subshell, whose children's times start at zero.
children_ticks() {
  times >"$TMP/times.txt"
  awk -v hz="$CLK_TCK" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, part, "m"); t += (part[1] * 60 + part[2]) * hz }
    printf "%.0f\n", t }' "$TMP/times.txt"
}
failures=()

# wrk_command CONNS: the wrk command line (as words) for 64, 1 or p64 connections.
wrk_command() {
  case $1 in
    64) echo "$WRK -t2 -c64" ;;
    1) echo "$WRK -t1 -c1" ;;
    p64) echo "$TASKSET -c $CLIENT_CPU $WRK -t1 -c64" ;;
  esac
}

# run_wrk CASE/CONNS ROUND: one wrk run; records req/s, p50, p99, errors.
run_wrk() {
  local key=$1 r=$2 c=${1%/*} n=${1#*/} server url out rps p50 p99 lua_bad wrk_bad bad sock
  local -a cmd
  server=${CASE_SERVER[$c]}
  if [ -n "${SERVER_DEAD[$server]:-}" ]; then
    echo "round $r/$RUNS  ${CASE_LABEL[$c]} at $n: not run, $server exited earlier" >&2
    return 0
  fi
  url="http://127.0.0.1:${SERVER_PORT[$server]}${CASE_PATH[$c]}"
  out=$TMP/wrk-$c-$n-$r.txt
  read -ra cmd <<<"$(wrk_command "$n")"
  local -a before after
  local children_before elapsed_ns other server_us
  read -ra before <<<"$(cpu_ticks "${SERVER_PID[$server]}")"
  children_ticks >"$TMP/children.txt"
  children_before=$(<"$TMP/children.txt")
  elapsed_ns=$(date +%s%N)
  # In the background, so that a signal to this script is handled at once (bash runs traps
  # only after a foreground command ends); cleanup stops it.
  BENCH_BODY_FILE=${CASE_BODY[$c]} "${cmd[@]}" -d"${DURATION}s" --latency \
    -s bench/post.lua "$url" >"$out" 2>&1 &
  wrk_pid=$!
  if ! wait "$wrk_pid"; then
    wrk_pid=""
    cat "$out" >&2
    die "wrk failed against ${CASE_LABEL[$c]} ($url)"
  fi
  wrk_pid=""
  elapsed_ns=$(($(date +%s%N) - elapsed_ns))
  read -ra after <<<"$(cpu_ticks "${SERVER_PID[$server]}")"
  children_ticks >"$TMP/children.txt"
  # The share of both cores that neither the server nor wrk used: other work on the machine.
  other=$(awk -v busy=$((after[0] - before[0])) -v server=$((after[1] - before[1])) \
    -v client=$(($(<"$TMP/children.txt") - children_before)) -v ns="$elapsed_ns" -v hz="$CLK_TCK" \
    -v cpus="$NCPU" 'BEGIN { v = 100 * (busy - server - client) / (ns / 1e9 * hz * cpus)
                            printf "%.0f\n", (v < 0) ? 0 : v }')
  if ! proc_alive "${SERVER_PID[$server]}"; then
    log_tail "${SERVER_LOG[$server]}"
    failures+=("${CASE_LABEL[$c]} at $n conns, round $r: $server exited during the run")
    SERVER_DEAD[$server]=1
    return 0
  fi
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(awk '/^ *Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' "$out")
  p99=$(awk '/^ *Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
  lua_bad=$(awk '/^post\.lua: non-2xx responses:/ { print $NF }' "$out")
  wrk_bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  sock=$(awk '/Socket errors:/ { sub(/^.*Socket errors: */, ""); print }' "$out")
  if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ] || [ -z "$lua_bad" ]; then
    cat "$out" >&2
    die "could not parse wrk output for ${CASE_LABEL[$c]} at $n conns, round $r"
  fi
  # The server's CPU time (every thread and worker process, user and system) per request.
  server_us=$(awk -v ticks=$((after[1] - before[1])) -v hz="$CLK_TCK" -v rps="$rps" \
    -v ns="$elapsed_ns" 'BEGIN { n = rps * ns / 1e9; printf "%.1f\n", (n > 0) ? ticks / hz * 1e6 / n : 0 }')
  p50=$(to_us "$p50") || die "unknown latency unit in wrk output: $p50"
  p99=$(to_us "$p99") || die "unknown latency unit in wrk output: $p99"
  # wrk's own count covers statuses >= 400 only; post.lua's covers all non-2xx.
  bad=$lua_bad
  ((${wrk_bad:-0} > bad)) && bad=$wrk_bad
  # wrk prints the socket errors line only when one of its counts is non-zero.
  if [ -n "$sock" ] && [[ $sock =~ [1-9] ]]; then
    failures+=("${CASE_LABEL[$c]} at $n conns, round $r: socket errors: $sock")
  else
    sock=none
  fi
  ((bad == 0)) || failures+=("${CASE_LABEL[$c]} at $n conns, round $r: $bad non-2xx responses")
  RPS[$key]+="$rps "
  P50[$key]+="$p50 "
  P99[$key]+="$p99 "
  OTHER[$key]+="$other "
  SERVER_US[$key]+="$server_us "
  NON2XX[$key]=$((${NON2XX[$key]:-0} + bad))
  [ "$sock" = none ] || SOCKERR[$key]=yes
  printf 'round %d/%d  %-26s %3s  %10.2f req/s  p50 %7d us  p99 %7d us  non-2xx %d  socket errors: %s  server CPU %.1f us/req  other load %d%%\n' \
    "$r" "$RUNS" "${CASE_LABEL[$c]}" "$n" "$rps" "$p50" "$p99" "$bad" "$sock" "$server_us" "$other"
}

load_s=$((RUNS * ${#RUN_LIST[@]} * DURATION))
echo "bench: $RUNS round(s) of ${#RUN_LIST[@]} wrk runs of ${DURATION} s:" \
  "$((load_s / 60)) min $((load_s % 60)) s of load"
for ((r = 1; r <= RUNS; r++)); do
  # Reverse the order every other round, so that no case always runs first or last.
  order=("${RUN_LIST[@]}")
  if ((r % 2 == 0)); then
    order=()
    for ((i = ${#RUN_LIST[@]} - 1; i >= 0; i--)); do
      order+=("${RUN_LIST[$i]}")
    done
  fi
  for key in "${order[@]}"; do
    run_wrk "$key" "$r"
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
peer_versions=$("$PY" -c 'import fastapi, uvicorn, torch
print(f"fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}, torch {torch.__version__}")' 2>/dev/null || echo "not installed")

for key in "${RUN_LIST[@]}"; do
  [ -n "${RPS[$key]:-}" ] || continue
  read -ra runs <<<"${RPS[$key]}"
  MED_RPS[$key]=$(median "${runs[@]}")
  read -ra runs <<<"${P50[$key]}"
  MED_P50[$key]=$(median "${runs[@]}")
  read -ra runs <<<"${P99[$key]}"
  MED_P99[$key]=$(median "${runs[@]}")
  read -ra runs <<<"${OTHER[$key]}"
  MED_OTHER[$key]=$(median "${runs[@]}")
  read -ra runs <<<"${SERVER_US[$key]}"
  MED_SERVER_US[$key]=$(median "${runs[@]}")
done

# value_of KIND KEY: a median (rps, p99) of one case/conns, empty if it was not measured.
value_of() {
  case $1 in
    rps) echo "${MED_RPS[$2]:-}" ;;
    p99) echo "${MED_P99[$2]:-}" ;;
    cpu) echo "${MED_SERVER_US[$2]:-}" ;;
  esac
}

# target LABEL KIND A B OP GOAL: one line of the targets table: A/B (or A alone when B is
# "-") against GOAL with OP (>= or <=); "n/a" with the reason when a case was not measured.
target() {
  local label=$1 kind=$2 a=$3 b=$4 op=$5 goal=$6 va vb why="" c unit="" other=0 o
  [ "$b" = - ] && unit=ms
  va=$(value_of "$kind" "$a")
  vb=1
  [ "$b" = - ] || vb=$(value_of "$kind" "$b")
  if [ -z "$va" ] || [ -z "$vb" ]; then
    for c in "${a%/*}" "${b%/*}"; do
      [ -n "${CASE_SKIP[$c]:-}" ] && why="${CASE_LABEL[$c]} skipped" && break
    done
    printf '  %-44s %8s   %s %-6s %s\n' "$label" n/a "$op" "$goal" "${why:-not measured}"
    return 0
  fi
  # A verdict from runs that other work disturbed says so: the figures moved, not the server.
  for c in "$a" "$b"; do
    o=${MED_OTHER[$c]:-0}
    o=${o%.*}
    ((o > other)) && other=$o
  done
  awk -v l="$label" -v a="$va" -v b="$vb" -v op="$op" -v g="$goal" -v unit="$unit" \
    -v other="$other" -v limit="$DISTURBED_PCT" 'BEGIN {
    if (unit == "ms") { v = a / 1000; goal = g } else if (b > 0) { v = a / b; goal = g } else v = -1
    if (v < 0) { printf "  %-44s %8s   %s %-6s %s\n", l, "n/a", op, g, "divisor is 0"; exit }
    ok = (op == ">=") ? v >= goal : v <= goal
    if (!goal) verdict = ""; else verdict = ok ? "met" : "MISSED"
    if (goal && other > limit) verdict = verdict " (disturbed: other load " other "%)"
    printf "  %-44s %8.2f   %s %-6s %s\n", l, v, op, (unit == "ms") ? g " ms" : g, verdict
  }'
}

mlp_body_bytes=$(wc -c <"$MLP_BODY")
table=$TMP/table.txt
{
  echo "inferd load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:  $commit"
  echo "host:    $(uname -n), $(nproc) cores, Linux $(uname -r), load average before start $LOAD_BEFORE"
  echo "load:    wrk ${wrk_version:-?}, ${DURATION} s per run, $RUNS round(s), order reversed every other round;"
  echo "         conns 64: wrk -t2 -c64, 1: wrk -t1 -c1 (client and server share the cores);"
  echo "         p64 (pinned): server on CPU $SERVER_CPU with one thread, taskset -c $CLIENT_CPU wrk -t1 -c64"
  echo "request: mlp POST $MLP_PATH, $MLP_BODY ($mlp_body_bytes bytes);"
  if [ -n "$cnn_served" ]; then
    echo "         cnn, lenet POST $CNN_PATH, $LENET_PATH: bench/helpers.py cnn-request, [1,1,28,28] ($(wc -c <"$CNN_BODY") bytes)"
  fi
  for model in cnn lenet; do
    if [ -n "${MODEL_SKIP[$model]:-}" ]; then
      echo "$model:     skipped: ${MODEL_SKIP[$model]}"
    else
      echo "$model:$([ $model = cnn ] && echo '     ' || echo '   ') ${MODEL_FILE[$model]} ($(wc -c <"${MODEL_FILE[$model]}") bytes), max_batch_size $CNN_MAX_BATCH"
    fi
  done
  echo "(a):     nginx $nginx_version, worker_processes 2 (pinned: 1), return 200 with inferd's ${#NGINX_REPLY}-byte reply"
  echo "(b),(e): $INFERD_BIN (run from a copy), --registry none, default threads (pinned: --threads 1),"
  echo "         no scheduler: requests run inline on the HTTP threads"
  echo "(c),(e): the same with max_queue_delay_microseconds $BATCH_DELAY_US, instance_group count $BATCH_INSTANCES"
  echo "         (the CNN: count $CNN_INSTANCES)"
  echo "(d):     bench/peers/fastapi_mlp.py, uvicorn --workers $PEER_WORKERS, torch 1 thread ($peer_versions)"
  echo
  printf '%-26s %5s %13s %9s %9s %8s %7s %8s %6s  %s\n' case conns "req/s median" "p50 us" "p99 us" \
    non-2xx sockerr "cpu us" other% "req/s of each run"
  for c in "${CASES[@]}"; do
    if [ -n "${CASE_SKIP[$c]:-}" ]; then
      printf '%-26s %5s  skipped: %s\n' "${CASE_LABEL[$c]}" - "${CASE_SKIP[$c]}"
      continue
    fi
    for n in ${CASE_CONNS[$c]}; do
      key=$c/$n
      if [ -z "${RPS[$key]:-}" ]; then
        printf '%-26s %5s  not measured: its server exited\n' "${CASE_LABEL[$c]}" "$n"
        continue
      fi
      printf '%-26s %5s %13.2f %9.0f %9.0f %8d %7s %8.1f %6.0f  %s\n' "${CASE_LABEL[$c]}" "$n" \
        "${MED_RPS[$key]}" "${MED_P50[$key]}" "${MED_P99[$key]}" "${NON2XX[$key]}" \
        "${SOCKERR[$key]:-none}" "${MED_SERVER_US[$key]}" "${MED_OTHER[$key]}" "${RPS[$key]% }"
    done
  done
  echo "(medians over rounds; p50 and p99 are medians of each run's percentile; cpu us: the server's"
  echo " CPU time per request, all its threads and processes, user + system; other%: share of the"
  echo " $NCPU CPUs used during the run by neither the server nor wrk, i.e. other work on the machine)"
  for f in "${failures[@]}"; do
    echo "FAILED: $f"
  done
  echo
  echo "targets (docs: the DESIGN performance budgets)            value   goal  (disturbed: median other% > $DISTURBED_PCT)"
  target "(b)/(a) req/s, 64 conns" rps mlp/64 nginx/64 ">=" 0.5
  target "(b)/(d) req/s, 64 conns" rps mlp/64 mlp_fastapi/64 ">=" 10
  target "pinned p99 (b)/(a), 64 conns" p99 mlp_pinned/p64 nginx_pinned/p64 "<=" 1.5
  target "(e) batching on/off req/s, 64 conns" rps cnn_batched/64 cnn/64 ">=" 3
  target "(b) p99 ms, 64 conns" p99 mlp/64 - "<=" 5
  echo "other ratios"
  target "(b)/(a) req/s, 1 conn" rps mlp/1 nginx/1 "" ""
  target "(b)/(d) req/s, 1 conn" rps mlp/1 mlp_fastapi/1 "" ""
  target "(c)/(b) req/s, 64 conns" rps mlp_batched/64 mlp/64 "" ""
  target "(c)/(b) req/s, 1 conn" rps mlp_batched/1 mlp/1 "" ""
  target "(e) batching on/off req/s, 1 conn" rps cnn_batched/1 cnn/1 "" ""
  target "(e) lenet batching on/off req/s, 64 conns" rps lenet_batched/64 lenet/64 "" ""
  target "server CPU us/request (b)/(a), 64 conns" cpu mlp/64 nginx/64 "" ""
  target "server CPU us/request (b)/(a), pinned" cpu mlp_pinned/p64 nginx_pinned/p64 "" ""
  target "server CPU us/request (d)/(b), 64 conns" cpu mlp_fastapi/64 mlp/64 "" ""
  target "server CPU us/request (e) off/on, 64 conns" cpu cnn/64 cnn_batched/64 "" ""
  target "pinned req/s (b)/(a)" rps mlp_pinned/p64 nginx_pinned/p64 "" ""
  echo "(whole run: $((SECONDS - STARTED_AT)) s)"
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

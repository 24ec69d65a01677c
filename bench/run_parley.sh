#!/usr/bin/env bash
# Benchmarks parleyd with parley-loadgen: logins/s, message throughput and latency, memory
# per idle connection, and server CPU time per operation. See bench/README.md.
#
# Builds (Release) if needed, starts a private parleyd on free ports with a temporary data
# directory, creates the users, runs the scenarios and writes a markdown report to
# bench/results/parley-<date>.md (JSON of each scenario beside it). Takes about 2 minutes
# with the defaults. Every size can be overridden from the environment:
#
#   LOGIN_USERS=200 LOGIN_ROUNDS=5   login scenario: connections per round, measured rounds
#   MSG_PAIRS=100                    messages scenario: 2*MSG_PAIRS connections
#   RATES=1000,2000,4000             offered messages/s per step (plaintext)
#   TLS_RATES=2000                   steps of the STARTTLS messages run ("" skips it)
#   DURATION=5 WARMUP=2              measured and warm-up seconds per step
#   IDLE_CONNS=1000 HOLD=5           idle scenario size and hold time
#   SCENARIOS="login messages idle"  which scenarios to run
#   IO_THREADS=1                     parleyd [server] io_threads
#   SERVER_CPU=1 LOADGEN_CPU=0       cores for taskset
#   RESULTS_DIR=bench/results        where the report goes
#   BUILD_DIR=build-bench SKIP_BUILD=1 KEEP=1 (keep the temporary directory)
#   PARLEY_BUILD=DIR                 use the binaries in DIR as they are, no build
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=run_parley
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
LOGIN_USERS=${LOGIN_USERS:-200}
LOGIN_ROUNDS=${LOGIN_ROUNDS:-5}
MSG_PAIRS=${MSG_PAIRS:-100}
RATES=${RATES:-1000,2000,4000}
TLS_RATES=${TLS_RATES-2000}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
IDLE_CONNS=${IDLE_CONNS:-1000}
HOLD=${HOLD:-5}
SCENARIOS=${SCENARIOS:-login messages idle}
IO_THREADS=${IO_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PASSWORD=${PASSWORD:-bench-secret}
PREFIX=${PREFIX:-bench}
USER_JOBS=${USER_JOBS:-4}

# ---- build -----------------------------------------------------------------------------------
bench_build parleyd parleyctl parley-loadgen
PARLEYD=$BUILD_DIR/parleyd
PARLEYCTL=$BUILD_DIR/parleyctl
LOADGEN=$BUILD_DIR/parley-loadgen

# ---- private server --------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/parley-bench.XXXXXX)
SERVER_PID=""
stop_server() {
  parley_stop
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

C2S_PORT=$(pick_port)
HTTP_PORT=$(pick_port)
parley_config "$WORK/parley.toml" "$WORK/data" "$C2S_PORT" "$HTTP_PORT" optional

start_server() {
  parley_start "$WORK/parley.toml" "$WORK/parleyd.log" "$C2S_PORT"
  SERVER_PID=$PARLEY_PID
}

wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# ---- users -----------------------------------------------------------------------------------
USERS=0
if wants login && (( LOGIN_USERS > USERS )); then USERS=$LOGIN_USERS; fi
if wants messages && (( 2 * MSG_PAIRS > USERS )); then USERS=$((2 * MSG_PAIRS)); fi
if wants idle && (( IDLE_CONNS > USERS )); then USERS=$IDLE_CONNS; fi
log "creating $USERS users with parleyctl ($USER_JOBS in parallel)"
user_start=$EPOCHREALTIME
parley_users "$WORK/parley.toml" "$PREFIX" "$USERS" "$PASSWORD"
user_seconds=$(awk -v a="$user_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
log "created $USERS users in ${user_seconds} s"

# ---- report ----------------------------------------------------------------------------------
STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
mkdir -p "$RESULTS/parley-$STAMP"
MD=$RESULTS/parley-$STAMP.md
JSON_DIR=$RESULTS/parley-$STAMP
COMMIT=$(commit_text)
{
  echo "# parleyd benchmark, $(date '+%Y-%m-%d %H:%M')"
  echo
  echo "- commit $COMMIT, ${BUILD_TYPE:-unknown} build, parleyd io_threads=$IO_THREADS pinned to CPU $SERVER_CPU, parley-loadgen pinned to CPU $LOADGEN_CPU"
  echo "- machine: $(machine_text)"
  echo "- $USERS users created with parleyctl in ${user_seconds} s ($USER_JOBS in parallel)"
  echo "- loopback, SQLite storage; CPU figures are utime+stime of parleyd from /proc; steal is machine-wide"
} >"$MD"

FAILED=0
loadgen() { # $1: name, then loadgen flags
  local name=$1; shift
  log "scenario $name"
  taskset -c "$LOADGEN_CPU" "$LOADGEN" --port "$C2S_PORT" --domain localhost --user-prefix "$PREFIX" \
    --password "$PASSWORD" --label parleyd --server-pid "$SERVER_PID" --json "$JSON_DIR/$name.json" \
    --markdown "$MD" "$@" || { log "scenario $name reported failures (exit $?)"; FAILED=1; }
}

ulimit -n "$(ulimit -Hn)"
start_server
if wants login; then
  loadgen login-plain --scenario login --users "$LOGIN_USERS" --rounds "$LOGIN_ROUNDS"
  loadgen login-tls --scenario login --users "$LOGIN_USERS" --rounds "$LOGIN_ROUNDS" --tls
  # PLAIN makes the server run PBKDF2 on every login, SCRAM does not: the difference shows.
  loadgen login-tls-plain --scenario login --users "$LOGIN_USERS" --rounds "$LOGIN_ROUNDS" --tls --mech PLAIN
fi
if wants messages; then
  loadgen messages-plain --scenario messages --users $((2 * MSG_PAIRS)) --rates "$RATES" \
    --duration "$DURATION" --warmup "$WARMUP"
  if [[ -n "$TLS_RATES" ]]; then
    loadgen messages-tls --scenario messages --users $((2 * MSG_PAIRS)) --rates "$TLS_RATES" \
      --duration "$DURATION" --warmup "$WARMUP" --tls
  fi
fi
if wants idle; then
  # Memory per idle connection is read on a fresh server each time: memory freed by earlier
  # scenarios stays in the allocator and would hide the cost of new connections.
  stop_server
  start_server
  loadgen idle-plain --scenario idle --users "$IDLE_CONNS" --hold "$HOLD" --concurrency 200
  stop_server
  start_server
  loadgen idle-tls --scenario idle --users "$IDLE_CONNS" --hold "$HOLD" --concurrency 200 --tls
fi
stop_server

if grep -qiE 'error|critical|assert' "$WORK/parleyd.log"; then
  { echo; echo "parleyd logged errors:"; echo '```'; grep -iE 'error|critical|assert' "$WORK/parleyd.log" | head -20; echo '```'; } >>"$MD"
fi
log "report: $MD"
cat "$MD"
exit $FAILED

#!/usr/bin/env bash
# Parley side by side with Prosody and ejabberd: the same scenarios, the same load generator,
# the same users and the same pinning, in one run. See bench/README.md, "Side by side with
# Prosody and ejabberd".
#
# Installs prosody and ejabberd from Debian when missing (as root), builds parleyd,
# parleyctl, parley-loadgen and parley-hookbench (Release, in build-bench/), and then, one
# server after the other, starts each as a private instance on loopback (its own config and
# data directories in a temporary directory, free ports, domain "localhost", users
# <PREFIX>0..N-1 and alice with known passwords, plaintext c2s with STARTTLS offered, one
# self-signed P-256 certificate for all three), pinned to SERVER_CPU, with the load
# generator pinned to LOADGEN_CPU. System services of the packages are neither used nor
# touched. Scenarios (each RUNS times; the report gives the median and the min–max):
#
#   login     plaintext + SCRAM, STARTTLS + SCRAM (strongest mechanism each server offers),
#             STARTTLS + PLAIN; LOGIN_USERS per round, 1 warm-up + LOGIN_ROUNDS rounds
#   messages  2*MSG_PAIRS connections, offered msg/s stepped through RATES (and TLS_RATES
#             over STARTTLS, if set); WARMUP + DURATION seconds per step
#   idle      IDLE_CONNS idle connections held HOLD s, plaintext and STARTTLS, each run on a
#             freshly started server
#   http      POST until the message reaches a logged-in user: parleyd /hooks/NAME against
#             ejabberd's mod_http_api send_message (Prosody has no counterpart); closed loop
#             over HTTP_CONNECTIONS connections, then at HTTP_RATE msg/s
#   offline   OFFLINE_SENDERS senders send OFFLINE_MESSAGES messages each, at once, to
#             OFFLINE_RECIPIENTS users who are offline (store, until every sender's ping after
#             its burst is answered); then the recipients log in and get them (drain, until
#             the last one arrived). Every server keeps up to OFFLINE_QUOTA per user.
#
# Writes bench/results/compare-<date>.md, with the JSON and the load generator's own tables
# of every run in bench/results/compare-<date>/. Sizes:
#
#   SERVERS="parley prosody ejabberd"  SCENARIOS="login messages idle http offline"  RUNS=3
#   LOGIN_USERS=200 LOGIN_ROUNDS=3     MSG_PAIRS=100  RATES=2000,4000,8000,16000  TLS_RATES=
#   DURATION=4 WARMUP=1 DRAIN=3        IDLE_CONNS=1000 (up to 10000) HOLD=5
#   HTTP_MESSAGES=10000 HTTP_WARMUP=1000 HTTP_CONNECTIONS=32 HTTP_RATE=1000 (""  skips it)
#   OFFLINE_SENDERS=50 OFFLINE_MESSAGES=400 OFFLINE_RECIPIENTS=100 OFFLINE_QUOTA=10000
#   OFFLINE_QUIET=10 (drain: give up after so many seconds without a message)
#   IO_THREADS=1 SERVER_CPU=1 LOADGEN_CPU=0 USER_JOBS=4
#   PARLEY_BUILD=DIR | BUILD_DIR=build-bench SKIP_BUILD=1   RESULTS_DIR=bench/results KEEP=1
#
# About 15 minutes with the defaults. Exit status 0 when every run completed (messages lost
# past a server's saturation do not count as failures: the report shows them), 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=run_compare
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

SERVERS=${SERVERS:-parley prosody ejabberd}
SCENARIOS=${SCENARIOS:-login messages idle http offline}
RUNS=${RUNS:-3}
LOGIN_USERS=${LOGIN_USERS:-200}
LOGIN_ROUNDS=${LOGIN_ROUNDS:-3}
MSG_PAIRS=${MSG_PAIRS:-100}
RATES=${RATES:-2000,4000,8000,16000}
TLS_RATES=${TLS_RATES-}
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
DRAIN=${DRAIN:-3}
IDLE_CONNS=${IDLE_CONNS:-1000}
HOLD=${HOLD:-5}
HTTP_MESSAGES=${HTTP_MESSAGES:-10000}
HTTP_WARMUP=${HTTP_WARMUP:-1000}
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-32}
HTTP_RATE=${HTTP_RATE-1000}
OFFLINE_SENDERS=${OFFLINE_SENDERS:-50}
OFFLINE_MESSAGES=${OFFLINE_MESSAGES:-400}
OFFLINE_RECIPIENTS=${OFFLINE_RECIPIENTS:-100}
OFFLINE_QUIET=${OFFLINE_QUIET:-10}
# Read by lib.sh when it writes each server's config: the same per-user limit everywhere.
export OFFLINE_QUOTA=${OFFLINE_QUOTA:-10000}
IO_THREADS=${IO_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PASSWORD=${PASSWORD:-bench-secret}
PREFIX=${PREFIX:-bench}
TOKEN=bench-inbound-secret

wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }
serves() { [[ " $SERVERS " == *" $1 "* ]]; }

# ---- peers and build -------------------------------------------------------------------------
if serves prosody || serves ejabberd; then
  [[ $(id -u) == 0 ]] || { log "Prosody and ejabberd are run as their own users: run as root"; exit 2; }
  packages=()
  serves prosody && packages+=(prosody)
  serves ejabberd && packages+=(ejabberd)
  ensure_packages "${packages[@]}" openssl util-linux
fi
bench_build parleyd parleyctl parley-loadgen parley-hookbench
PARLEYD=$BUILD_DIR/parleyd
PARLEYCTL=$BUILD_DIR/parleyctl
LOADGEN=$BUILD_DIR/parley-loadgen
HOOKBENCH=$BUILD_DIR/parley-hookbench

USERS=0
if wants login && ((LOGIN_USERS > USERS)); then USERS=$LOGIN_USERS; fi
if wants messages && ((2 * MSG_PAIRS > USERS)); then USERS=$((2 * MSG_PAIRS)); fi
if wants idle && ((IDLE_CONNS > USERS)); then USERS=$IDLE_CONNS; fi
if wants offline && ((OFFLINE_SENDERS + OFFLINE_RECIPIENTS > USERS)); then
  USERS=$((OFFLINE_SENDERS + OFFLINE_RECIPIENTS))
fi
if wants offline && ((OFFLINE_SENDERS * OFFLINE_MESSAGES > OFFLINE_QUOTA * OFFLINE_RECIPIENTS)); then
  log "offline: $((OFFLINE_SENDERS * OFFLINE_MESSAGES)) messages for $OFFLINE_RECIPIENTS recipients exceed OFFLINE_QUOTA=$OFFLINE_QUOTA per user"
  exit 2
fi
((USERS > 0)) || USERS=1

# ---- temporary directory and cleanup ---------------------------------------------------------
WORK=$(mktemp -d /tmp/parley-compare.XXXXXX)
chmod 755 "$WORK"
PROSODY_DIR=$WORK/prosody
EJ_DIR=$WORK/ejabberd
mkdir -p "$WORK/parley" "$PROSODY_DIR" "$EJ_DIR"
make_cert "$WORK"
cp "$WORK/cert.pem" "$WORK/key.pem" "$PROSODY_DIR/"
cp "$WORK/cert.pem" "$WORK/key.pem" "$EJ_DIR/"
PARLEY_PID="" PROSODY_PID="" EJ_PID="" EJ_STARTED=0
cleanup() {
  parley_stop
  prosody_stop
  ej_stop
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
JSON_DIR=$RESULTS/compare-$STAMP
MD=$RESULTS/compare-$STAMP.md
mkdir -p "$JSON_DIR"
FAILED=0
RUN_STEAL0=$(steal_ticks)
RUN_T0=$(date +%s)

# ---- one server at a time --------------------------------------------------------------------
# start_server NAME: a running, freshly started server with its users; sets PORT, HTTP and PID.
# Users are created once per server; restarts keep them (SQLite, Mnesia, account files).
declare -A CREATED=()
start_server() {
  local t0
  case "$1" in
    parley)
      if [[ -z "${CREATED[parley]:-}" ]]; then
        PORT=$(pick_port) HTTP=$(pick_port)
        parley_config "$WORK/parley/parley.toml" "$WORK/parley/data" "$PORT" "$HTTP" optional "
[tls]
certificate = \"$WORK/cert.pem\"
key = \"$WORK/key.pem\"

[[gateway]]
domain = \"hooks.localhost\"
kind = \"webhook\"
allow_private_addresses = true
[[gateway.hook]]
name = \"bench\"
url = \"http://127.0.0.1:$(pick_port)/sink\"
inbound_secret = \"$TOKEN\"
recipient = \"alice@localhost\""
        t0=$EPOCHREALTIME
        parley_users "$WORK/parley/parley.toml" "$PREFIX" "$USERS" "$PASSWORD"
        "$PARLEYCTL" --config "$WORK/parley/parley.toml" user add alice --password "$PASSWORD" >/dev/null
        CREATED[parley]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        echo "parley $PORT $HTTP" >"$WORK/parley/ports"
      fi
      read -r _ PORT HTTP <"$WORK/parley/ports"
      parley_start "$WORK/parley/parley.toml" "$WORK/parley/parleyd.log" "$PORT"
      PID=$PARLEY_PID
      ;;
    prosody)
      if [[ -z "${CREATED[prosody]:-}" ]]; then
        PORT=$(pick_port) HTTP=""
        prosody_setup "$PORT"
        t0=$EPOCHREALTIME
        prosody_users "$PREFIX" "$USERS" "$PASSWORD" alice
        CREATED[prosody]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        echo "prosody $PORT -" >"$WORK/prosody/ports"
      fi
      read -r _ PORT HTTP <"$WORK/prosody/ports"
      prosody_start "$PORT" || return 1
      PID=$PROSODY_PID
      ;;
    ejabberd)
      local fresh=0
      if [[ -z "${CREATED[ejabberd]:-}" ]]; then
        PORT=$(pick_port) HTTP=$(pick_port)
        # SCRAM-SHA-256 keys are stored, not passwords: logins need no PBKDF2 on the server.
        ej_setup "$PORT" "$HTTP" $'auth_password_format: scram\nauth_scram_hash: sha256'
        echo "ejabberd $PORT $HTTP" >"$EJ_DIR/ports"
        fresh=1
      fi
      read -r _ PORT HTTP <"$EJ_DIR/ports"
      ej_start "$HTTP" || return 1
      if ((fresh)); then
        t0=$EPOCHREALTIME
        http_register "$HTTP" "$PREFIX" "$USERS" "$PASSWORD" alice
        CREATED[ejabberd]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
      fi
      PID=$EJ_PID
      ;;
  esac
  [[ -n "$PID" ]] || { log "$1: no server PID"; return 1; }
}
stop_server() {
  case "$1" in
    parley) parley_stop ;;
    prosody) prosody_stop ;;
    ejabberd) ej_stop ;;
  esac
}

# loadgen SERVER NAME FLAGS...: one run of parley-loadgen; JSON and exit status kept.
loadgen() {
  local server=$1 name=$2 rc=0; shift 2
  log "$server: $name"
  taskset -c "$LOADGEN_CPU" "$LOADGEN" --port "$PORT" --domain localhost --user-prefix "$PREFIX" \
    --password "$PASSWORD" --label "$server" --server-pid "$PID" --quiet \
    --json "$JSON_DIR/$server/$name.json" --markdown "$JSON_DIR/$server/details.md" "$@" || rc=$?
  echo "$rc" >"$JSON_DIR/$server/$name.rc"
  # 1 is a completed run that found losses or failed logins (expected past saturation).
  if ((rc > 1)); then log "$server: $name could not be run (exit $rc)"; FAILED=1; fi
}
hookbench() {
  local server=$1 name=$2 rc=0; shift 2
  log "$server: $name"
  taskset -c "$LOADGEN_CPU" "$HOOKBENCH" inbound --port "$PORT" --password "$PASSWORD" --http-port "$HTTP" \
    --connections "$HTTP_CONNECTIONS" --server-pid "$PID" --label "$server" --quiet \
    --json "$JSON_DIR/$server/$name.json" "$@" || rc=$?
  echo "$rc" >"$JSON_DIR/$server/$name.rc"
  if ((rc > 1)); then log "$server: $name could not be run (exit $rc)"; FAILED=1; fi
}

run_server() {
  local server=$1 run s0 t0 http_flags=()
  mkdir -p "$JSON_DIR/$server"
  s0=$(steal_ticks) t0=$(date +%s)
  if ! start_server "$server"; then FAILED=1; stop_server "$server"; return; fi
  log "$server: started (pid $PID, c2s port $PORT), $USERS users"
  if wants login; then
    for run in $(seq 1 "$RUNS"); do
      loadgen "$server" "login-plain-$run" --scenario login --users "$LOGIN_USERS" --rounds "$LOGIN_ROUNDS"
      loadgen "$server" "login-tls-$run" --scenario login --users "$LOGIN_USERS" --rounds "$LOGIN_ROUNDS" --tls
      loadgen "$server" "login-tls-plain-$run" --scenario login --users "$LOGIN_USERS" --rounds "$LOGIN_ROUNDS" \
        --tls --mech PLAIN
    done
  fi
  if wants messages; then
    for run in $(seq 1 "$RUNS"); do
      loadgen "$server" "messages-plain-$run" --scenario messages --users $((2 * MSG_PAIRS)) --rates "$RATES" \
        --duration "$DURATION" --warmup "$WARMUP" --drain "$DRAIN"
      if [[ -n "$TLS_RATES" ]]; then
        loadgen "$server" "messages-tls-$run" --scenario messages --users $((2 * MSG_PAIRS)) --rates "$TLS_RATES" \
          --duration "$DURATION" --warmup "$WARMUP" --drain "$DRAIN" --tls
      fi
    done
  fi
  if wants http && [[ "$server" != prosody ]]; then
    if [[ "$server" == parley ]]; then
      http_flags=(--path /hooks/bench --authorization "Bearer $TOKEN")
    else
      http_flags=(--path /api/send_message --api ejabberd --from "${PREFIX}0@localhost")
    fi
    for run in $(seq 1 "$RUNS"); do
      hookbench "$server" "http-closed-$run" "${http_flags[@]}" --messages "$HTTP_MESSAGES" --warmup "$HTTP_WARMUP"
    done
    if [[ -n "$HTTP_RATE" ]]; then
      for run in $(seq 1 "$RUNS"); do
        hookbench "$server" "http-rate-$run" "${http_flags[@]}" --messages "$HTTP_MESSAGES" --warmup "$HTTP_WARMUP" \
          --rate "$HTTP_RATE"
      done
    fi
  fi
  if wants offline; then
    # Each run drains what it stored, so the next one starts from empty offline stores (a
    # message left over would be reported as one from an earlier run).
    for run in $(seq 1 "$RUNS"); do
      loadgen "$server" "offline-$run" --scenario offline --senders "$OFFLINE_SENDERS" \
        --recipients "$OFFLINE_RECIPIENTS" --messages "$OFFLINE_MESSAGES" --drain "$OFFLINE_QUIET"
    done
  fi
  if wants idle; then
    # RSS per connection is read on a freshly started server each time: memory freed by
    # earlier scenarios stays in the allocator (or the Lua and Erlang heaps) and would hide
    # the cost of new connections.
    for run in $(seq 1 "$RUNS"); do
      local tls
      for tls in plain tls; do
        stop_server "$server"
        start_server "$server" || { FAILED=1; continue; }
        if [[ "$tls" == tls ]]; then
          loadgen "$server" "idle-tls-$run" --scenario idle --users "$IDLE_CONNS" --hold "$HOLD" --concurrency 200 --tls
        else
          loadgen "$server" "idle-plain-$run" --scenario idle --users "$IDLE_CONNS" --hold "$HOLD" --concurrency 200
        fi
      done
    done
  fi
  stop_server "$server"
  echo "$server $(steal_pct "$s0" "$(steal_ticks)") $(($(date +%s) - t0)) ${CREATED[$server]:-?}" >>"$JSON_DIR/segments.txt"
}

: >"$JSON_DIR/segments.txt"
for server in $SERVERS; do
  case "$server" in
    parley | prosody | ejabberd) run_server "$server" ;;
    *) log "unknown server $server"; FAILED=1 ;;
  esac
done

# ---- report ----------------------------------------------------------------------------------
RUN_STEAL=$(steal_pct "$RUN_STEAL0" "$(steal_ticks)")
versions=()
serves parley && versions+=("Parley commit $(commit_text), ${BUILD_TYPE:-unknown} build, io_threads=$IO_THREADS, SQLite")
serves prosody && versions+=("Prosody $(dpkg-query -W -f='${Version}' prosody 2>/dev/null) (Debian, $(readlink -f "$(command -v lua5.4 || command -v lua)" 2>/dev/null | xargs -r basename), epoll backend, internal_hashed SCRAM-SHA-1 accounts)")
serves ejabberd && versions+=("ejabberd ${EJ_VERSION:-$(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null)} (Debian, Erlang/OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null), Mnesia, SCRAM-SHA-256 keys stored)")
{
  echo "# Parley, Prosody and ejabberd side by side, $(date '+%Y-%m-%d %H:%M')"
  echo
  for v in "${versions[@]}"; do echo "- $v"; done
  echo "- machine: $(machine_text); steal over the whole run $RUN_STEAL % (machine-wide, /proc/stat); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- each server alone, pinned to CPU $SERVER_CPU; parley-loadgen and parley-hookbench pinned to CPU $LOADGEN_CPU; loopback; $RUNS runs per figure, median (min–max)"
  echo "- same domain, $USERS users with one password, plaintext c2s with STARTTLS offered, the same self-signed P-256 certificate, 4096 PBKDF2 iterations everywhere; no rate limits or shapers (ejabberd: shaper none, max_fsm_queue 1000000; Prosody: mod_limits not loaded; parleyd: per-IP limits lifted)"
  echo "- offline storage on every server, up to $OFFLINE_QUOTA messages per user: parleyd SQLite ([storage] offline_quota), Prosody mod_offline on internal storage (storage_archive_item_limit), ejabberd mod_offline on Mnesia (max_user_offline_messages); none writes an fsync per message"
} >"$MD"
python3 "$ROOT/bench/compare_report.py" "$JSON_DIR" "$RUNS" "$SERVERS" "$SCENARIOS" "$RATES" "$TLS_RATES" "$HTTP_RATE" >>"$MD" ||
  { log "report failed"; FAILED=1; }
log "report: $MD"
cat "$MD"
exit $FAILED

#!/usr/bin/env bash
# Benchmarks the SMS gateway with real peers: messages/s through Kannel (bearerbox + smsbox,
# kannel-extras' fakesmsc as the SMSC) and through SMPP 3.4 (an SMSC on the npm package
# `smpp`, bench/smpp_smsc.js), outbound (XMPP → SMS) and inbound (SMS → XMPP), with parleyd's
# CPU time per message. See bench/README.md, "SMS gateway throughput".
#
# Builds (Release, in build-bench/) if needed, installs the SMSC's npm package with `npm ci`
# (the lock file of tests/e2e/smpp_peer) into build-bench/smpp_peer, and for each provider
# starts a private parleyd (SQLite in a temporary data directory, free ports) pinned to
# SERVER_CPU and the peers pinned to PEER_CPU, then runs bench/sms_bench.py: one warm-up run
# and RUNS measured runs per direction. Writes bench/results/sms-<date>.md (JSON of each
# direction beside it). About 2 minutes with the defaults. Needs root (Kannel's boxes), Debian's
# kannel and kannel-extras, and Node.js with npm (installed from Debian when missing).
#
#   MESSAGES=5000 WARMUP=200 RUNS=3   messages per run, per warm-up run; measured runs
#   RATE=0                            outbound offered msg/s; 0: every message at once
#   SENDERS=4                         XMPP users sending (each with its own number); the first
#                                     one receives the inbound messages
#   DESTINATIONS=100                  outbound numbers, round-robin (parleyd sends at most
#                                     concurrency_per_destination at once to each)
#   SMPP_WINDOW=10                    parleyd's [gateway.smpp] window (its default)
#   DELIVER_WINDOW=10                 deliver_sm the SMSC keeps unanswered at most
#   PROVIDERS="kannel smpp" DIRECTIONS="out in"
#   IO_THREADS=1 SERVER_CPU=1 PEER_CPU=0
#                                     parleyd io_threads; cores for taskset (the peers, the
#                                     Kannel boxes and the measuring tool share PEER_CPU)
#   PARLEY_BUILD=DIR                  use the binaries in DIR as they are, no build
#   BUILD_DIR=build-bench SKIP_BUILD=1 RESULTS_DIR=bench/results KEEP=1 (keep the temp dir)
#   SMPP_PEER_DIR=DIR                 where the npm package goes (default BUILD_DIR/smpp_peer)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=run_sms
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
MESSAGES=${MESSAGES:-5000}
WARMUP=${WARMUP:-200}
RUNS=${RUNS:-3}
RATE=${RATE:-0}
SENDERS=${SENDERS:-4}
DESTINATIONS=${DESTINATIONS:-100}
SMPP_WINDOW=${SMPP_WINDOW:-10}
DELIVER_WINDOW=${DELIVER_WINDOW:-10}
PROVIDERS=${PROVIDERS:-kannel smpp}
DIRECTIONS=${DIRECTIONS:-out in}
IO_THREADS=${IO_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-1}
PEER_CPU=${PEER_CPU:-0}
FAKESMSC=${FAKESMSC:-/usr/lib/kannel/test/fakesmsc}
PASSWORD=bench-sms
DOMAIN=sms.localhost
OWNER_NUMBER=15550100000 # sms0's; sms<i> has 1555010<i, 4 digits>
FAR_NUMBER=15557654321   # the sender of inbound SMS

wants() { [[ " $PROVIDERS " == *" $1 "* ]]; }

if [[ $(id -u) -ne 0 ]] && wants kannel; then
  log "Kannel's bearerbox and smsbox want root; run as root or with PROVIDERS=smpp"
  exit 2
fi
wants kannel && ensure_packages kannel kannel-extras
if wants smpp && ! { command -v node && command -v npm; } >/dev/null; then ensure_packages nodejs npm; fi
if wants kannel && [[ ! -x "$FAKESMSC" ]]; then log "missing $FAKESMSC (kannel-extras)"; exit 2; fi

# ---- build -----------------------------------------------------------------------------------
bench_build parleyd parleyctl
PARLEYD=$BUILD_DIR/parleyd
PARLEYCTL=$BUILD_DIR/parleyctl

# The SMSC's npm package, from the end-to-end test's lock file, installed once per lock file.
SMPP_PEER_DIR=${SMPP_PEER_DIR:-$BUILD_DIR/smpp_peer}
if wants smpp; then
  mkdir -p "$SMPP_PEER_DIR"
  if [[ ! -f "$SMPP_PEER_DIR/node_modules/smpp/package.json" ]] ||
    ! cmp -s "$ROOT/tests/e2e/smpp_peer/package-lock.json" "$SMPP_PEER_DIR/package-lock.json"; then
    log "npm ci for the SMSC's package in $SMPP_PEER_DIR"
    cp "$ROOT/tests/e2e/smpp_peer/package.json" "$ROOT/tests/e2e/smpp_peer/package-lock.json" "$SMPP_PEER_DIR/"
    (cd "$SMPP_PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

# ---- private servers -------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/parley-smsbench.XXXXXX)
chmod 755 "$WORK"
PIDS=() # peers started by this script
stop_all() {
  parley_stop
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_all
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
JSON_DIR=$RESULTS/sms-$STAMP
MD=$RESULTS/sms-$STAMP.md
mkdir -p "$JSON_DIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0

# start_parley DIR GATEWAY_TOML: parleyd with the users sms0..SENDERS-1 and their numbers.
start_parley() {
  local dir=$1 i
  mkdir -p "$dir"
  parley_config "$dir/parley.toml" "$dir/data" "$C2S_PORT" "$HTTP_PORT" disabled "$2"
  parley_users "$dir/parley.toml" sms "$SENDERS" "$PASSWORD"
  PARLEY_API_TOKEN=$("$PARLEYCTL" --config "$dir/parley.toml" token create --scope admin 2>/dev/null | tail -1)
  export PARLEY_API_TOKEN
  parley_start "$dir/parley.toml" "$dir/parleyd.log" "$C2S_PORT"
  wait_port "$HTTP_PORT" "$PARLEY_PID" 10
  for i in $(seq 0 $((SENDERS - 1))); do
    "$PARLEYCTL" --config "$dir/parley.toml" registrations add "sms$i" "$DOMAIN" "+1555010$(printf %04d "$i")" >/dev/null
  done
}

# bench PROVIDER EXTRA_FLAGS...: sms_bench.py for each direction.
bench() {
  local provider=$1 direction; shift
  for direction in $DIRECTIONS; do
    log "$provider $direction: $RUNS runs of $MESSAGES messages (after $WARMUP warm-up)"
    taskset -c "$PEER_CPU" python3 "$ROOT/bench/sms_bench.py" run --provider "$provider" --direction "$direction" \
      --c2s-port "$C2S_PORT" --server-pid "$PARLEY_PID" --password "$PASSWORD" --users "$SENDERS" \
      --domain "$DOMAIN" --owner-number "$OWNER_NUMBER" --far-number "$FAR_NUMBER" \
      --destinations "$DESTINATIONS" --messages "$MESSAGES" --warmup "$WARMUP" --runs "$RUNS" --rate "$RATE" \
      --peer-cpu "$PEER_CPU" --server-cpu "$SERVER_CPU" --json "$JSON_DIR/$provider-$direction.json" "$@" ||
      { log "$provider $direction: lost, duplicated or refused messages, or no result (exit $?)"; FAILED=1; }
  done
}

parley_errors() {
  if grep -qiE '\] \[(error|critical)\]|assert' "$1"; then
    { echo "parleyd ($2) logged errors:"; grep -iE '\] \[(error|critical)\]|assert' "$1" | head -10; } >>"$JSON_DIR/parleyd-errors.txt"
  fi
}

KANNEL_VERSION="" NODE_VERSION="" SMPP_VERSION=""

# ---- Kannel ----------------------------------------------------------------------------------
if wants kannel; then
  KANNEL_VERSION=$(bearerbox --version 2>&1 | sed -n "s/.*bearerbox version \`\([^']*\)'.*/\1/p" | head -1)
  K=$WORK/kannel
  mkdir -p "$K"
  C2S_PORT=$(pick_port) HTTP_PORT=$(pick_port)
  ADMIN_PORT=$(pick_port) SMSBOX_PORT=$(pick_port) SMSC_PORT=$(pick_port) SENDSMS_PORT=$(pick_port)
  KANNEL_PASSWORD=bench$RANDOM$RANDOM
  SECRET=bench-inbound-$RANDOM$RANDOM
  # No access log, and smsbox logs errors only (at warning level it logs a line per inbound
  # message: "Tried to set Coding field, denied"); bearerbox logs at info, which is a line per
  # connection (sms_bench.py waits for fakesmsc's), not per message.
  cat >"$K/kannel.conf" <<EOF
group = core
admin-port = $ADMIN_PORT
admin-password = bench$RANDOM$RANDOM
smsbox-port = $SMSBOX_PORT
box-allow-ip = "127.0.0.1"
log-file = "$K/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = $SMSC_PORT
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $SENDSMS_PORT
log-file = "$K/smsbox.log"
log-level = 3

group = sendsms-user
username = parley
password = $KANNEL_PASSWORD
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
get-url = "http://127.0.0.1:$HTTP_PORT/sms/kannel/$DOMAIN/inbound?secret=$SECRET&from=%p&to=%P&text=%b&charset=%C&id=%I"
max-messages = 0
EOF
  taskset -c "$PEER_CPU" bearerbox "$K/kannel.conf" >>"$K/bearerbox.out" 2>&1 &
  BEARERBOX_PID=$!
  PIDS+=("$BEARERBOX_PID")
  wait_port "$SMSBOX_PORT" "$BEARERBOX_PID" 10 || { log "bearerbox did not start"; tail "$K"/bearerbox.*; exit 2; }
  taskset -c "$PEER_CPU" smsbox "$K/kannel.conf" >>"$K/smsbox.out" 2>&1 &
  SMSBOX_PID=$!
  PIDS+=("$SMSBOX_PID")
  wait_port "$SENDSMS_PORT" "$SMSBOX_PID" 10 || { log "smsbox did not start"; tail "$K"/smsbox.*; exit 2; }
  start_parley "$WORK/parley-kannel" "
[[gateway]]
domain = \"$DOMAIN\"
kind = \"sms\"
provider = \"kannel\"
default_country = \"US\"
public_url = \"http://127.0.0.1:$HTTP_PORT\"
allow_private_addresses = true
[gateway.kannel]
sendsms_url = \"http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms\"
username = \"parley\"
password = \"$KANNEL_PASSWORD\"
inbound_secret = \"$SECRET\"
"
  bench kannel --fakesmsc "$FAKESMSC" --smsc-port "$SMSC_PORT" --bearerbox-log "$K/bearerbox.log" \
    --bearerbox-pid "$BEARERBOX_PID" --smsbox-pid "$SMSBOX_PID"
  parley_errors "$WORK/parley-kannel/parleyd.log" kannel
  stop_all
fi

# ---- SMPP ------------------------------------------------------------------------------------
if wants smpp; then
  NODE_VERSION=$(node --version)
  SMPP_VERSION=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$SMPP_PEER_DIR/node_modules/smpp/package.json")
  S=$WORK/smpp
  mkdir -p "$S"
  C2S_PORT=$(pick_port) HTTP_PORT=$(pick_port) SMSC_PORT=$(pick_port)
  SMPP_PASSWORD=b$RANDOM # at most 8 characters in SMPP 3.4
  mkfifo "$S/smsc.in"
  exec {SMSC_IN}<>"$S/smsc.in" # held open, so the SMSC never sees the end of its input
  taskset -c "$PEER_CPU" env NODE_PATH="$SMPP_PEER_DIR/node_modules" node "$ROOT/bench/smpp_smsc.js" \
    --system-id parley --password "$SMPP_PASSWORD" --port "$SMSC_PORT" --window "$DELIVER_WINDOW" \
    <&"$SMSC_IN" >"$S/smsc.out" 2>"$S/smsc.err" &
  SMSC_PID=$!
  PIDS+=("$SMSC_PID")
  wait_port "$SMSC_PORT" "$SMSC_PID" 10 || { log "the SMSC did not start"; cat "$S/smsc.err" >&2; exit 2; }
  start_parley "$WORK/parley-smpp" "
[[gateway]]
domain = \"$DOMAIN\"
kind = \"sms\"
provider = \"smpp\"
default_country = \"US\"
[gateway.smpp]
host = \"127.0.0.1\"
port = $SMSC_PORT
system_id = \"parley\"
password = \"$SMPP_PASSWORD\"
window = $SMPP_WINDOW
"
  bench smpp --smsc-in "$S/smsc.in" --smsc-out "$S/smsc.out" --smsc-pid "$SMSC_PID"
  parley_errors "$WORK/parley-smpp/parleyd.log" smpp
  stop_all
  exec {SMSC_IN}>&-
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------------------
RATE_TEXT="all at once (each user writes its share in one go)"
[[ "$RATE" != 0 ]] && RATE_TEXT="at $RATE msg/s offered"
{
  echo "# SMS gateway throughput, $(date '+%Y-%m-%d %H:%M')"
  echo
  echo "- parleyd commit $(commit_text), ${BUILD_TYPE:-unknown} build, io_threads=$IO_THREADS, SQLite in a temporary data directory, pinned to CPU $SERVER_CPU"
  [[ -n "$KANNEL_VERSION" ]] && echo "- Kannel $KANNEL_VERSION (Debian kannel, kannel-extras): bearerbox + smsbox, fakesmsc as the SMSC; smsbox log level error, no access log"
  [[ -n "$SMPP_VERSION" ]] && echo "- SMPP: bench/smpp_smsc.js on the npm package smpp $SMPP_VERSION, Node.js $NODE_VERSION; parleyd's window $SMPP_WINDOW, the SMSC's deliver_sm window $DELIVER_WINDOW"
  echo "- the peers and the measuring tool (bench/sms_bench.py, one Python thread plus a reader) pinned to CPU $PEER_CPU"
  echo "- machine: $(machine_text); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- per direction: $WARMUP warm-up messages, then $RUNS runs of $MESSAGES messages; median of the runs, spread min–max"
  echo "- outbound: $SENDERS users (each with its own number) send chat messages to $DESTINATIONS numbers round-robin, $RATE_TEXT; counted where the SMSC gets them (fakesmsc's output, the SMSC's submit_sm)"
  [[ -n "$KANNEL_VERSION" ]] && echo "- Kannel outbound: bearerbox hands fakesmsc the queued messages in bursts, about once a second, so the time until the last arrival is rounded up to the next burst (up to about 1 s per run); parleyd sends to smsbox over at most 8 keep-alive connections (its HTTP client's limit per host)"
  echo "- inbound: the SMSC injects the messages to the first user's number as fast as they are taken (fakesmsc -i 0; deliver_sm with the window above); counted at that user's XMPP connection"
  echo
  echo "msg/s: messages that arrived / time from the first send to the last arrival. parleyd CPU-µs/msg: utime+stime of parleyd (/proc/PID/stat) from the first send until it has gone quiet after the last arrival (Kannel's delivery reports, which follow each outbound message, included) / messages. parleyd, tool and peer CPU %: their CPU time from the first send to the last arrival / that time (100 % is one core); a peer near 100 % was the bottleneck. Core busy %: how busy parleyd's core and the peers' core were over the same time, whoever used them (/proc/stat); near 100 % while the processes measured use less means other work on the machine took the rest, and the rates are lower than this setup reaches alone."
  echo
} >"$MD"
python3 "$ROOT/bench/sms_bench.py" report --json-dir "$JSON_DIR" --markdown "$MD" >/dev/null
if [[ -f "$JSON_DIR/parleyd-errors.txt" ]]; then
  { echo; echo '```'; cat "$JSON_DIR/parleyd-errors.txt"; echo '```'; } >>"$MD"
fi
log "report: $MD"
cat "$MD"
exit $FAILED

#!/usr/bin/env bash
# CI smoke of the benchmark tools, with no timing assertions: starts a private parleyd with a
# handful of users and runs each parley-loadgen scenario (plaintext and STARTTLS; offline
# store and drain included) and parley-hookbench inbound at tiny sizes. Passes when every
# tool exits 0, i.e. every login succeeded and every message arrived exactly once. Takes a
# few seconds.
#
# Binaries from PARLEYD, PARLEYCTL, LOADGEN, HOOKBENCH, ARCHIVEBENCH, or else from PARLEY_BUILD=DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=bench_smoke
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BIN=${PARLEY_BUILD:-$ROOT/build}
PARLEYD=${PARLEYD:-$BIN/parleyd}
PARLEYCTL=${PARLEYCTL:-$BIN/parleyctl}
LOADGEN=${LOADGEN:-$BIN/parley-loadgen}
HOOKBENCH=${HOOKBENCH:-$BIN/parley-hookbench}
ARCHIVEBENCH=${ARCHIVEBENCH:-$BIN/parley-archivebench}
for bin in "$PARLEYD" "$PARLEYCTL" "$LOADGEN" "$HOOKBENCH" "$ARCHIVEBENCH"; do
  [[ -x "$bin" ]] || { log "missing $bin"; exit 2; }
done
# No pinning: parleyd may run on every online CPU (CI machines may have a single core).
SERVER_CPU=$(cat /sys/devices/system/cpu/online)

WORK=$(mktemp -d /tmp/parley-bench-smoke.XXXXXX)
PARLEY_PID=""
cleanup() {
  parley_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

C2S=$(pick_port)
HTTP=$(pick_port)
parley_config "$WORK/parley.toml" "$WORK/data" "$C2S" "$HTTP" optional "
[[gateway]]
domain = \"hooks.localhost\"
kind = \"webhook\"
allow_private_addresses = true
[[gateway.hook]]
name = \"smoke\"
url = \"http://127.0.0.1:$(pick_port)/sink\"
inbound_secret = \"smoke-secret\"
recipient = \"alice@localhost\""
USER_JOBS=2 parley_users "$WORK/parley.toml" smoke 6 smoke-pw
"$PARLEYCTL" --config "$WORK/parley.toml" user add alice --password smoke-pw >/dev/null
parley_start "$WORK/parley.toml" "$WORK/parleyd.log" "$C2S"

run() {
  log "$*"
  "$@" --quiet || { log "failed (exit $?): $*"; tail -20 "$WORK/parleyd.log" >&2; exit 1; }
}
common=(--port "$C2S" --user-prefix smoke --password smoke-pw --server-pid "$PARLEY_PID" --json "$WORK/out.json")
run "$LOADGEN" "${common[@]}" --scenario login --users 6 --rounds 1
run "$LOADGEN" "${common[@]}" --scenario login --users 6 --rounds 1 --tls --mech SCRAM-SHA-1
run "$LOADGEN" "${common[@]}" --scenario login --users 6 --rounds 1 --tls --mech PLAIN
run "$LOADGEN" "${common[@]}" --scenario messages --users 6 --rates 100,200 --duration 0.5 --warmup 0.2 --drain 5
run "$LOADGEN" "${common[@]}" --scenario messages --users 6 --rates 100 --duration 0.5 --warmup 0.2 --drain 5 --tls \
  --pairing random
run "$LOADGEN" "${common[@]}" --scenario idle --users 6 --hold 0.2 --settle 0.1 --tls
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert j["idle"]["connections"] == 6, j["idle"]' \
  "$WORK/out.json"
# Offline: 3 senders store 20 messages each for 3 offline users, who then log in and must get
# all 60 exactly once (the load generator exits 1 otherwise; the check below makes sure that
# something was sent and counted at all).
run "$LOADGEN" "${common[@]}" --scenario offline --senders 3 --recipients 3 --messages 20 --drain 3 --phase-timeout 20
python3 -c 'import json, sys; o = json.load(open(sys.argv[1]))["offline"]
assert o["sent"] == 60 and o["stored"] == 60 and o["received"] == 60, o
assert o["lost"] == 0 and o["duplicates"] == 0 and o["refused"] == 0 and o["stale"] == 0, o' "$WORK/out.json"
run "$LOADGEN" "${common[@]}" --scenario offline --senders 3 --recipients 3 --messages 10 --drain 3 --tls --phase-timeout 20
run "$HOOKBENCH" inbound --port "$C2S" --password smoke-pw --http-port "$HTTP" --path /hooks/smoke \
  --authorization "Bearer smoke-secret" --connections 2 --messages 50 --warmup 5 --server-pid "$PARLEY_PID" \
  --json "$WORK/hook.json"
log "$ARCHIVEBENCH --backend sqlite --sizes 500,1000 --contacts 5 --queries 5"
"$ARCHIVEBENCH" --backend sqlite --sizes 500,1000 --contacts 5 --queries 5 --json > "$WORK/archive.json" ||
  { log "parley-archivebench failed"; exit 1; }
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert [s["size"] for s in j["steps"]] == [500, 1000], j' \
  "$WORK/archive.json"
log "ok"

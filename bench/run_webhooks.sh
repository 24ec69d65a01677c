#!/usr/bin/env bash
# Benchmarks the webhook gateway with parley-hookbench: inbound (POST /hooks/NAME until the
# message reaches the XMPP user) and outbound (a message to NAME@hooks.localhost until the
# POST reaches the sink run by the tool), in messages/s with latency. With ejabberd installed
# (Debian package `ejabberd`), also ejabberd's mod_http_api send_message as the inbound
# counterpart. See bench/README.md, "Webhook benchmark".
#
# Builds (Release, in build-bench/) if needed, starts a private parleyd (SQLite in a temporary
# data directory, free ports) pinned to SERVER_CPU, runs the tool pinned to TOOL_CPU RUNS
# times per direction, and writes bench/results/webhooks-<date>.md (JSON of each run beside
# it). About 2 minutes with the defaults. Sizes from the environment:
#
#   MESSAGES=20000 WARMUP=2000 RUNS=3   measured and warm-up messages per run, runs per test
#   CONNECTIONS=32                      inbound: keep-alive HTTP connections (closed loop)
#   WINDOW=100                          outbound: messages sent but not yet POSTed, at most
#   RATE=0                              offered msg/s of the main runs; 0: closed loop
#   FIXED_RATE=1000 FIXED_MESSAGES=5000 FIXED_WARMUP=500
#                                       second series of each test at this offered rate, for
#                                       CPU time per message at equal load ("" skips it)
#   HOOK_CONCURRENCY=4                  parleyd's concurrency_per_destination (its default)
#   IO_THREADS=1                        parleyd [server] io_threads
#   SERVER_CPU=1 TOOL_CPU=0             cores for taskset
#   EJABBERD=auto                       1: require the ejabberd comparison, 0: skip it
#   PARLEY_BUILD=DIR                    use the binaries in DIR as they are, no build
#   BUILD_DIR=build-bench RESULTS_DIR=bench/results KEEP=1 (keep the temporary directory)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=run_webhooks
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
MESSAGES=${MESSAGES:-20000}
WARMUP=${WARMUP:-2000}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-32}
WINDOW=${WINDOW:-100}
RATE=${RATE:-0}
FIXED_RATE=${FIXED_RATE-1000}
FIXED_MESSAGES=${FIXED_MESSAGES:-5000}
FIXED_WARMUP=${FIXED_WARMUP:-500}
HOOK_CONCURRENCY=${HOOK_CONCURRENCY:-4}
IO_THREADS=${IO_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-1}
TOOL_CPU=${TOOL_CPU:-0}
EJABBERD=${EJABBERD:-auto}
PASSWORD=bench-alice
TOKEN=bench-inbound-secret

# ---- build -----------------------------------------------------------------------------------
bench_build parleyd parleyctl parley-hookbench
PARLEYD=$BUILD_DIR/parleyd
PARLEYCTL=$BUILD_DIR/parleyctl
HOOKBENCH=$BUILD_DIR/parley-hookbench

if [[ "$EJABBERD" == auto ]]; then
  if command -v ejabberdctl >/dev/null && id ejabberd >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then EJABBERD=1; else EJABBERD=0; fi
fi

# ---- private servers -------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/parley-hookbench.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
EJ_DIR=$WORK/ejabberd
EJ_STARTED=0
stop_servers() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  ej_stop
}
cleanup() {
  stop_servers
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

C2S_PORT=$(pick_port)
HTTP_PORT=$(pick_port)
SINK_PORT=$(pick_port)

cat >"$WORK/parley.toml" <<EOF
[server]
hosts = ["localhost"]
data_dir = "$WORK/data"
io_threads = $IO_THREADS

[log]
level = "warn"

[c2s]
port = $C2S_PORT
tls = "disabled"

[http]
port = $HTTP_PORT

[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
allow_private_addresses = true
concurrency_per_destination = $HOOK_CONCURRENCY
[[gateway.hook]]
name = "bench"
url = "http://127.0.0.1:$SINK_PORT/sink"
inbound_secret = "$TOKEN"
recipient = "alice@localhost"
EOF
"$PARLEYCTL" check-config "$WORK/parley.toml" >/dev/null
"$PARLEYCTL" --config "$WORK/parley.toml" user add alice --password "$PASSWORD" >/dev/null

ulimit -n "$(ulimit -Hn)"
taskset -c "$SERVER_CPU" "$PARLEYD" --config "$WORK/parley.toml" >>"$WORK/parleyd.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$C2S_PORT") 2>/dev/null; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { log "parleyd exited:"; tail -20 "$WORK/parleyd.log" >&2; exit 2; }
  sleep 0.05
done

# ---- runs ------------------------------------------------------------------------------------
STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
JSON_DIR=$RESULTS/webhooks-$STAMP
MD=$RESULTS/webhooks-$STAMP.md
mkdir -p "$JSON_DIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0

# Share of the wall time in which some runnable task waited for a CPU (Linux PSI) over one
# test's runs: other load on the machine (the tool's own included) shows here.
psi_total() { awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo 0; }
# Busy and idle ticks of the server's core (/proc/stat): how busy it was, whoever used it.
core_ticks() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

# series NAME DESCRIPTION FLAGS...: RUNS runs of the tool, closed loop (NAME-1..) and, with
# FIXED_RATE, at that offered rate (NAME-rate-1..); JSON per run, CPU pressure per series.
series() {
  local name=$1 what=$2; shift 2
  local variants=("closed") t0 p0 c0 variant run tag sizes
  [[ -n "$FIXED_RATE" ]] && variants+=("rate")
  for variant in "${variants[@]}"; do
    if [[ "$variant" == closed ]]; then
      tag=$name sizes=(--messages "$MESSAGES" --warmup "$WARMUP" --rate "$RATE")
    else
      tag=$name-rate sizes=(--messages "$FIXED_MESSAGES" --warmup "$FIXED_WARMUP" --rate "$FIXED_RATE")
    fi
    t0=$(date +%s%N) p0=$(psi_total) c0=$(core_ticks)
    for run in $(seq 1 "$RUNS"); do
      log "$what, ${sizes[*]}, run $run/$RUNS"
      taskset -c "$TOOL_CPU" "$HOOKBENCH" "$@" "${sizes[@]}" --quiet --json "$JSON_DIR/$tag-$run.json" ||
        { log "$tag-$run reported failures (exit $?)"; FAILED=1; }
    done
    awk -v n="$tag" -v p="$(( $(psi_total) - p0 ))" -v t="$(( ($(date +%s%N) - t0) / 1000 ))" \
      -v c0="$c0" -v c1="$(core_ticks)" \
      'BEGIN { split(c0, a); split(c1, b); total = (b[1] - a[1]) + (b[2] - a[2]);
               if (t > 0 && p >= 0) printf "%s %.0f %.0f\n", n, 100 * p / t, (total > 0 ? 100 * (b[1] - a[1]) / total : -1) }' \
      >>"$WORK/pressure.txt"
  done
}

series parley-inbound "parleyd inbound, $CONNECTIONS connections" inbound --port "$C2S_PORT" \
  --password "$PASSWORD" --http-port "$HTTP_PORT" --path /hooks/bench --authorization "Bearer $TOKEN" \
  --connections "$CONNECTIONS" --server-pid "$SERVER_PID" --label parleyd
series parley-outbound "parleyd outbound, window $WINDOW" outbound --port "$C2S_PORT" --password "$PASSWORD" \
  --to bench@hooks.localhost --sink-port "$SINK_PORT" --sink-path /sink --window "$WINDOW" \
  --server-pid "$SERVER_PID" --label parleyd
if grep -qiE 'error|critical|assert' "$WORK/parleyd.log"; then
  { echo "parleyd logged errors:"; grep -iE 'error|critical|assert' "$WORK/parleyd.log" | head -20; } >"$JSON_DIR/parleyd-errors.txt"
fi
stop_servers

EJ_VERSION=""
if [[ "$EJABBERD" == 1 ]]; then
  # A private ejabberd (see bench/lib.sh): plaintext c2s, no shaper, mod_http_api on
  # loopback allowed send_message without authentication (as parleyd's bearer check is cheap).
  EJ_C2S=$(pick_port)
  EJ_HTTP=$(pick_port)
  ej_setup "$EJ_C2S" "$EJ_HTTP"
  if ! ej_start "$EJ_HTTP"; then
    FAILED=1
  else
    ejctl register alice localhost "$PASSWORD" >/dev/null
    series ejabberd-inbound "ejabberd send_message, $CONNECTIONS connections" inbound --port "$EJ_C2S" \
      --password "$PASSWORD" --http-port "$EJ_HTTP" --path /api/send_message --api ejabberd \
      --from bench@localhost --connections "$CONNECTIONS" --server-pid "$EJ_PID" --label ejabberd
  fi
  stop_servers
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------------------
COMMIT=$(commit_text)
RATE_TEXT="closed loop"
[[ "$RATE" != 0 ]] && RATE_TEXT="$RATE msg/s offered (latency from the scheduled send time)"
{
  echo "# Webhook gateway benchmark, $(date '+%Y-%m-%d %H:%M')"
  echo
  echo "- commit $COMMIT, ${BUILD_TYPE:-unknown} build; parleyd io_threads=$IO_THREADS, SQLite in a temporary data directory, pinned to CPU $SERVER_CPU; parley-hookbench pinned to CPU $TOOL_CPU"
  echo "- machine: $(machine_text); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- per run: $WARMUP warm-up messages, then $MESSAGES measured, $RATE_TEXT; $RUNS runs per test against one server; median of the runs, spread min–max"
  [[ -n "$FIXED_RATE" ]] && echo "- then each test again at $FIXED_RATE msg/s offered ($FIXED_WARMUP warm-up, $FIXED_MESSAGES measured, latency from the scheduled send time): server CPU time per message at equal load"
  echo "- inbound: $CONNECTIONS keep-alive HTTP/1.1 connections, one POST in flight each, bearer token, body \`{\"body\":\"hb <seq> <ns>\"}\`; alice logged in over plaintext c2s (SCRAM) with initial presence"
  echo "- outbound: alice sends chat messages to bench@hooks.localhost, at most $WINDOW not yet POSTed; the sink in the tool answers 200 with an empty body; parleyd concurrency_per_destination = $HOOK_CONCURRENCY"
  if [[ "$EJABBERD" == 1 ]]; then
    echo "- ejabberd ${EJ_VERSION:-?} (Debian), same pinning, plaintext c2s, mod_http_api POST /api/send_message (type chat, from bench@localhost) allowed from loopback without authentication, Mnesia"
  else
    echo "- ejabberd comparison skipped (EJABBERD=0, or ejabberdctl not installed, or not root)"
  fi
  echo
} >"$MD"
LOAD_LABEL="closed loop" FIXED_RATE="$FIXED_RATE" RATE="$RATE" \
  python3 - "$JSON_DIR" "$MD" "$RUNS" "$WORK/pressure.txt" <<'EOF'
import json, os, statistics, sys

json_dir, md, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
pressure = {}
try:
    for line in open(sys.argv[4]):
        name, psi, core = line.split()
        pressure[name] = (psi + " %", "?" if core == "-1" else core + " %")
except OSError:
    pass

def load(name):
    try:
        with open(os.path.join(json_dir, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def measured(r):
    if r is None:
        return None
    return next((p for p in r["phases"] if p["measured"]), None)

def stat(phases, get):
    values = [get(p) for p in phases if get(p) is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)

def fmt(s, digits=0, unit=""):
    if s is None:
        return "–"
    med, lo, hi = s
    f = f"{{:,.{digits}f}}"
    return f"{f.format(med)}{unit} ({f.format(lo)}–{f.format(hi)})"

main_load = "closed loop" if float(os.environ["RATE"]) == 0 else f"{float(os.environ['RATE']):,.0f} msg/s"
fixed = os.environ.get("FIXED_RATE", "")
tests = []
for title, server, prefix, inbound in [
        ("inbound: POST → message delivered", "parleyd `POST /hooks/bench`", "parley-inbound", True),
        ("inbound: POST → message delivered", "ejabberd `POST /api/send_message`", "ejabberd-inbound", True),
        ("outbound: message → POST at the sink", "parleyd `bench@hooks.localhost`", "parley-outbound", False)]:
    tests.append((title, server, main_load, prefix, inbound))
    if fixed:
        tests.append((title, server, f"{float(fixed):,.0f} msg/s", prefix + "-rate", inbound))
rows = ["| test | server | load | delivered msg/s | accepted/s | latency p50 ms | latency p99 ms | server CPU-µs/msg | server CPU % | server core busy | CPU pressure | lost / dup / refused |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
details = []
for title, server, load_label, prefix, inbound in tests:
    results = [load(f"{prefix}-{i}") for i in range(1, runs + 1)]
    if all(r is None for r in results):
        continue
    phases = [p for p in (measured(r) for r in results) if p is not None]
    lost = sum(p["missing"] for p in phases)
    dup = sum(p["duplicates"] for p in phases)
    refused = sum(sum(p["refused"].values()) for p in phases) + sum(p["unexpected"] + p["malformed"] for p in phases)
    failed = [i + 1 for i, r in enumerate(results) if r is None or r.get("fatal")]
    checks = f"{lost} / {dup} / {refused}" + (f"; runs {failed} FAILED" if failed else "")
    accepted = fmt(stat(phases, lambda p: p["accepted_per_s"])) if inbound else "–"
    rows.append(f"| {title} | {server} | {load_label} | {fmt(stat(phases, lambda p: p['delivered_per_s']))} | {accepted} | "
                f"{fmt(stat(phases, lambda p: p['delivery_latency']['p50_ms']), 2)} | "
                f"{fmt(stat(phases, lambda p: p['delivery_latency']['p99_ms']), 2)} | "
                f"{fmt(stat(phases, lambda p: p['server_cpu_us_per_msg']))} | "
                f"{fmt(stat(phases, lambda p: p['server_cpu_pct']))} | {' | '.join(pressure.get(prefix, ('?', '?'))[::-1])} | {checks} |")
    details.append(f"\n{server}, {load_label}, each run (measured phase):\n\n"
                   "| run | sent | delivered | s | delivered/s | accepted/s | POST answer p50 ms | p50 ms | p90 ms | p99 ms | max ms | server CPU-µs/msg | tool CPU % | steal % |\n"
                   "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for i, r in enumerate(results, 1):
        p = measured(r)
        if p is None:
            details.append(f"| {i} | – | – | – | – | – | – | – | – | – | – | – | – | – |\n")
            continue
        cpu = p["server_cpu_us_per_msg"]
        acc = f"{p['accepted_per_s']:,.0f} | {p['accept_latency']['p50_ms']:.2f}" if inbound else "– | –"
        details.append(
            f"| {i} | {p['offered']:,} | {p['delivered']:,} | {p['seconds']:.2f} | {p['delivered_per_s']:,.0f} | "
            f"{acc} | {p['delivery_latency']['p50_ms']:.2f} | "
            f"{p['delivery_latency']['p90_ms']:.2f} | {p['delivery_latency']['p99_ms']:.2f} | "
            f"{p['delivery_latency']['max_ms']:.1f} | {'–' if cpu is None else f'{cpu:,.0f}'} | "
            f"{p['client_cpu_pct']:.0f} | {p['steal_pct']:.1f} |\n")
text = open(md).read() + "\n".join(rows) + "\n" + """
- **delivered msg/s**: distinct messages that arrived (at alice for inbound, at the sink for
  outbound) / time from the first send to the last arrival. **accepted/s**: POSTs answered
  202 (parleyd) or 200 (ejabberd) / time from the first POST to the last answer.
- **latency**: inbound, POST written → message read by alice's XMPP client; outbound, message
  queued on alice's connection → POST read by the sink. Same process, same clock. At an
  offered rate, from the scheduled send time. In a closed loop the latency is mostly queueing
  (Little's law: in flight / throughput), so compare closed-loop rows on throughput and
  fixed-rate rows on latency and CPU.
- **server CPU-µs/msg**: utime+stime of the server process over the phase / messages
  delivered; the steadiest figure on this shared machine. It falls as the load rises (wake-ups
  and system calls are shared by more messages), so compare servers at the same load.
- **server CPU %**: the same CPU time / wall time (100 % is one core). **server core busy**:
  how busy the server's core was over the test, whoever used it, steal included (/proc/stat): when it is
  near 100 % and the server's own share is not, other work on the machine took the rest
  and the throughput figures are lower than the server can do alone.
- **CPU pressure**: Linux PSI "some" over the test's runs: the share of the time in which a
  runnable task (the tool's and the server's own included) waited for a CPU. Other work on
  the machine shows here; compare only tests with similar pressure.
- **lost / dup / refused**: accepted messages that never arrived, duplicates, and non-2xx
  answers, transport errors or unreadable arrivals, summed over the runs.
- parleyd answers 202 only after the message reached alice's session (or offline storage);
  ejabberd's send_message answers 200 once it has routed the message, without waiting.
  Outbound, parleyd commits every message to its durable outbox (SQLite) before the
  delivery worker claims it (claims are batched) and POSTs it, and marks it done after the 2xx.
""" + "".join(details)
open(md, "w").write(text)
EOF
if [[ -f "$JSON_DIR/parleyd-errors.txt" ]]; then
  { echo; echo '```'; cat "$JSON_DIR/parleyd-errors.txt"; echo '```'; } >>"$MD"
fi
log "report: $MD"
cat "$MD"
exit $FAILED

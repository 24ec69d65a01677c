#!/usr/bin/env bash
# Offline-message storage throughput of SQLite and PostgreSQL, side by side, with
# parley-storebench. See bench/README.md, "Storage benchmark".
#
# Builds parley-storebench (Release, in build-bench/) if needed, starts a private PostgreSQL
# with tests/pg/pgcluster.sh in a temporary directory, runs the same workload on an SQLite file
# in that directory (same disk) and on PostgreSQL, and writes a markdown report to
# bench/results/storage-<date>.md (the JSON of each backend beside it). About 2 minutes with
# the defaults. Sizes from the environment:
#
#   USERS=100 MESSAGES=20000 THREADS=4 RUNS=3   parley-storebench --users/--messages/...
#   PARLEY_BUILD=DIR       use DIR/parley-storebench as it is, no build
#   BUILD_DIR=build-bench  where to build otherwise
#   RESULTS_DIR=bench/results KEEP=1 (keep the temporary directory and the cluster's files)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
USERS=${USERS:-100}
MESSAGES=${MESSAGES:-20000}
THREADS=${THREADS:-4}
RUNS=${RUNS:-3}

log() { printf '[run_storage] %s\n' "$*" >&2; }

# ---- build -----------------------------------------------------------------------------------
if [[ -n "${PARLEY_BUILD:-}" ]]; then
  BUILD_DIR=$PARLEY_BUILD
else
  BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
  case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    log "configuring $BUILD_DIR (Release)"
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_TESTS=OFF >/dev/null
  fi
  log "building parley-storebench (incremental)"
  cmake --build "$BUILD_DIR" -j2 --target parley-storebench >/dev/null
fi
BENCH=$BUILD_DIR/parley-storebench
[[ -x "$BENCH" ]] || { log "missing $BENCH"; exit 2; }
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)

# ---- private PostgreSQL ----------------------------------------------------------------------
WORK=$(mktemp -d /tmp/parley-storebench.XXXXXX)
PG_DIR=$WORK/pg
cleanup() {
  if [[ "${KEEP:-0}" == 1 ]]; then
    bash "$ROOT/tests/pg/pgcluster.sh" stop "$PG_DIR" || true
    log "kept $WORK (remove the cluster with: tests/pg/pgcluster.sh destroy $PG_DIR)"
  else
    bash "$ROOT/tests/pg/pgcluster.sh" destroy "$PG_DIR" || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
log "starting PostgreSQL in $PG_DIR"
DSN=$(bash "$ROOT/tests/pg/pgcluster.sh" start "$PG_DIR")
mkdir -p "$WORK/sqlite"

# ---- runs ------------------------------------------------------------------------------------
STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
JSON_DIR=$RESULTS/storage-$STAMP
MD=$RESULTS/storage-$STAMP.md
mkdir -p "$JSON_DIR"
PARAMS=(--users "$USERS" --messages "$MESSAGES" --threads "$THREADS" --runs "$RUNS" --json)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Share of the wall time in which some runnable task waited for a CPU (Linux PSI), over
# one backend's runs: other load on the machine shows here.
psi_total() { awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo 0; }
cpu_pressure() { # $1: command to run; prints "N %" on fd 3
  local t0 p0 rc=0
  t0=$(date +%s%N) p0=$(psi_total)
  "$@" || rc=$?
  awk -v p="$(( $(psi_total) - p0 ))" -v t="$(( ($(date +%s%N) - t0) / 1000 ))" \
    'BEGIN { if (t > 0 && p >= 0) printf "%.0f %%", 100 * p / t; else printf "?" }' >&3
  return $rc
}

FAILED=0
# Neither is pinned: SQLite works inside the benchmark's threads, PostgreSQL in its own
# backend processes, so pinning the benchmark would leave PostgreSQL cores SQLite does not get.
log "SQLite: $USERS users, $MESSAGES messages, $THREADS threads, $RUNS runs"
PSI_SQLITE=$(cpu_pressure "$BENCH" --backend sqlite --sqlite "$WORK/sqlite/offline.db" "${PARAMS[@]}" \
  3>&1 >"$JSON_DIR/sqlite.json") ||
  { log "SQLite run failed (exit $?)"; FAILED=1; }
log "PostgreSQL: same parameters"
PSI_PG=$(cpu_pressure "$BENCH" --backend postgres --dsn "$DSN" "${PARAMS[@]}" 3>&1 >"$JSON_DIR/postgres.json") ||
  { log "PostgreSQL run failed (exit $?)"; FAILED=1; }
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------------------
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then COMMIT="$COMMIT (with uncommitted changes)"; fi
SQLITE_VERSION=$(pkg-config --modversion sqlite3 2>/dev/null || echo unknown)
FS=$(df -T "$WORK" | awk 'NR == 2 { print $2 " (" $1 ")" }')
{
  echo "# Offline-message storage benchmark, $(date '+%Y-%m-%d %H:%M')"
  echo
  echo "- commit $COMMIT, ${BUILD_TYPE:-unknown} build of parley-storebench"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); load average before $LOAD_BEFORE, after $LOAD_AFTER; CPU pressure (PSI "some": share of the time in which a runnable task, the benchmark's own included, waited for a CPU) during the SQLite runs ${PSI_SQLITE:-?}, during the PostgreSQL runs ${PSI_PG:-?}"
  echo "- SQLite $SQLITE_VERSION (WAL, synchronous=NORMAL) and PostgreSQL VERSION_PG (defaults: fsync=on, synchronous_commit=on, private cluster from tests/pg/pgcluster.sh, TCP over loopback), data of both in one temporary directory on $FS"
  echo "- $USERS users, $MESSAGES messages of STANZA_BYTES bytes per run, $THREADS threads, $RUNS runs each on an empty database; median of the runs, spread min–max"
  echo "- neither side pinned: both share the whole machine, SQLite inside the benchmark's threads, PostgreSQL in its backend processes"
  echo
} >"$MD"
python3 - "$JSON_DIR/sqlite.json" "$JSON_DIR/postgres.json" "$MD" <<'EOF'
import json, sys

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

lite, pg, md = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
text = open(md).read()
text = text.replace("VERSION_PG", (pg or {}).get("server_version", "unknown").split(" ")[0])
text = text.replace("STANZA_BYTES", str((lite or pg or {}).get("stanza_bytes", "?")))

def rate(s): return f"{s['median']:,.0f}"
def spread(s): return f"{s['min']:,.0f}–{s['max']:,.0f}"
def fmt_ms(v): return f"{v:.3f}" if v < 1 else f"{v:.2f}"
def ms(s): return fmt_ms(s["median"])

rows = ["| backend | store msg/s | store spread | push p50 ms | push p99 ms | drain msg/s | drain spread | checks |",
        "|---|---:|---:|---:|---:|---:|---:|---|"]
for name, r in (("SQLite", lite), ("PostgreSQL", pg)):
    if r is None:
        rows.append(f"| {name} | – | – | – | – | – | – | no result |")
        continue
    checks = "ok" if r["ok"] else "FAILED: " + r["failure"]
    rows.append(f"| {name} | {rate(r['store_msgs_per_s'])} | {spread(r['store_msgs_per_s'])} | "
                f"{ms(r['push_p50_ms'])} | {ms(r['push_p99_ms'])} | {rate(r['drain_msgs_per_s'])} | "
                f"{spread(r['drain_msgs_per_s'])} | {checks} |")
if lite and pg:
    def ratio(key):
        a, b = pg[key]["median"], lite[key]["median"]
        return f"{a / b:.2f}×" if b else "–"
    rows.append(f"| PostgreSQL / SQLite | {ratio('store_msgs_per_s')} | | {ratio('push_p50_ms')} | "
                f"{ratio('push_p99_ms')} | {ratio('drain_msgs_per_s')} | | |")
text += "\n".join(rows) + "\n"
text += """
- **store**: one `push` per message, each its own durable commit (what parleyd does before
  acknowledging a message), messages spread round-robin over the users by all threads at once.
  p50/p99 are per push, medians over the runs.
- **drain**: per user `list` then `remove(user, last id)`, one commit per user, the users
  shared among the threads: what logins cost.
"""
for name, r in (("SQLite", lite), ("PostgreSQL", pg)):
    if r is None:
        continue
    text += (f"\n{name}, each run (push latency; list and remove per user in the drain):\n\n"
             "| run | store msg/s | p50 ms | p99 ms | max ms | drain msg/s | list p50 ms | remove p50 ms | remove p99 ms |\n"
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for i, run in enumerate(r["each_run"], 1):
        text += (f"| {i} | {run['store_msgs_per_s']:,.0f} | {fmt_ms(run['push_p50_ms'])} | {fmt_ms(run['push_p99_ms'])} | "
                 f"{run['push_max_ms']:.1f} | {run['drain_msgs_per_s']:,.0f} | {fmt_ms(run['list_p50_ms'])} | "
                 f"{fmt_ms(run['remove_p50_ms'])} | {fmt_ms(run['remove_p99_ms'])} |\n")
open(md, "w").write(text)
EOF
log "report: $MD"
cat "$MD"
exit $FAILED

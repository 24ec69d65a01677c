#!/usr/bin/env bash
# Message archive queries (XEP-0313) on a growing archive, SQLite and PostgreSQL side by side,
# with parley-archivebench. See bench/README.md, "Archive benchmark".
#
# Builds parley-archivebench (Release, in build-bench/) if needed, starts a private PostgreSQL
# with tests/pg/pgcluster.sh in a temporary directory, grows one user's archive on each backend
# to each size in SIZES, times "latest 50 with X", "latest 50" and "50 after an id" at each
# size, and writes bench/results/archive-<date>.md (the JSON of each backend beside it).
#
#   SIZES=10000,100000,1000000 CONTACTS=200 QUERIES=200
#   PARLEY_BUILD=DIR  use DIR/parley-archivebench as it is, no build
#   BUILD_DIR=build-bench  RESULTS_DIR=bench/results
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-10000,100000,1000000}
CONTACTS=${CONTACTS:-200}
QUERIES=${QUERIES:-200}

log() { printf '[run_archive] %s\n' "$*" >&2; }

if [[ -n "${PARLEY_BUILD:-}" ]]; then
  BUILD_DIR=$PARLEY_BUILD
else
  BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
  case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    log "configuring $BUILD_DIR (Release)"
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_TESTS=OFF >/dev/null
  fi
  log "building parley-archivebench (incremental)"
  cmake --build "$BUILD_DIR" -j2 --target parley-archivebench >/dev/null
fi
BENCH=$BUILD_DIR/parley-archivebench
[[ -x "$BENCH" ]] || { log "missing $BENCH"; exit 2; }
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)

WORK=$(mktemp -d /tmp/parley-archivebench.XXXXXX)
PG_DIR=$WORK/pg
cleanup() {
  bash "$ROOT/tests/pg/pgcluster.sh" destroy "$PG_DIR" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log "starting PostgreSQL in $PG_DIR"
DSN=$(bash "$ROOT/tests/pg/pgcluster.sh" start "$PG_DIR")

STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
JSON_DIR=$RESULTS/archive-$STAMP
MD=$RESULTS/archive-$STAMP.md
mkdir -p "$JSON_DIR"
PARAMS=(--sizes "$SIZES" --contacts "$CONTACTS" --queries "$QUERIES" --json)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0
log "SQLite: sizes $SIZES, $CONTACTS contacts, $QUERIES queries of each kind per size"
TMPDIR=$WORK "$BENCH" --backend sqlite "${PARAMS[@]}" >"$JSON_DIR/sqlite.json" ||
  { log "SQLite run failed"; FAILED=1; }
log "PostgreSQL: same parameters"
"$BENCH" --backend postgres --dsn "$DSN" "${PARAMS[@]}" >"$JSON_DIR/postgres.json" ||
  { log "PostgreSQL run failed"; FAILED=1; }
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
PG_VERSION=$(psql "$DSN" -Atc 'SHOW server_version' 2>/dev/null | cut -d' ' -f1 || true)
[[ -n "$PG_VERSION" ]] || PG_VERSION=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then COMMIT="$COMMIT (with uncommitted changes)"; fi
{
  echo "# Message archive query benchmark, $(date '+%Y-%m-%d %H:%M')"
  echo
  echo "- commit $COMMIT, ${BUILD_TYPE:-unknown} build of parley-archivebench"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo unknown) (WAL) and PostgreSQL $PG_VERSION (private cluster, loopback), both in one temporary directory"
  echo "- one user's archive grown to each size, messages of ~400 bytes spread over $CONTACTS contacts, appended in batches of 256 (one transaction each); $QUERIES queries of each kind per size, one at a time"
  echo
} >"$MD"
python3 - "$JSON_DIR/sqlite.json" "$JSON_DIR/postgres.json" "$MD" <<'PY'
import json, sys

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

lite, pg, md = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
text = open(md).read()
def f(v): return f"{v:.3f}" if v < 1 else f"{v:.2f}"
for name, r in (("SQLite", lite), ("PostgreSQL", pg)):
    text += f"\n## {name}\n\n"
    if r is None or not r.get("steps"):
        text += "no result\n"
        continue
    text += ("| archive size | append msg/s | latest 50 with X p50 ms | p99 ms | latest 50 p50 ms | p99 ms | 50 after an id p50 ms | p99 ms |\n"
             "|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for s in r["steps"]:
        text += (f"| {s['size']:,} | {s['append_rate']:,.0f} | {f(s['with_p50_ms'])} | {f(s['with_p99_ms'])} | "
                 f"{f(s['latest_p50_ms'])} | {f(s['latest_p99_ms'])} | {f(s['after_p50_ms'])} | {f(s['after_p99_ms'])} |\n")
    first, last = r["steps"][0], r["steps"][-1]
    if first is not last:
        growth = last["size"] / first["size"]
        text += (f"\nFrom {first['size']:,} to {last['size']:,} messages ({growth:,.0f}× larger), the p50 of "
                 f"\"latest 50 with X\" went {last['with_p50_ms'] / first['with_p50_ms']:.2f}×, "
                 f"\"latest 50\" {last['latest_p50_ms'] / first['latest_p50_ms']:.2f}×, "
                 f"\"50 after an id\" {last['after_p50_ms'] / first['after_p50_ms']:.2f}×.\n")
open(md, "w").write(text)
PY
log "report: $MD"
cat "$MD"
exit $FAILED

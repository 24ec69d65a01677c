#!/usr/bin/env bash
# Benchmarks the email gateway inbound: mails per second delivered over LMTP to a user who is
# online over XMPP, LMTP latency, and parleyd's CPU time and memory per mail. See
# bench/README.md, "Email gateway throughput".
#
# Builds (Release, in build-bench/) if needed, starts a private parleyd (SQLite in a temporary
# data directory, free ports, plaintext c2s, one email gateway mail.localhost for the addresses
# USER@parley.test with an LMTP listener) pinned to SERVER_CPU, creates alice with parleyctl,
# and runs bench/email_bench.py pinned to PEER_CPU: alice logs in over a raw XMPP socket and
# counts the arriving messages; CONNECTIONS LMTP connections send the mails, one transaction
# at a time each. One warm-up run, then RUNS measured runs. Writes bench/results/email-<date>.md
# (JSON beside it). A few minutes with the defaults, after the build. The lmtp path needs no
# root; the postfix path does (Postfix's master runs as root).
#
#   MAILS=5000 WARMUP=500 RUNS=3      mails per measured run, per warm-up run; measured runs
#   CONNECTIONS=4                     LMTP connections, one transaction in flight each
#   SENDERS=16                        distinct From addresses (sender<i>@example.org), round-robin
#   PATHS="lmtp postfix"              lmtp: straight to parleyd's LMTP port; postfix: SMTP to a
#                                     private Postfix (tests/e2e/mailutil.py, needs root; skipped
#                                     otherwise) that delivers to parleyd over LMTP
#   IO_THREADS=1 SERVER_CPU=1 PEER_CPU=0
#                                     parleyd io_threads; cores for taskset
#   PARLEY_BUILD=DIR                  use the binaries in DIR as they are, no build
#   BUILD_DIR=build-bench SKIP_BUILD=1 RESULTS_DIR=bench/results KEEP=1 (keep the temp dir)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=run_email
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
MAILS=${MAILS:-5000}
WARMUP=${WARMUP:-500}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-4}
SENDERS=${SENDERS:-16}
PATHS=${PATHS:-lmtp postfix}
IO_THREADS=${IO_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-1}
PEER_CPU=${PEER_CPU:-0}
PASSWORD=bench-email
DOMAIN=mail.localhost
ADDRESS_DOMAIN=parley.test
PYTHON=/usr/bin/python3

# ---- build -----------------------------------------------------------------------------------
bench_build parleyd parleyctl
PARLEYD=$BUILD_DIR/parleyd
PARLEYCTL=$BUILD_DIR/parleyctl

# ---- private parleyd -------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/parley-emailbench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  parley_stop
  if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS=${RESULTS_DIR:-$ROOT/bench/results}
JSON_DIR=$RESULTS/email-$STAMP
MD=$RESULTS/email-$STAMP.md
mkdir -p "$JSON_DIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0
VERSION=$("$PARLEYD" --version 2>/dev/null | head -1 || true)

# bench PATH: a fresh parleyd with alice, then email_bench.py over PATH (lmtp or postfix).
bench() {
  local path=$1 P=$WORK/parley-$1
  C2S_PORT=$(pick_port) HTTP_PORT=$(pick_port) LMTP_PORT=$(pick_port)
  mkdir -p "$P"
  parley_config "$P/parley.toml" "$P/data" "$C2S_PORT" "$HTTP_PORT" disabled "
[[gateway]]
domain = \"$DOMAIN\"
kind = \"email\"
address_domain = \"$ADDRESS_DOMAIN\"
lmtp_port = $LMTP_PORT
"
  "$PARLEYCTL" --config "$P/parley.toml" user add alice --password "$PASSWORD" >/dev/null
  parley_start "$P/parley.toml" "$P/parleyd.log" "$C2S_PORT"
  wait_port "$LMTP_PORT" "$PARLEY_PID" 10 || { log "no LMTP listener on $LMTP_PORT"; tail -20 "$P/parleyd.log" >&2; exit 2; }
  log "$path: $RUNS runs of $MAILS mails over $CONNECTIONS connections (after $WARMUP warm-up)"
  taskset -c "$PEER_CPU" "$PYTHON" "$ROOT/bench/email_bench.py" run --via "$path" --lmtp-port "$LMTP_PORT" \
    --c2s-port "$C2S_PORT" --server-pid "$PARLEY_PID" --user alice --password "$PASSWORD" \
    --recipient "alice@$ADDRESS_DOMAIN" --senders "$SENDERS" --connections "$CONNECTIONS" \
    --mails "$MAILS" --warmup "$WARMUP" --runs "$RUNS" --peer-cpu "$PEER_CPU" --server-cpu "$SERVER_CPU" \
    --json "$JSON_DIR/$path.json" ||
    { log "$path: lost, duplicated or refused mails, or no result (exit $?)"; FAILED=1; }
  if grep -qiE '\] \[(error|critical)\]|assert' "$P/parleyd.log"; then
    { echo "parleyd ($path) logged errors:"; grep -iE '\] \[(error|critical)\]|assert' "$P/parleyd.log" | head -10; } \
      >>"$JSON_DIR/parleyd-errors.txt"
  fi
  parley_stop
}

POSTFIX_VERSION=""
for path in $PATHS; do
  case $path in
    lmtp) bench lmtp ;;
    postfix)
      if [[ $(id -u) -ne 0 ]]; then log "postfix: skipped, the private Postfix needs root"; continue; fi
      ensure_packages postfix
      POSTFIX_VERSION=$(postconf -d -h mail_version 2>/dev/null || true)
      bench postfix ;;
    *) log "unknown path $path (lmtp, postfix)"; exit 2 ;;
  esac
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------------------
{
  echo "# Email gateway throughput (LMTP inbound), $(date '+%Y-%m-%d %H:%M')"
  echo
  echo "- ${VERSION:-parleyd}, commit $(commit_text), ${BUILD_TYPE:-unknown} build, io_threads=$IO_THREADS, SQLite in a temporary data directory, pinned to CPU $SERVER_CPU"
  echo "- gateway $DOMAIN (kind email), addresses USER@$ADDRESS_DOMAIN, LMTP on 127.0.0.1; alice online over plaintext c2s (SCRAM, initial presence)"
  echo "- bench/email_bench.py ($($PYTHON --version 2>&1), one thread) pinned to CPU $PEER_CPU: $CONNECTIONS LMTP connections, one transaction in flight each (MAIL FROM, RCPT TO and DATA pipelined, then the content, then the recipient's reply), no RSET; $SENDERS distinct senders; one recipient per mail (alice@$ADDRESS_DOMAIN)"
  echo "- mails of about 1.6 KB: Received, From, To, encoded Subject, unique Message-ID, Date, MIME-Version, text/plain UTF-8 quoted-printable with German, French, Russian and Japanese text"
  echo "- machine: $(machine_text); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  [[ -n "$POSTFIX_VERSION" ]] && echo "- postfix path: Postfix $POSTFIX_VERSION, a private instance (tests/e2e/mailutil.py: own config, queue and maillog in a temporary directory, transport map $ADDRESS_DOMAIN → lmtp:inet:127.0.0.1:<parleyd's LMTP port>, default concurrency and connection cache), started by the tool and so sharing its core (CPU $PEER_CPU); the tool submits over SMTP (EHLO, same transactions), and its latency is then Postfix's 250 (queued), not parleyd's"
  echo "- $WARMUP warm-up mails, then $RUNS runs of $MAILS mails; median of the runs, spread min–max"
  echo
  echo "mails/s: mails that arrived at alice's XMPP connection / time from the first write to the last arrival. LMTP latency: final dot written to the recipient's 250 read (parleyd answers it once the message reached the session); on the postfix path the same for Postfix's SMTP 250. End-to-end: MAIL FROM written to the stanza read. parleyd CPU-µs/mail: utime+stime of parleyd (/proc/PID/stat) from the first write until it has gone quiet after the last arrival / mails (10 ms ticks). parleyd and tool CPU %: CPU time from the first write to the last arrival / that time (100 % is one core); a tool near 100 % was the bottleneck. Core busy %: how busy the core was over the same time, whoever used it (/proc/stat). RSS: parleyd's VmRSS before the first and after the last measured run. Every mail is checked to arrive exactly once (the message-id of <mail xmlns='urn:parley:email:0'/>)."
  echo
} >"$MD"
"$PYTHON" "$ROOT/bench/email_bench.py" report --json-dir "$JSON_DIR" --markdown "$MD" >/dev/null || FAILED=1
if [[ -f "$JSON_DIR/parleyd-errors.txt" ]]; then
  { echo; echo '```'; cat "$JSON_DIR/parleyd-errors.txt"; echo '```'; } >>"$MD"
fi
log "report: $MD"
cat "$MD"
exit $FAILED

# Shell functions shared by the benchmark runners (run_parley.sh, run_webhooks.sh,
# run_compare.sh). Sourced, not run. Expects ROOT (the source tree) and LOG_TAG to be set;
# functions that start servers expect WORK (a temporary directory, mode 755).

log() { printf '[%s] %s\n' "${LOG_TAG:-bench}" "$*" >&2; }

# bench_build TARGET...: sets BUILD_DIR and BUILD_TYPE. With PARLEY_BUILD=DIR, takes the
# binaries in DIR as they are; with SKIP_BUILD=1, those in BUILD_DIR (default build-bench/);
# otherwise configures build-bench/ (Release) if needed and builds the targets incrementally.
bench_build() {
  if [[ -n "${PARLEY_BUILD:-}" ]]; then
    BUILD_DIR=$PARLEY_BUILD
  else
    BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
    case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
      if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
        log "configuring $BUILD_DIR (Release)"
        cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_TESTS=OFF >/dev/null
      fi
      log "building $* (incremental)"
      cmake --build "$BUILD_DIR" -j"${BUILD_JOBS:-2}" --target "$@" >/dev/null
    fi
  fi
  local t
  for t in "$@"; do
    [[ -x "$BUILD_DIR/$t" ]] || { log "missing $BUILD_DIR/$t"; exit 2; }
  done
  BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
}

# A TCP port free on 127.0.0.1 now and not handed out before by this shell.
declare -A BENCH_TAKEN_PORTS=()
pick_port() {
  local p
  while :; do
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    [[ -z "${BENCH_TAKEN_PORTS[$p]:-}" ]] && break
  done
  BENCH_TAKEN_PORTS[$p]=1
  echo "$p"
}

# wait_port PORT PID SECONDS: until something accepts on PORT; fails if PID exits first.
wait_port() {
  local i
  for i in $(seq 1 $(($3 * 20))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if [[ -n "$2" ]] && ! kill -0 "$2" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

commit_text() {
  local c
  c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then c="$c (with uncommitted changes)"; fi
  echo "$c"
}

machine_text() {
  echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
}

# "steal total" jiffies summed over all CPUs (/proc/stat); steal_pct A B gives the share.
steal_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat; }
steal_pct() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y); d = y[2] - x[2];
    if (d > 0) printf "%.1f", 100 * (y[1] - x[1]) / d; else printf "?" }'
}

# ensure_packages PKG...: installs the Debian packages that are missing (as root, or with
# sudo). Installing may start the packages' system services; the runners never use them
# and bind other ports, so they are left alone.
ensure_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} from Debian"
  local sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A self-signed P-256 certificate for localhost (the kind parleyd generates for itself), in
# $1/cert.pem and $1/key.pem, readable by the servers' own users.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout "$1/key.pem" -out "$1/cert.pem" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost >/dev/null 2>&1
  chmod 644 "$1/cert.pem" "$1/key.pem"
}

# ---- parleyd -----------------------------------------------------------------------------
# parley_config FILE DATA_DIR C2S_PORT HTTP_PORT TLS_POLICY EXTRA: a config for the runners.
# EXTRA is appended as is (a [tls] or [[gateway]] section). The per-IP limits are lifted,
# because every connection comes from 127.0.0.1. The message archive (XEP-0313) is off unless
# PARLEY_ARCHIVE=true, because the Prosody and ejabberd set-ups run without mod_mam: the
# same work on every side. Offline storage keeps up to OFFLINE_QUOTA messages per user
# (default 10000, parleyd's own default is 1000), the limit the Prosody and ejabberd set-ups
# get as well. parleyd versions that do not know those keys get the config without them.
parley_config() {
  local file=$1 data=$2 c2s=$3 http=$4 tls=$5 extra=${6:-} limits tail variant
  local lifted=$'max_connections_per_ip = 1000000\nmax_auth_failures_per_ip = 1000000'
  local archive=$'[archive]\nenabled = '"${PARLEY_ARCHIVE:-false}"
  archive+=$'\n\n[storage]\noffline_quota = '"${OFFLINE_QUOTA:-10000}"
  for variant in both limits none; do
    limits=$lifted tail=$archive
    [[ $variant == both ]] || tail=""
    [[ $variant != none ]] || limits=""
    cat >"$file" <<EOF
[server]
hosts = ["localhost"]
data_dir = "$data"
io_threads = ${IO_THREADS:-1}

[log]
level = "warn"

[c2s]
port = $c2s
tls = "$tls"
$limits

[http]
port = $http
$extra

$tail
EOF
    "$PARLEYCTL" check-config "$file" >/dev/null 2>&1 && return 0
  done
  "$PARLEYCTL" check-config "$file" >&2
  return 2
}

# parley_start CONFIG LOG PORT: starts parleyd pinned to SERVER_CPU, sets PARLEY_PID.
parley_start() {
  ulimit -n "$(ulimit -Hn)"
  taskset -c "${SERVER_CPU:-1}" "$PARLEYD" --config "$1" >>"$2" 2>&1 &
  PARLEY_PID=$!
  if ! wait_port "$3" "$PARLEY_PID" 10; then
    log "parleyd does not listen on $3:"; tail -20 "$2" >&2; exit 2
  fi
}
parley_stop() {
  if [[ -n "${PARLEY_PID:-}" ]]; then
    kill "$PARLEY_PID" 2>/dev/null || true
    wait "$PARLEY_PID" 2>/dev/null || true
    PARLEY_PID=""
  fi
}
# parley_users CONFIG PREFIX COUNT PASSWORD: creates PREFIX0..COUNT-1 with parleyctl.
parley_users() {
  seq 0 $(($3 - 1)) | xargs -P "${USER_JOBS:-4}" -I{} \
    "$PARLEYCTL" --config "$1" user add "$2{}" --password "$4" >/dev/null
}

# ---- ejabberd (Debian package) -------------------------------------------------------------
# A private ejabberd in EJ_DIR: its own node name, cookie and Erlang distribution port (no
# epmd), Mnesia in EJ_DIR/spool, run as the ejabberd user as Debian's ejabberdctl does.
ejctl() {
  ejabberdctl --config-dir "$EJ_DIR" --ctl-config "$EJ_DIR/ejabberdctl.cfg" --config "$EJ_DIR/ejabberd.yml" \
    --spool "$EJ_DIR/spool" --logs "$EJ_DIR/logs" "$@"
}
# ej_setup C2S_PORT HTTP_PORT [EXTRA_YML]: writes the node's files. Plaintext c2s with
# STARTTLS offered (certificate EJ_DIR/cert.pem when present), no shaper, mod_http_api on
# loopback allowed send_message and register without authentication. mod_offline keeps up to
# OFFLINE_QUOTA (default 10000) messages per user in Mnesia, as parleyd and Prosody are set
# up; without the max_user_offline_messages rule it would keep any number (Debian's example
# config says 5000 for admins, 100 for others). mod_ping answers XEP-0199 pings.
ej_setup() {
  local dist tls_yml="" certs_yml=""
  dist=$(pick_port)
  EJ_NODE=bench$dist@localhost
  mkdir -p "$EJ_DIR/spool" "$EJ_DIR/logs"
  touch "$EJ_DIR/inetrc"
  cat >"$EJ_DIR/ejabberdctl.cfg" <<EOF
ERLANG_NODE=$EJ_NODE
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie bench$RANDOM$RANDOM$RANDOM"
ERL_DIST_PORT=$dist
ERL_MAX_PORTS=1000000
EJABBERD_PID_PATH=$EJ_DIR/ejabberd.pid
EOF
  if [[ -f "$EJ_DIR/cert.pem" ]]; then
    certs_yml=$'certfiles:\n  - '"$EJ_DIR/cert.pem"$'\n  - '"$EJ_DIR/key.pem"
    tls_yml="    starttls: true"
  fi
  cat >"$EJ_DIR/ejabberd.yml" <<EOF
hosts:
  - localhost
loglevel: warning
$certs_yml
# No traffic shaping and room for long queues: the server, not its limits, is measured.
shaper: {}
shaper_rules:
  max_user_offline_messages: ${OFFLINE_QUOTA:-10000}
max_fsm_queue: 1000000
listen:
  -
    port: $1
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    backlog: 1024
$tls_yml
  -
    port: $2
    ip: "127.0.0.1"
    module: ejabberd_http
    backlog: 1024
    request_handlers:
      /api: mod_http_api
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "bench loopback":
    from:
      - mod_http_api
    who:
      ip: 127.0.0.1/8
    what:
      - send_message
      - register
${3:-}
modules:
  mod_roster: {}
  mod_disco: {}
  mod_admin_extra: {}
  mod_offline: {}
  mod_ping: {}
EOF
  chown -R ejabberd:ejabberd "$EJ_DIR"
}
# ej_start HTTP_PORT: starts the node pinned to SERVER_CPU, sets EJ_PID (beam.smp) and
# EJ_VERSION; returns 1 when it does not come up.
ej_start() {
  # As the ejabberd user without su: su applies PAM's limits (1024 open files for that user),
  # which made ejabberd fail to accept past about 1000 connections and then stop. setpriv
  # keeps the raised limit, as parleyd and Prosody get it.
  {
    echo '#!/bin/bash'
    declare -f ejctl
    echo "EJ_DIR='$EJ_DIR'"
    echo 'cd "$EJ_DIR/spool" && ejctl foreground'
  } >"$EJ_DIR/foreground.sh"
  chmod 755 "$EJ_DIR/foreground.sh"
  chown ejabberd:ejabberd "$EJ_DIR/foreground.sh"
  taskset -c "${SERVER_CPU:-1}" bash -c "ulimit -n \$(ulimit -Hn); HOME='$EJ_DIR' exec setpriv --reuid ejabberd \
    --regid ejabberd --init-groups '$EJ_DIR/foreground.sh'" >>"$EJ_DIR/foreground.log" 2>&1 &
  EJ_STARTED=1
  local i
  for i in $(seq 1 90); do
    ejctl status >/dev/null 2>&1 && break
    sleep 1
  done
  if ! ejctl status >/dev/null 2>&1; then
    log "ejabberd did not start:"; tail -20 "$EJ_DIR/foreground.log" "$EJ_DIR"/logs/*.log >&2 || true
    return 1
  fi
  EJ_VERSION=$(ejctl status 2>/dev/null | sed -n 's/^ejabberd \([^ ]*\) is running.*/\1/p')
  EJ_PID=$(pgrep -u ejabberd -f "beam.smp.*$EJ_NODE" | head -1)
  wait_port "$1" "" 10
}
ej_stop() {
  if [[ "${EJ_STARTED:-0}" == 1 ]]; then
    ejctl stop >/dev/null 2>&1 || true
    ejctl stopped >/dev/null 2>&1 || true
    EJ_STARTED=0
    EJ_PID=""
  fi
}

# http_register HTTP_PORT PREFIX COUNT PASSWORD [EXTRA_USER...]: creates the users through
# mod_http_api's register command, over a few keep-alive connections (one ejabberdctl call
# per user would start an Erlang VM each time).
http_register() {
  python3 - "$@" <<'EOF'
import http.client, json, sys, threading
port, prefix, count, password = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
names = [f"{prefix}{i}" for i in range(count)] + sys.argv[5:]
errors = []
def work(part):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for name in part:
        body = json.dumps({"user": name, "host": "localhost", "password": password})
        c.request("POST", "/api/register", body, {"Content-Type": "application/json"})
        r = c.getresponse(); text = r.read()
        if r.status != 200:
            errors.append(f"{name}: {r.status} {text[:200]!r}")
threads = [threading.Thread(target=work, args=(names[k::4],)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    print(f"{len(errors)} registrations failed, first: {errors[0]}", file=sys.stderr)
    sys.exit(1)
EOF
}

# ---- Prosody (Debian package) ---------------------------------------------------------------
# A private Prosody in PROSODY_DIR (config, data, log, pid file), run as the prosody user.
# prosody_setup C2S_PORT: plaintext c2s with STARTTLS offered, internal_hashed accounts with
# 4096 PBKDF2 iterations (as parleyd and ejabberd store them), no mod_limits, no s2s.
# mod_offline (loaded by Prosody in any case) stores in the internal backend's archive store,
# whose per-user cap storage_archive_item_limit (10000 by default in 0.12) is set to
# OFFLINE_QUOTA like the other servers' limits. mod_ping answers XEP-0199 pings.
prosody_setup() {
  mkdir -p "$PROSODY_DIR/data"
  cat >"$PROSODY_DIR/prosody.cfg.lua" <<EOF
pidfile = "$PROSODY_DIR/prosody.pid"
data_path = "$PROSODY_DIR/data"
certificates = "$PROSODY_DIR"
daemonize = false
log = { warn = "$PROSODY_DIR/prosody.log" }
network_backend = "epoll"
-- The default listen backlog (128) drops connection bursts; parleyd and ejabberd get 1024+.
network_settings = { tcp_backlog = 1024 }
c2s_ports = { $1 }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
modules_disabled = { "s2s" }
-- mod_limits is not loaded: no read-rate limit on c2s.
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "posix"; "offline"; "ping" }
storage_archive_item_limit = ${OFFLINE_QUOTA:-10000}
authentication = "internal_hashed"
default_iteration_count = 4096
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
ssl = { certificate = "$PROSODY_DIR/cert.pem"; key = "$PROSODY_DIR/key.pem" }
VirtualHost "localhost"
EOF
  chown -R prosody:prosody "$PROSODY_DIR"
}
# prosody_users PREFIX COUNT PASSWORD [EXTRA_USER...]: writes the account files as
# mod_auth_internal_hashed does (SCRAM-SHA-1 stored and server keys, per-user salt);
# prosodyctl register takes about 0.2 s per user.
prosody_users() {
  python3 - "$PROSODY_DIR/data/localhost/accounts" "$@" <<'EOF'
import hashlib, hmac, multiprocessing, os, sys, uuid
folder, prefix, count, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
os.makedirs(folder, exist_ok=True)
def write(name):
    salt = str(uuid.uuid4())
    salted = hashlib.pbkdf2_hmac("sha1", password, salt.encode(), 4096)
    stored = hashlib.sha1(hmac.new(salted, b"Client Key", "sha1").digest()).hexdigest()
    server = hmac.new(salted, b"Server Key", "sha1").hexdigest()
    with open(os.path.join(folder, name + ".dat"), "w") as f:
        f.write(f'return {{\n\t["salt"] = "{salt}";\n\t["iteration_count"] = 4096;\n'
                f'\t["server_key"] = "{server}";\n\t["stored_key"] = "{stored}";\n}};\n')
with multiprocessing.Pool() as pool:
    pool.map(write, [f"{prefix}{i}" for i in range(count)] + sys.argv[5:], chunksize=64)
EOF
  chown -R prosody:prosody "$PROSODY_DIR/data"
}
# prosody_start C2S_PORT: pinned to SERVER_CPU, as the prosody user (setpriv execs, so the
# PID is Prosody's own); sets PROSODY_PID.
prosody_start() {
  ulimit -n "$(ulimit -Hn)"
  taskset -c "${SERVER_CPU:-1}" setpriv --reuid=prosody --regid=prosody --init-groups \
    prosody -F --config "$PROSODY_DIR/prosody.cfg.lua" >>"$PROSODY_DIR/stdout.log" 2>&1 &
  PROSODY_PID=$!
  if ! wait_port "$1" "$PROSODY_PID" 20; then
    log "prosody does not listen on $1:"; tail -20 "$PROSODY_DIR/stdout.log" "$PROSODY_DIR/prosody.log" >&2 || true
    return 1
  fi
}
prosody_stop() {
  if [[ -n "${PROSODY_PID:-}" ]]; then
    kill "$PROSODY_PID" 2>/dev/null || true
    wait "$PROSODY_PID" 2>/dev/null || true
    PROSODY_PID=""
  fi
}

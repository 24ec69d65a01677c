#!/usr/bin/env bash
# A private PostgreSQL cluster for tests, on 127.0.0.1 and a free port, in one directory.
#
#   pgcluster.sh start DIR    create (if needed) and start; prints the DSN of role `parley`
#   pgcluster.sh stop DIR     fast shutdown; no error when it is not running
#   pgcluster.sh destroy DIR  stop, then remove DIR
#
# After `start`, DIR holds:
#   dsn        host=127.0.0.1 port=PORT dbname=parley user=parley password=parley-test
#   admin-dsn  the superuser `postgres` over the Unix socket (trust)
#   port       the port; a stopped cluster starts again on it, so clients keep their DSN
# and the server's own files: data/, postgres.log and the Unix socket. Those live in DIR too,
# unless the server cannot reach DIR or DIR is too long a path for a socket: then they live
# in a directory under /tmp whose name DIR/home holds.
#
# PostgreSQL refuses to run as root. As root, the server runs as the `postgres` system user
# that the Debian package creates; otherwise as the current user.
# PG_BINDIR overrides where initdb, pg_ctl and psql are taken from.
set -euo pipefail

readonly ROLE=parley
readonly ROLE_PASSWORD=parley-test
readonly DATABASE=parley
readonly SUPERUSER=postgres

die() {
  echo "pgcluster: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop|destroy DIR" >&2
  exit 2
}

find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    echo "$PG_BINDIR"
  elif [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
  else
    local newest
    newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [[ -x "$newest/initdb" ]]; then
      echo "$newest"
    elif command -v initdb >/dev/null; then
      dirname "$(command -v initdb)"
    else
      die "no PostgreSQL server binaries found (Debian: apt-get install postgresql)"
    fi
  fi
}

(($# == 2)) || usage
cmd=$1
[[ -n "$2" ]] || usage
dir=$(realpath -m -- "$2")
bindir=$(find_bindir)

# Runs a server-side command (initdb, pg_ctl) as the user that owns the cluster.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  id -u "$SUPERUSER" >/dev/null 2>&1 ||
    die "running as root, but there is no '$SUPERUSER' user to run the server (apt-get install postgresql)"
  as_owner=(runuser -u "$SUPERUSER" --)
fi

# Where the server's files are: DIR, or the directory named in DIR/home.
home=$dir
if [[ -f "$dir/home" ]]; then
  home=$(cat "$dir/home")
  [[ "$home" == /tmp/parley-pg.* ]] || die "$dir/home names $home, not a directory of ours"
fi
data="$home/data"

# Exit status of `pg_ctl status`: 0 running, 3 not running, 4 no usable data directory.
cluster_status() {
  local rc=0
  "${as_owner[@]}" "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1 || rc=$?
  echo "$rc"
}

admin_dsn() {
  echo "host=$home port=$1 dbname=postgres user=$SUPERUSER"
}

free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Starts the server on the port in postgresql.conf; non-zero when it did not come up.
# The server must not inherit the lock (fd 9), or it would hold it for its whole life.
pg_start() {
  "${as_owner[@]}" "$bindir/pg_ctl" start -w -t 60 -D "$data" -l "$home/postgres.log" \
    >/dev/null 2>&1 9>&-
}

pg_stop() {
  if [[ -f "$data/PG_VERSION" && $(cluster_status) == 0 ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" stop -w -t 60 -m fast -D "$data" >/dev/null
  fi
}

log_tail() {
  tail -n 20 "$home/postgres.log" 2>/dev/null | sed 's/^/  postgres.log: /' >&2 || true
}

# Chooses where the server's files go (see the header) and makes it the server's.
choose_home() {
  rm -f "$dir/home"
  home=$dir
  if ((${#as_owner[@]})); then
    chown "$SUPERUSER:" "$dir"
    chmod 0755 "$dir"
  fi
  # 107 bytes is the limit of a Unix socket path; "/.s.PGSQL.65535" takes 15 of them.
  if ((${#dir} > 90)) || ! "${as_owner[@]}" test -w "$dir" -a -x "$dir"; then
    home=$(mktemp -d /tmp/parley-pg.XXXXXX)
    chmod 0755 "$home"
    if ((${#as_owner[@]})); then chown "$SUPERUSER:" "$home"; fi
    echo "$home" >"$dir/home"
  fi
  data="$home/data"
}

create() {
  pg_stop || true
  if [[ "$home" != "$dir" ]]; then rm -rf -- "$home"; fi
  rm -rf -- "$dir/data" "$dir/dsn" "$dir/admin-dsn" "$dir/port" "$dir/postgres.log"
  choose_home

  # --no-sync only for the template files initdb writes; the running server keeps fsync on.
  "${as_owner[@]}" "$bindir/initdb" --no-sync -D "$data" -U "$SUPERUSER" -A trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  cat >"$data/pg_hba.conf" <<EOF
# pgcluster.sh: the superuser over the private socket, everybody else by password over TCP.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  chown --reference="$data" "$data/pg_hba.conf"

  # The port is free when chosen but may be taken before the server binds it (ctest runs
  # tests in parallel, and they pick free ports too), so try a few.
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # The last occurrence of a setting wins, so a retry may append again.
    cat >>"$data/postgresql.conf" <<EOF

# pgcluster.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$home'
max_connections = 200
password_encryption = 'scram-sha-256'
EOF
    rm -f "$home/postgres.log"
    if pg_start; then
      break
    fi
    if ((attempt == 5)) || ! grep -q "could not create any TCP/IP sockets" "$home/postgres.log"; then
      log_tail
      die "the new cluster in $data did not start"
    fi
  done
  echo "$port" >"$dir/port"

  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$(admin_dsn "$port")" <<EOF
CREATE ROLE $ROLE LOGIN PASSWORD '$ROLE_PASSWORD';
CREATE DATABASE $DATABASE OWNER $ROLE;
EOF
  admin_dsn "$port" >"$dir/admin-dsn"
  # Written last: its presence says the cluster is complete.
  echo "host=127.0.0.1 port=$port dbname=$DATABASE user=$ROLE password=$ROLE_PASSWORD" >"$dir/dsn"
}

start() {
  mkdir -p -- "$dir"
  # Serialise concurrent starts on one directory.
  exec 9>"$dir/.lock"
  flock 9

  local t0
  t0=$(date +%s%N)
  if [[ ! -f "$dir/dsn" || ! -f "$data/PG_VERSION" ]]; then
    # Nothing there, an earlier start died half-way, or /tmp was emptied: begin afresh.
    create
  elif [[ $(cluster_status) != 0 ]]; then
    if ! pg_start; then
      log_tail
      die "the cluster in $data did not start again on port $(cat "$dir/port")" \
        "(\`$0 destroy $dir\` begins afresh)"
    fi
  fi
  # Ready means the role can log in over TCP with its password, as the tests will.
  PGCONNECT_TIMEOUT=10 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$(cat "$dir/dsn")" \
    -c 'SELECT 1' >/dev/null ||
    die "the cluster in $data runs, but role '$ROLE' cannot log in with $(cat "$dir/dsn")"
  echo "pgcluster: $dir ready in $((($(date +%s%N) - t0) / 1000000)) ms" >&2
  cat "$dir/dsn"
}

case "$cmd" in
  start) start ;;
  stop) pg_stop ;;
  destroy)
    pg_stop || true
    if [[ "$home" != "$dir" ]]; then rm -rf -- "$home"; fi
    rm -rf -- "$dir"
    ;;
  *) usage ;;
esac

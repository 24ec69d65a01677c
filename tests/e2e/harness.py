"""Starts a real parleyd for end-to-end scenarios: free ports, a generated config, a private
data directory, and a clean stop. One scenario per file; each file is a ctest test.

Storage is SQLite in the data directory, unless PARLEY_E2E_BACKEND=postgres: then each Server
stores in a fresh schema of the PostgreSQL server named by PARLEY_TEST_PG_DSN_FILE (the
parley_pg ctest fixture), with the password handed to parleyd in its environment."""

import atexit
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PARLEYD = os.environ.get("PARLEYD", "")
PARLEYCTL = os.environ.get("PARLEYCTL", "")
PGCLUSTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg", "pgcluster.sh")
# parleyd and parleyctl read the PostgreSQL password from this variable, not from the DSN.
PG_PASSWORD_ENV = "PARLEY_TEST_PG_PASSWORD"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=20.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"parleyd exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


def parse_dsn(dsn):
    """Splits a libpq keyword/value connection string into an ordered dict."""
    out = {}
    for m in re.finditer(r"\s*(\w+)\s*=\s*('((?:[^'\\]|\\.)*)'|(\S+))", dsn):
        value = m.group(4) if m.group(4) is not None else re.sub(r"\\(.)", r"\1", m.group(3))
        out[m.group(1)] = value
    return out


def format_dsn(fields):
    def quote(v):
        if v and not re.search(r"[\s'\\=]", v):
            return v
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return " ".join(f"{k}={quote(v)}" for k, v in fields.items())


def toml_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _psql():
    found = shutil.which("psql")
    return found if found else "/usr/lib/postgresql/15/bin/psql"


class PgCluster:
    """A private PostgreSQL server run by tests/pg/pgcluster.sh in `dir`. Without `dir`, a
    new temporary directory (its parent searchable by the `postgres` user, which runs the
    server when we are root). A restarted cluster keeps its port, so DSNs stay valid."""

    def __init__(self, dir=None):
        self._temp_parent = None
        if dir is None:
            self._temp_parent = tempfile.mkdtemp(prefix="parley-pg-")
            os.chmod(self._temp_parent, 0o711)
            dir = os.path.join(self._temp_parent, "cluster")
        self.dir = os.path.abspath(dir)

    def _run(self, action):
        r = subprocess.run(["bash", PGCLUSTER, action, self.dir], capture_output=True, text=True,
                           timeout=180)
        if r.returncode != 0:
            raise AssertionError(f"pgcluster.sh {action} {self.dir} failed: {r.stderr}")
        return r.stdout.strip()

    def start(self):
        """Creates the cluster if needed and starts it; returns the DSN of role parley."""
        return self._run("start")

    def stop(self):
        """Fast shutdown: open connections are cut. No error when it is not running."""
        self._run("stop")

    def destroy(self):
        """Stops the server and removes its directory (and the temporary one made for it)."""
        self._run("destroy")
        if self._temp_parent is not None:
            shutil.rmtree(self._temp_parent, ignore_errors=True)

    def dsn(self):
        """host=127.0.0.1 port=... dbname=parley user=parley password=..."""
        with open(os.path.join(self.dir, "dsn")) as f:
            return f.read().strip()

    def admin_dsn(self):
        """The superuser over the Unix socket, no password."""
        with open(os.path.join(self.dir, "admin-dsn")) as f:
            return f.read().strip()

    def psql(self, sql, admin=False, check=True):
        """Runs SQL through psql as role parley (or the superuser); returns its stdout."""
        r = subprocess.run([_psql(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            self.admin_dsn() if admin else self.dsn(), "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"psql {sql!r} failed: {r.stderr}")
        return r.stdout


def fixture_pg_cluster():
    """The cluster of the parley_pg ctest fixture (the test must require that fixture)."""
    dsn_file = os.environ.get("PARLEY_TEST_PG_DSN_FILE")
    if not dsn_file:
        raise AssertionError("PARLEY_TEST_PG_DSN_FILE is not set: the test does not require "
                             "the parley_pg fixture")
    return PgCluster(os.path.dirname(dsn_file))


def pg_stop():
    """Stops the fixture's cluster. Every test that runs meanwhile on it loses its database,
    so a scenario that needs an outage should rather start its own PgCluster."""
    fixture_pg_cluster().stop()


def pg_start():
    """Starts the fixture's cluster again, on the same port."""
    fixture_pg_cluster().start()


class Server:
    """A parleyd with its own directory. Use as a context manager.

    Storage: SQLite by default; PostgreSQL with `pg_cluster` (a PgCluster) or when
    PARLEY_E2E_BACKEND=postgres (the fixture's cluster). Each PostgreSQL-backed Server gets a
    schema of its own, which lives as long as this process: stop() and start() keep the data."""

    def __init__(self, extra_toml="", tls="optional", hosts=("localhost",), log_level="info", c2s_extra="",
                 pg_cluster=None):
        self.dir = tempfile.mkdtemp(prefix="parley-e2e-")
        self.env = dict(os.environ)
        self.pg_cluster = pg_cluster
        if self.pg_cluster is None and os.environ.get("PARLEY_E2E_BACKEND", "sqlite") == "postgres":
            self.pg_cluster = fixture_pg_cluster()
        self.backend = "postgres" if self.pg_cluster is not None else "sqlite"
        self.pg_schema = None
        if self.pg_cluster is not None:
            extra_toml = self._use_postgres(extra_toml)
        self.c2s_port = free_port()
        self.http_port = free_port()
        self.direct_tls_port = free_port()
        self.hosts = list(hosts)
        self.config_path = os.path.join(self.dir, "parley.toml")
        host_list = ", ".join(f'"{h}"' for h in hosts)
        with open(self.config_path, "w") as f:
            f.write(f"""
[server]
hosts = [{host_list}]
data_dir = "{self.dir}/data"
io_threads = 2

[log]
level = "{log_level}"

[c2s]
port = {self.c2s_port}
tls = "{tls}"
direct_tls_port = {self.direct_tls_port}
{c2s_extra}

[http]
port = {self.http_port}

{extra_toml}
""")
        self.proc = None
        self.log_path = os.path.join(self.dir, "parleyd.log")

    def ctl(self, *args, input_text=None, check=True):
        r = subprocess.run([PARLEYCTL, "--config", self.config_path, *args], input=input_text,
                           capture_output=True, text=True, timeout=60, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"parleyctl {args} failed: {r.stderr}")
        return r

    def _use_postgres(self, extra_toml):
        """Creates this server's schema and returns extra_toml with the [storage] keys that
        point parleyd at it. The password goes into the environment, not into the DSN."""
        fields = parse_dsn(self.pg_cluster.dsn())
        password = fields.pop("password", "")
        self.pg_schema = "e2e_" + secrets.token_hex(6)
        self.pg_cluster.psql(f"CREATE SCHEMA {self.pg_schema}")
        atexit.register(self._drop_pg_schema)
        fields["options"] = f"-csearch_path={self.pg_schema}"
        self.env[PG_PASSWORD_ENV] = password
        keys = (f'backend = "postgres"\n'
                f'postgres_dsn = {toml_string(format_dsn(fields))}\n'
                f'postgres_password_env = "{PG_PASSWORD_ENV}"\n')
        # A scenario's own [storage] table (say, for worker threads) gets the keys added.
        header = re.search(r"^\[storage\][ \t]*\n", extra_toml, re.M)
        if header:
            return extra_toml[:header.end()] + keys + extra_toml[header.end():]
        return f"{extra_toml}\n[storage]\n{keys}"

    def _drop_pg_schema(self):
        # Best effort, at exit: a parleyd still running would hold locks on the tables.
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            self.pg_cluster.psql(f"SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {self.pg_schema} CASCADE",
                                 check=False)
        except (OSError, subprocess.SubprocessError):
            pass

    def add_user(self, name, password):
        self.ctl("user", "add", name, "--password", password)

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([PARLEYD, "--config", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env)
        wait_for_port(self.c2s_port, proc=self.proc)
        wait_for_port(self.http_port, proc=self.proc)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"parleyd did not stop within {timeout}s of {sig!r}")
        self.proc = None
        self.log.close()
        return code

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def http_get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=10) as r:
            return r.status, r.read().decode()

    def dump_log(self):
        try:
            with open(self.log_path, "rb") as f:
                sys.stderr.write(f.read().decode(errors="replace")[-20000:])
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_log()
        if self.proc is not None:
            code = self.stop()
            if exc_type is None and code != 0:
                self.dump_log()
                raise AssertionError(f"parleyd exited with {code} on SIGTERM")
        return False


def run(scenario):
    """Runs one scenario function and turns the outcome into an exit status for ctest."""
    try:
        scenario()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok")

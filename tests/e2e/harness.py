"""Starts a real parleyd for end-to-end scenarios: free ports, a generated config, a private
data directory, and a clean stop. One scenario per file; each file is a ctest test."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PARLEYD = os.environ.get("PARLEYD", "")
PARLEYCTL = os.environ.get("PARLEYCTL", "")


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


class Server:
    """A parleyd with its own directory. Use as a context manager."""

    def __init__(self, extra_toml="", tls="optional", hosts=("localhost",), log_level="info", c2s_extra=""):
        self.dir = tempfile.mkdtemp(prefix="parley-e2e-")
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
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"parleyctl {args} failed: {r.stderr}")
        return r

    def add_user(self, name, password):
        self.ctl("user", "add", name, "--password", password)

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([PARLEYD, "--config", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT)
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

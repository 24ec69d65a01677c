"""parleyd with no arguments: the embedded default. It listens on 5222 and 5280, creates its
data directory with a self-signed certificate and a SQLite database, answers /health, offers
STARTTLS (required), and stops cleanly on SIGTERM and on SIGINT."""

import os
import signal
import socket
import subprocess
import tempfile
import urllib.request

import harness


def start_default(cwd):
    proc = subprocess.Popen([harness.PARLEYD], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    harness.wait_for_port(5222, proc=proc)
    harness.wait_for_port(5280, proc=proc)
    return proc


def scenario():
    cwd = tempfile.mkdtemp(prefix="parley-default-")
    proc = start_default(cwd)
    try:
        data = os.path.join(cwd, "parley-data")
        assert os.path.isfile(os.path.join(data, "tls", "cert.pem")), "no generated certificate"
        assert os.path.isfile(os.path.join(data, "tls", "key.pem")), "no generated key"
        assert oct(os.stat(os.path.join(data, "tls", "key.pem")).st_mode & 0o777) == "0o600", "key readable by others"
        assert os.path.isfile(os.path.join(data, "parley.db")), "no SQLite database"
        with urllib.request.urlopen("http://127.0.0.1:5280/health", timeout=5) as r:
            assert r.status == 200
            assert b'"ok"' in r.read()
        with socket.create_connection(("127.0.0.1", 5222), timeout=5) as s:
            s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
                      b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
            got = b""
            while b"</stream:features>" not in got:
                chunk = s.recv(4096)
                assert chunk, f"stream closed early: {got!r}"
                got += chunk
            assert b"urn:ietf:params:xml:ns:xmpp-tls" in got and b"<required/>" in got, got
            assert b"mechanisms" not in got, "SASL offered before TLS although TLS is required"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, f"exit code {proc.returncode}: {out.decode(errors='replace')}"

    # The second start reuses the certificate, and SIGINT stops it as cleanly.
    before = open(os.path.join(cwd, "parley-data", "tls", "cert.pem")).read()
    proc = start_default(cwd)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, f"exit code {proc.returncode} on SIGINT"
    assert open(os.path.join(cwd, "parley-data", "tls", "cert.pem")).read() == before, "certificate regenerated"


if __name__ == "__main__":
    harness.run(scenario)

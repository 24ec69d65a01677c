"""PostgreSQL stops in the middle of a run and comes back.

While it is down: a message that must be stored gets a `wait` error and is not acknowledged
(XEP-0198 h does not count it; the SM stream ends so that the client sends it again), /health
and an inbound webhook for an offline user answer 503, and live traffic between online users still flows. When it returns, the pool
reconnects by itself and service resumes without restarting parleyd. Nothing acknowledged
before the outage is lost."""

import base64
import json
import re
import time
import urllib.error
import urllib.request

import harness
from rawxmpp import Raw

SM = "urn:xmpp:sm:3"


def health(server, path="/health"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def hook(server, text):
    request = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/hooks/alerts",
                                     data=json.dumps({"body": text}).encode(), method="POST",
                                     headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def login(port, user, password, resource, sm=False):
    r = Raw(port)
    r.open()
    r.scram_login(user, password, resource=resource)
    r.send("<presence/>")
    if sm:
        r.send(f"<enable xmlns='{SM}' resume='true'/>")
        r.read_until(r"<enabled[^>]*/>")
    return r


def ack(raw):
    raw.send(f"<r xmlns='{SM}'/>")
    return int(re.search(r"h='(\d+)'", raw.read_until(r"<a xmlns='urn:xmpp:sm:3' h='\d+'/>")).group(1))


def message(to, body, mid):
    return f"<message to='{to}' type='chat' id='{mid}'><body>{body}</body></message>"


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def scenario():
    cluster = harness.PgCluster()
    cluster.start()
    try:
        hooks = """
[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
[[gateway.hook]]
name = "alerts"
inbound_secret = "s3cret"
recipient = "carol@localhost"
"""
        with harness.Server(tls="disabled", pg_cluster=cluster, extra_toml=hooks) as server:
            for name in ("alice", "bob", "carol", "dave"):
                server.add_user(name, "pw-" + name)
            status, body = health(server)
            assert status == 200 and json.loads(body)["storage"] == "ok", (status, body)

            alice = login(server.c2s_port, "alice", "pw-alice", "phone", sm=True)
            bob = login(server.c2s_port, "bob", "pw-bob", "desk")
            dave = login(server.c2s_port, "dave", "pw-dave", "desk")
            # Before the outage: three messages for carol (offline) are stored and acknowledged.
            for i in range(3):
                alice.send(message("carol@localhost", f"before-{i}", f"b{i}"))
            assert ack(alice) == 3

            cluster.stop()

            status, body = health(server)
            assert status == 503, (status, body)
            assert json.loads(body)["type"] == "urn:parley:problem:storage-unavailable", body
            # The readiness probe says the same; the process is still alive, and /metrics still
            # answers, without the outbox gauge that it cannot count.
            status, body = health(server, "/health/ready")
            assert status == 503, (status, body)
            assert json.loads(body)["type"] == "urn:parley:problem:storage-unavailable", body
            assert health(server, "/health/live")[0] == 200
            status, body = health(server, "/metrics")
            assert status == 200 and "\nparley_sessions 3\n" in body, (status, body)
            assert "parley_outbox_items{" not in body, body

            # An inbound webhook for offline carol cannot be stored: 503, not 202.
            status, body = hook(server, "webhook while down")
            assert status == 503, (status, body)
            assert json.loads(body)["type"] == "urn:parley:problem:storage-unavailable", body

            # Live traffic does not need the database.
            bob.send(message("dave@localhost/desk", "live while down", "l1"))
            dave.read_until(r"live while down</body>")

            # A client without SM: a wait error, and the stream stays up.
            bob.send(message("carol@localhost", "from-bob", "fb"))
            err = bob.read_until(r"<message[^>]*id='fb'.*?</message>")
            assert "type='error'" in err and "type='wait'" in err, err
            assert "internal-server-error" in err and "not stored" in err, err
            bob.send("<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
            bob.read_until(r"<iq[^>]*id='ping1'")

            # A client with SM: the wait error, no count in h, and the stream ends so that the
            # client resends it from its unacknowledged queue.
            alice.send(message("carol@localhost", "during", "d1"))
            got = alice.read_until(r"</stream:stream>")
            assert re.search(r"<message[^>]*id='d1'[^>]*type='error'|<message[^>]*type='error'[^>]*id='d1'", got), got
            assert "type='wait'" in got, got
            assert "<internal-server-error" in got.split("<stream:error>")[1], got
            assert "h='4'" not in got, got

            # New logins cannot be checked against the database meanwhile.
            late = Raw(server.c2s_port)
            late.open()
            first = base64.b64encode(b"n,,n=carol,r=0123456789abcdef").decode()
            late.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{first}</auth>")
            answer = late.read_until(r"<failure.*?</failure>|<challenge")
            assert "temporary-auth-failure" in answer, answer

            cluster.start()
            # The pool reconnects by itself (with backoff); no restart of parleyd.
            wait_for(lambda: health(server)[0] == 200, 30, "/health to answer 200 again")
            assert health(server, "/health/ready")[0] == 200

            # The client sends its unacknowledged message again on a new session.
            alice = login(server.c2s_port, "alice", "pw-alice", "phone", sm=True)
            alice.send(message("carol@localhost", "during", "d1"))
            assert ack(alice) == 1

            # The webhook sender retries and now gets its 202.
            status, body = hook(server, "webhook after")
            assert status == 202, (status, body)

            # Carol gets everything acknowledged before the outage, and what was sent again.
            carol = login(server.c2s_port, "carol", "pw-carol", "laptop")
            got = carol.read_until(r"webhook after</body>")
            assert re.findall(r"<body>([^<]*)</body>", got) == ["before-0", "before-1", "before-2", "during",
                                                                "webhook after"], got

            with open(server.log_path, "rb") as f:
                log = f.read().decode(errors="replace")
            assert "next connection attempt in" in log, "no reconnect backoff in the log"
            assert "connected again" in log, "no reconnection in the log"
    finally:
        cluster.destroy()


if __name__ == "__main__":
    harness.run(scenario)

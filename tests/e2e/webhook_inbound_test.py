"""The webhook gateway, inbound: POST /hooks/NAME reaches an online user at once and an
offline one at login; a repeated delivery (same webhook-id) is delivered once; every bad
input gets its problem+json status and delivers nothing; and after kill -9 in the middle of
a burst of 1,000 POSTs, every POST that got a 202 reaches the user."""

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request

import harness
from rawxmpp import Raw

INBOUND = "s3cret-inbound"


def post(server, path, body, headers=None, timeout=10):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{server.http_port}{path}", data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def post_raw(server, path, body, headers):
    """Sends a request on a plain socket and reads the answer even if the server stops reading
    the body (a 413): returns (status, content type, body)."""
    import socket
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", server.http_port), timeout=10)
    try:
        s.sendall(head.encode())
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    header, _, payload = data.decode(errors="replace").partition("\r\n\r\n")
    status = int(header.split(" ", 2)[1])
    ctype = re.search(r"(?im)^content-type:\s*(.*?)\s*$", header).group(1)
    return status, ctype, payload


def bearer():
    return {"Authorization": f"Bearer {INBOUND}"}


def standard_signature(msg_id, body):
    """Standard Webhooks, computed here independently: the raw secret is the key."""
    ts = str(int(time.time()))
    signed = f"{msg_id}.{ts}.".encode() + body
    sig = base64.b64encode(hmac.new(INBOUND.encode(), signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"}


def login(port, resource="phone"):
    r = Raw(port)
    r.open()
    r.scram_login("alice", "pw-alice", resource=resource)
    r.send("<presence/>")
    return r


def bodies(text):
    return re.findall(r"<body>([^<]*)</body>", text)


def config(extra=""):
    return f"""
[storage]
offline_quota = 5000
{extra}
[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
[[gateway.hook]]
name = "alerts"
inbound_secret = "{INBOUND}"
recipient = "alice@localhost"
"""


def scenario():
    with harness.Server(tls="disabled", extra_toml=config()) as server:
        server.add_user("alice", "pw-alice")
        server.add_user("bob", "pw-bob")

        # Online: delivered at once, from alerts@hooks.localhost.
        alice = login(server.c2s_port)
        status, ctype, text = post(server, "/hooks/alerts", {"body": "disk almost full"}, bearer())
        assert status == 202, (status, text)
        stanza_id = json.loads(text)["id"]
        got = alice.read_until(r"disk almost full</body>.*?</message>")
        assert "from='alerts@hooks.localhost'" in got and f"id='{stanza_id}'" in got, got

        # Slack-style and a named recipient.
        status, _, text = post(server, "/hooks/alerts", {"text": "slack style"}, bearer())
        assert status == 202, text
        alice.read_until(r"slack style</body>")
        status, _, text = post(server, "/hooks/alerts", {"to": "bob@localhost", "body": "for bob"}, bearer())
        assert status == 202, text

        # GitHub: signed with X-Hub-Signature-256, rendered readably, deduplicated by delivery.
        push = json.dumps({
            "ref": "refs/heads/main", "compare": "https://github.com/acme/api/compare/a1b2c3...d4e5f6",
            "repository": {"full_name": "acme/api", "html_url": "https://github.com/acme/api"},
            "pusher": {"name": "octocat"}, "sender": {"login": "octocat"},
            "commits": [{"id": "d4e5f6a7b8c9", "message": "Fix the flux capacitor", "author": {"name": "Octo Cat"},
                         "url": "https://github.com/acme/api/commit/d4e5f6a7b8c9"}]}).encode()
        github = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                  "X-Hub-Signature-256": "sha256=" + hmac.new(INBOUND.encode(), push, hashlib.sha256).hexdigest()}
        assert post(server, "/hooks/alerts", push, github)[0] == 202
        assert post(server, "/hooks/alerts", push, github)[0] == 202  # GitHub redelivers
        got = alice.read_until(r"Fix the flux capacitor.*?</message>")
        assert "octocat" in got and "acme/api" in got, got

        # Bad input: each refused with problem+json, nothing delivered.
        cases = [
            ("/hooks/alerts", {"body": "x"}, {"Authorization": "Bearer wrong"}, 401),
            ("/hooks/alerts", {"body": "x"}, {}, 401),
            ("/hooks/nosuch", {"body": "x"}, bearer(), 404),
            ("/hooks/alerts", b"{not json", bearer(), 400),
            ("/hooks/alerts", {"to": "nobody@localhost", "body": "x"}, bearer(), 404),
            ("/hooks/alerts", {"to": "someone@elsewhere.example", "body": "x"}, bearer(), 404),
        ]
        too_large = json.dumps({"body": "y" * 1_100_000}).encode()
        results = [post(server, path, body, headers) + (expected, path, headers) for path, body, headers, expected in cases]
        results.append(post_raw(server, "/hooks/alerts", too_large, bearer()) + (413, "/hooks/alerts", bearer()))
        for status, ctype, text, expected, path, headers in results:
            assert status == expected, (path, headers, status, text)
            assert ctype.startswith("application/problem+json"), (status, ctype, text)
            assert json.loads(text)["type"].startswith("urn:parley:problem:"), text
        # A wrong Standard Webhooks signature.
        body = json.dumps({"body": "forged"}).encode()
        headers = standard_signature("msg_forged", body)
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
        assert post(server, "/hooks/alerts", body, headers)[0] == 401
        alice.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        between = alice.read_until(r"<iq[^>]*id='p1'")
        assert "forged" not in between and "<body>x</body>" not in between, between
        assert "flux capacitor" not in between, "a GitHub redelivery was delivered twice"

        # Coming online races a message: a POST right after <presence/> may find no available
        # resource yet, and its message be stored while the session reads its offline messages.
        # It must reach that session anyway, once, and not wait for the next login.
        for i in range(100):
            racer = Raw(server.c2s_port)
            racer.open()
            racer.scram_login("bob", "pw-bob", resource=f"race{i}")
            racer.send("<presence/>")
            status, _, text = post(server, "/hooks/alerts", {"to": "bob@localhost", "body": f"race-{i}"}, bearer())
            assert status == 202, text
            got = racer.read_until(rf"race-{i}</body>", timeout=5)
            racer.send("<presence type='unavailable'/><iq type='get' id='rp' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
            got += racer.read_until(r"<iq[^>]*id='rp'")
            assert bodies(got).count(f"race-{i}") == 1, got
            racer.sock.close()

        # Offline: stored, delivered at login; a repeat with the same webhook-id once only.
        alice.sock.close()
        time.sleep(0.3)
        body = json.dumps({"body": "while you were away"}).encode()
        headers = standard_signature("msg_42", body)
        first = post(server, "/hooks/alerts", body, headers)
        again = post(server, "/hooks/alerts", body, standard_signature("msg_42", body))
        assert first[0] == 202 and again[0] == 202, (first, again)
        assert json.loads(first[2])["id"] == json.loads(again[2])["id"]
        assert json.loads(again[2]).get("duplicate") is True, again
        alice = login(server.c2s_port)
        got = alice.read_until(r"while you were away</body>.*?</message>")
        alice.send("<iq type='get' id='p2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        got += alice.read_until(r"<iq[^>]*id='p2'")
        assert bodies(got).count("while you were away") == 1, got

    # kill -9 in the middle of a burst of 1,000 POSTs to an offline user.
    with harness.Server(tls="disabled", extra_toml=config()) as server:
        server.add_user("alice", "pw-alice")
        accepted = []
        lock = threading.Lock()
        next_index = iter(range(1000))

        def worker():
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                try:
                    status, _, text = post(server, "/hooks/alerts", {"body": f"burst-{i}"}, bearer(), timeout=5)
                except OSError:
                    continue  # the server is gone: no 202, no promise
                if status == 202:
                    with lock:
                        accepted.append((i, json.loads(text)["id"]))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        deadline = time.time() + 60
        while time.time() < deadline:
            with lock:
                if len(accepted) >= 300:
                    break
            time.sleep(0.01)
        server.kill9()
        for t in threads:
            t.join()
        assert 300 <= len(accepted) < 1000, len(accepted)
        server.start()
        alice = login(server.c2s_port)
        alice.send("<iq type='get' id='done' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        got = alice.read_until(r"<iq[^>]*id='done'", timeout=60)
        ids = set(re.findall(r"<message[^>]*\sid='([0-9a-f]+)'", got))
        missing = [(i, sid) for i, sid in accepted if sid not in ids]
        assert not missing, f"{len(missing)} of {len(accepted)} accepted POSTs were lost, e.g. {missing[:5]}"
        print(f"kill -9 burst: {len(accepted)} POSTs accepted before the kill, all delivered after restart")


if __name__ == "__main__":
    harness.run(scenario)

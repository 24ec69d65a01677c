"""The webhook gateway, outbound: a message to NAME@hooks.localhost is POSTed as signed JSON
to a real local HTTP receiver, which checks the signatures on its own (Python's hmac). A 200
brings a receipt and the bot's reply; a 500 is retried; a hook that keeps failing ends in the
dead letters with a `wait` error to the sender; a 410 disables the hook with a `cancel`
error. Also service discovery, XEP-0100 and presence subscriptions to gateway contacts."""

import base64
import hashlib
import hmac
import http.server
import json
import re
import socket
import threading
import time

import harness
from rawxmpp import Raw

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """A real HTTP server on loopback that records every POST and answers per path."""

    def __init__(self, port=0):
        self.requests = []
        self.times = {}
        self.lock = threading.Lock()
        self.flaky_failures = 2
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers.items()), body))
                    receiver.times.setdefault(self.path, []).append(time.monotonic())
                    status, reply = receiver.answer(self.path)
                data = json.dumps(reply).encode() if reply is not None else b""
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "2")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path):
        if path == "/bot":
            return 200, {"reply": "pong"}
        if path == "/flaky":
            if self.flaky_failures > 0:
                self.flaky_failures -= 1
                return 500, None
            return 200, None
        if path == "/busy":
            self.busy_calls = getattr(self, "busy_calls", 0) + 1
            if self.busy_calls == 1:
                return 429, None  # with Retry-After: 2, see below
            return 200, None
        if path == "/dead":
            return 500, None
        if path == "/gone":
            return 410, None
        return 404, None

    def posts(self, path):
        with self.lock:
            return [r for r in self.requests if r[0] == path]


def verify_standard_webhooks(headers, body):
    """The Standard Webhooks check, written independently of Parley."""
    lower = {k.lower(): v for k, v in headers.items()}
    key = base64.b64decode(SECRET[len("whsec_"):])
    signed = f"{lower['webhook-id']}.{lower['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert expected in lower["webhook-signature"].split(" "), (expected, lower["webhook-signature"])
    assert abs(int(lower["webhook-timestamp"]) - time.time()) < 300
    github = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert lower["x-hub-signature-256"] == github, (lower["x-hub-signature-256"], github)


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def login(port):
    r = Raw(port)
    r.open()
    r.scram_login("alice", "pw-alice", resource="phone")
    r.send("<presence/>")
    return r


def scenario():
    receiver = Receiver()
    url = f"http://127.0.0.1:{receiver.port}"
    gateway = f"""
[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
allow_private_addresses = true
max_attempts = 3
retry_base_ms = 100
retry_max_ms = 400
timeout_seconds = 5
[[gateway.hook]]
name = "bot"
url = "{url}/bot"
secret = "{SECRET}"
github_signature = true
[[gateway.hook]]
name = "flaky"
url = "{url}/flaky"
[[gateway.hook]]
name = "busy"
url = "{url}/busy"
[[gateway.hook]]
name = "dead"
url = "{url}/dead"
[[gateway.hook]]
name = "gone"
url = "{url}/gone"
"""
    with harness.Server(tls="disabled", extra_toml=gateway) as server:
        server.add_user("alice", "pw-alice")
        alice = login(server.c2s_port)

        # Service discovery and XEP-0100.
        alice.send("<iq type='get' id='d1' to='hooks.localhost'>"
                   "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        info = alice.read_until(r"<iq[^>]*id='d1'.*?</iq>")
        assert "category='gateway'" in info and "type='http'" in info, info
        assert "jabber:iq:gateway" in info, info
        alice.send("<iq type='set' id='g1' to='hooks.localhost'>"
                   "<query xmlns='jabber:iq:gateway'><prompt>Bot</prompt></query></iq>")
        translated = alice.read_until(r"<iq[^>]*id='g1'.*?</iq>")
        assert "<jid>bot@hooks.localhost</jid>" in translated, translated
        alice.send("<iq type='set' id='g2' to='hooks.localhost'>"
                   "<query xmlns='jabber:iq:gateway'><prompt>nosuchhook</prompt></query></iq>")
        assert "item-not-found" in alice.read_until(r"<iq[^>]*id='g2'.*?</iq>")

        # A gateway contact approves a subscription at once and shows as available.
        alice.send("<presence to='bot@hooks.localhost' type='subscribe'/>")
        got = alice.read_until(r"<presence[^>]*from='bot@hooks.localhost'[^>]*type='subscribed'[^>]*/>"
                               r"|<presence[^>]*type='subscribed'[^>]*from='bot@hooks.localhost'[^>]*/>")
        alice.read_until(r"<presence from='bot@hooks.localhost'[^>]*/>")
        alice.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        roster = alice.read_until(r"<iq[^>]*id='r1'.*?</iq>")
        assert re.search(r"jid='bot@hooks.localhost'[^>]*subscription='to'|subscription='to'[^>]*jid='bot@hooks.localhost'",
                         roster), roster

        # A delivered message: signed JSON, a receipt, and the bot's reply.
        alice.send("<message to='bot@hooks.localhost' type='chat' id='m1'><body>ping</body>"
                   "<thread>t-1</thread><request xmlns='urn:xmpp:receipts'/></message>")
        received = alice.read_until(r"<received xmlns='urn:xmpp:receipts' id='m1'/>")
        reply = alice.read_until(r"pong</body>.*?</message>")
        assert "from='bot@hooks.localhost'" in reply and "<thread>t-1</thread>" in reply, reply
        (path, headers, body), = receiver.posts("/bot")
        verify_standard_webhooks(headers, body)
        payload = json.loads(body)
        assert payload["from"] == "alice@localhost" and payload["to"] == "bot@hooks.localhost", payload
        assert payload["body"] == "ping" and payload["id"] == "m1" and payload["thread"] == "t-1", payload
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", payload["timestamp"]), payload

        # The same message sent again (say, after a lost ack) goes out only once.
        alice.send("<message to='bot@hooks.localhost' type='chat' id='m1'><body>ping</body>"
                   "<thread>t-1</thread></message>")
        alice.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        alice.read_until(r"<iq[^>]*id='p1'")
        time.sleep(1.5)
        assert len(receiver.posts("/bot")) == 1, receiver.posts("/bot")

        # 500 twice, then 200: retried with the same webhook-id, then a receipt.
        alice.send("<message to='flaky@hooks.localhost' type='chat' id='m2'><body>retry me</body>"
                   "<request xmlns='urn:xmpp:receipts'/></message>")
        alice.read_until(r"<received xmlns='urn:xmpp:receipts' id='m2'/>", timeout=20)
        posts = receiver.posts("/flaky")
        assert len(posts) == 3, len(posts)
        assert len({p[1]["webhook-id"] for p in posts}) == 1, [p[1]["webhook-id"] for p in posts]

        # 429 with Retry-After: 2 is retried no sooner than that (the backoff alone is 100 ms).
        alice.send("<message to='busy@hooks.localhost' type='chat' id='mb'><body>later</body>"
                   "<request xmlns='urn:xmpp:receipts'/></message>")
        alice.read_until(r"<received xmlns='urn:xmpp:receipts' id='mb'/>", timeout=20)
        first, second = receiver.times["/busy"][:2]
        assert second - first >= 1.9, second - first

        # Always 500: dead letter after max_attempts, and a wait error that says why.
        alice.send("<message to='dead@hooks.localhost' type='chat' id='m3'><body>nobody home</body></message>")
        error = alice.read_until(r"<message[^>]*id='m3'.*?</message>", timeout=20)
        assert "type='error'" in error and "type='wait'" in error, error
        assert "gave up after 3 attempts" in error and "500" in error, error
        assert len(receiver.posts("/dead")) == 3

        # 410 Gone: a cancel error, and the hook is disabled.
        alice.send("<message to='gone@hooks.localhost' type='chat' id='m4'><body>hello?</body></message>")
        error = alice.read_until(r"<message[^>]*id='m4'.*?</message>", timeout=20)
        assert "type='cancel'" in error and "410" in error, error
        alice.send("<message to='gone@hooks.localhost' type='chat' id='m5'><body>again</body></message>")
        error = alice.read_until(r"<message[^>]*id='m5'.*?</message>")
        assert "<gone" in error and "disabled" in error, error
        assert len(receiver.posts("/gone")) == 1

        # An unknown hook is refused at once.
        alice.send("<message to='nosuch@hooks.localhost' type='chat' id='m6'><body>?</body></message>")
        assert "item-not-found" in alice.read_until(r"<message[^>]*id='m6'.*?</message>")

    # The outbox survives kill -9: a message committed while its receiver is down is sent
    # after parleyd is killed and started again.
    later = Receiver()
    later.server.shutdown()
    later.server.server_close()  # nothing listens on its port for now
    down_config = (gateway.replace(f"{url}/flaky", f"http://127.0.0.1:{later.port}/flaky")
                   .replace("retry_base_ms = 100", "retry_base_ms = 1000")
                   .replace("max_attempts = 3", "max_attempts = 50"))
    with harness.Server(tls="disabled", extra_toml=down_config) as server:
        server.add_user("alice", "pw-alice")
        alice = login(server.c2s_port)
        alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<enabled[^>]*/>")
        alice.send("<message to='flaky@hooks.localhost' type='chat' id='k1'><body>survive</body></message>")
        alice.send("<r xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='1'/>")  # acknowledged means committed
        server.kill9()
        back = Receiver(port=later.port)
        back.flaky_failures = 0
        server.start()
        wait_for(lambda: len(back.posts("/flaky")) >= 1, 30, "the committed message to be sent after kill -9")
        body = json.loads(back.posts("/flaky")[0][2])
        assert body["id"] == "k1" and body["body"] == "survive", body

    # A message whose attempt is under way when parleyd is killed (the receiver took the
    # request and has not answered) is claimed by a process that is gone. It goes out again
    # right after the restart, not when that claim's lease (2 x timeout + 30 s = 40 s here)
    # runs out.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent.settimeout(20)
    silent_port = silent.getsockname()[1]
    hang_config = gateway.replace(f"{url}/flaky", f"http://127.0.0.1:{silent_port}/flaky")
    with harness.Server(tls="disabled", extra_toml=hang_config) as server:
        server.add_user("alice", "pw-alice")
        alice = login(server.c2s_port)
        alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<enabled[^>]*/>")
        alice.send("<message to='flaky@hooks.localhost' type='chat' id='k2'><body>in flight</body></message>")
        alice.send("<r xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='1'/>")
        conn, _ = silent.accept()  # the attempt is under way: parleyd connected and sends
        conn.settimeout(20)
        request = b""
        while b"in flight" not in request:
            chunk = conn.recv(65536)
            assert chunk, request
            request += chunk
        server.kill9()
        conn.close()
        silent.close()
        back = Receiver(port=silent_port)
        back.flaky_failures = 0
        restarted = time.time()
        server.start()
        wait_for(lambda: len(back.posts("/flaky")) >= 1, 20, "the message in flight at kill -9 to be sent again")
        assert time.time() - restarted < 20
        body = json.loads(back.posts("/flaky")[0][2])
        assert body["id"] == "k2" and body["body"] == "in flight", body
        with open(server.log_path, "rb") as f:
            assert b"go out again" in f.read(), "the release of the dead process's claim is logged"


if __name__ == "__main__":
    harness.run(scenario)

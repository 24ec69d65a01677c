"""Prometheus metrics and health probes. The probes answer: /health/live and /health/ready
with 200 (and /health as before). Two users chat, a webhook gateway delivers one message,
retries and then buries another, and an inbound webhook reaches a user; then /metrics, in the
text format 0.0.4, shows the session gauge, stanza counters, the routing histogram, gateway
deliveries by result, the outbox depth, storage latency and HTTP requests by route pattern,
method and status. A request with an invented method counts as method "other", so a client
cannot add label values of its own."""

import http.server
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import harness
import xmpp

INBOUND = "s3cret-inbound"


class Receiver:
    """The far side of the outbound webhooks: /ok answers 200, /fail 500."""

    def __init__(self):
        self.posts = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append(self.path)
                self.send_response(200 if self.path == "/ok" else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def request(server, path, method="GET", body=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{server.http_port}{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def raw_request(server, line):
    """Sends one request line of our own making; returns the status."""
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as s:
        s.sendall(f"{line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


class Metrics:
    """One scrape, parsed strictly: every sample belongs to a family announced by HELP and
    TYPE before it, and every line is well formed."""

    def __init__(self, text):
        assert text.endswith("\n"), "the exposition must end with a newline"
        self.types = {}
        self.samples = {}
        family = None
        for line in text.splitlines():
            if line.startswith("# HELP "):
                family = line.split(" ", 3)[2]
                assert family not in self.types, f"{family} appears twice"
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                assert name == family, f"TYPE {name} without its HELP"
                assert kind in ("counter", "gauge", "histogram"), line
                self.types[name] = kind
                continue
            m = SAMPLE.match(line)
            assert m, f"malformed sample line: {line!r}"
            name, labels, value = m.groups()
            base = re.sub(r"_(bucket|sum|count)$", "", name) if self.types.get(family) == "histogram" else name
            assert base == family, f"{name} outside its family {family}"
            parsed = {}
            if labels:
                consumed = "".join(x.group(0) for x in LABEL.finditer(labels))
                assert consumed == labels, f"malformed labels: {labels!r}"
                parsed = {k: v for k, v, _ in LABEL.findall(labels)}
            key = (name, frozenset(parsed.items()))
            assert key not in self.samples, f"duplicate sample {line!r}"
            self.samples[key] = float(value)

    def get(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name, **labels):
        """The sum over every series of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, l), v in self.samples.items() if n == name and want <= set(l))

    def check_histogram(self, name, **labels):
        """Cumulative buckets, +Inf equal to _count; returns _count."""
        buckets = sorted(((float(dict(l)["le"]), v) for (n, l), v in self.samples.items()
                          if n == name + "_bucket" and set(labels.items()) <= set(l)
                          and len(l) == len(labels) + 1), key=lambda b: b[0])
        assert buckets and buckets[-1][0] == float("inf"), (name, buckets)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), f"{name}: buckets not cumulative: {counts}"
        count = self.get(name + "_count", **labels)
        assert counts[-1] == count, (name, counts[-1], count)
        assert self.get(name + "_sum", **labels) >= 0
        return count


def scrape(server):
    status, ctype, body = request(server, "/metrics")
    assert status == 200, (status, body)
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    return Metrics(body)


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def scenario():
    receiver = Receiver()
    gateway = f"""
[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
allow_private_addresses = true
max_attempts = 2
retry_base_ms = 100
retry_max_ms = 200
timeout_seconds = 5
[[gateway.hook]]
name = "ok"
url = "http://127.0.0.1:{receiver.port}/ok"
[[gateway.hook]]
name = "fail"
url = "http://127.0.0.1:{receiver.port}/fail"
[[gateway.hook]]
name = "alerts"
inbound_secret = "{INBOUND}"
recipient = "bob@localhost"
"""
    with harness.Server(tls="required", extra_toml=gateway) as server:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")

        # The probes.
        status, ctype, body = request(server, "/health/live")
        assert status == 200 and json.loads(body) == {"status": "ok"}, (status, body)
        assert ctype.startswith("application/json"), ctype
        status, _, body = request(server, "/health/ready")
        assert status == 200 and json.loads(body)["status"] == "ok", (status, body)
        status, _, body = request(server, "/health")
        assert status == 200 and json.loads(body)["storage"] == "ok", (status, body)

        # Before anyone logs in: every family is there, at 0.
        before = scrape(server)
        for name, kind in [("parley_sessions", "gauge"), ("parley_stanzas_in_total", "counter"),
                           ("parley_stanzas_out_total", "counter"),
                           ("parley_route_duration_seconds", "histogram"),
                           ("parley_gateway_deliveries_total", "counter"), ("parley_outbox_items", "gauge"),
                           ("parley_storage_duration_seconds", "histogram"),
                           ("parley_storage_queue_wait_seconds", "histogram"),
                           ("parley_http_requests_total", "counter"),
                           ("parley_http_request_duration_seconds", "histogram")]:
            assert before.types.get(name) == kind, (name, before.types.get(name))
        assert before.get("parley_sessions") == 0
        for t in ("message", "presence", "iq"):
            assert before.get("parley_stanzas_in_total", type=t) == 0, t
        for result in ("delivered", "retry", "dead"):
            assert before.get("parley_gateway_deliveries_total", gateway="hooks.localhost", provider="webhook",
                              result=result) == 0, result
        for state in ("pending", "claimed", "dead"):
            assert before.get("parley_outbox_items", gateway="hooks.localhost", state=state) == 0, state
        assert before.get("parley_http_requests_total", route="/health/ready", method="GET", status="200") == 1

        # Two users chat.
        alice = xmpp.Client("alice@localhost/desk", "alice-pw")
        bob = xmpp.Client("bob@localhost/phone", "bob-pw")
        assert alice.login(server.c2s_port) and bob.login(server.c2s_port)
        assert scrape(server).get("parley_sessions") == 2
        for i in range(3):
            alice.send_message(mto="bob@localhost", mbody=f"hello {i}", mtype="chat")
            assert bob.next_message()["body"] == f"hello {i}"
        for i in range(2):
            bob.send_message(mto="alice@localhost/desk", mbody=f"hi {i}", mtype="chat")
            assert alice.next_message()["body"] == f"hi {i}"
        xmpp.run(alice["xep_0199"].ping("localhost", timeout=10))

        # The gateway: one delivered, one retried once and then dead (with an error to alice).
        alice.send_message(mto="ok@hooks.localhost", mbody="to the far side", mtype="chat")
        alice.send_message(mto="fail@hooks.localhost", mbody="this one fails", mtype="chat")
        err = alice.next_message(timeout=20)
        assert err["type"] == "error" and str(err["from"]).startswith("fail@hooks.localhost"), err
        wait_for(lambda: "/ok" in receiver.posts, 10, "the delivery to /ok")
        # Inbound: a POST to /hooks/alerts reaches bob.
        status, _, body = request(server, "/hooks/alerts", "POST", json.dumps({"body": "disk full"}).encode(),
                                  {"Authorization": f"Bearer {INBOUND}", "Content-Type": "application/json"})
        assert status == 202, (status, body)
        assert bob.next_message()["body"] == "disk full"

        # Requests that no route takes.
        assert request(server, "/no/such/thing")[0] == 404
        assert raw_request(server, "BREW /metrics HTTP/1.1") == 405
        assert raw_request(server, "FROB /metrics HTTP/1.1") == 405

        def settled():
            # The delivered item is marked done in storage just after it is counted.
            m = scrape(server)
            return (m.get("parley_gateway_deliveries_total", gateway="hooks.localhost", provider="webhook",
                          result="delivered") == 1
                    and m.get("parley_outbox_items", gateway="hooks.localhost", state="claimed") == 0)
        wait_for(settled, 10, "the outbox to settle")

        m = scrape(server)
        assert m.get("parley_sessions") == 2
        sent_in = {t: m.get("parley_stanzas_in_total", type=t) for t in ("message", "presence", "iq")}
        # 5 chat messages and 2 to the gateway; the initial presence of both; alice's ping.
        assert sent_in["message"] == 7, sent_in
        assert sent_in["presence"] >= 2 and sent_in["iq"] >= 1, sent_in
        out = {t: m.get("parley_stanzas_out_total", type=t) for t in ("message", "presence", "iq")}
        # bob: 3 + the inbound webhook; alice: 2 + the error from the gateway.
        assert out["message"] >= 7, out
        assert out["presence"] >= 2 and out["iq"] >= 1, out

        routed = m.check_histogram("parley_route_duration_seconds")
        assert routed >= sum(sent_in.values()), (routed, sent_in)

        gw = dict(gateway="hooks.localhost", provider="webhook")
        assert m.get("parley_gateway_deliveries_total", result="delivered", **gw) == 1
        assert m.get("parley_gateway_deliveries_total", result="retry", **gw) == 1
        assert m.get("parley_gateway_deliveries_total", result="dead", **gw) == 1
        assert m.get("parley_outbox_items", gateway="hooks.localhost", state="dead") == 1
        assert m.get("parley_outbox_items", gateway="hooks.localhost", state="pending") == 0
        assert m.get("parley_outbox_items", gateway="hooks.localhost", state="claimed") == 0

        assert m.check_histogram("parley_storage_duration_seconds") > 0
        assert m.check_histogram("parley_storage_queue_wait_seconds") > 0

        assert m.get("parley_http_requests_total", route="/health/live", method="GET", status="200") == 1
        assert m.get("parley_http_requests_total", route="/health/ready", method="GET", status="200") == 1
        assert m.get("parley_http_requests_total", route="/health", method="GET", status="200") == 1
        assert m.get("parley_http_requests_total", route="/hooks/{name}", method="POST", status="202") == 1
        assert m.get("parley_http_requests_total", route="unmatched", method="GET", status="404") == 1
        assert m.get("parley_http_requests_total", route="unmatched", method="other", status="405") == 2
        assert m.total("parley_http_requests_total", route="/metrics", method="GET", status="200") >= 3
        assert not any(dict(l).get("method") in ("BREW", "FROB") for (_, l) in m.samples), "client-chosen label"
        assert m.check_histogram("parley_http_request_duration_seconds", route="/metrics", method="GET") >= 3
        assert m.check_histogram("parley_http_request_duration_seconds", route="/hooks/{name}", method="POST") == 1

        alice.close()
        bob.close()
        wait_for(lambda: scrape(server).get("parley_sessions") == 0, 10, "the session gauge to drop to 0")


if __name__ == "__main__":
    harness.run(scenario)

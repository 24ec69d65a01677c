"""External authentication: [auth] backend = "http" against a real HTTP service on loopback
(Python's http.server in a thread), which knows the users and their passwords.

Over TLS only PLAIN is offered (no SCRAM: nothing is stored to do it with), and in-band
registration and password changes are refused. The right password logs in, a wrong one is
not-authorized. A 500, a service that answers only after parleyd's timeout, and a service that
is gone all give <temporary-auth-failure/> and never a login, except for a password the
service confirmed within cache_seconds. A message to a user the service knows but who never
logged in is stored and delivered at their first login. With [c2s] tls = "optional" STARTTLS
becomes required; with "disabled" PLAIN is offered in the clear."""

import base64
import http.server
import re
import ssl
import threading
import time
import urllib.parse

import harness
import xmpp
from rawxmpp import Raw

TOKEN_ENV = "PARLEY_E2E_AUTH_TOKEN"
TOKEN = "e2e-bearer-7f3a"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
REG = "jabber:iq:register"
SASL_OUTCOME = r"<success[^>]*/>|<success[^>]*>.*?</success>|<failure.*?</failure>"


class Backend:
    """The authentication service: POST /xmpp/check_password, GET /xmpp/user_exists.
    mode "ok" answers, "error" answers 500, "hang" answers "true" only after 3 s (parleyd
    gives up after 1 s, so a late yes must not count)."""

    def __init__(self, port=0):
        self.users = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}
        self.mode = "ok"
        self.calls = []
        self.lock = threading.Lock()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, params):
                with backend.lock:
                    backend.calls.append((self.command, self.path, params, dict(self.headers.items())))
                    mode = backend.mode
                if mode == "hang":
                    time.sleep(3)
                    self.reply(200, "true")
                    return
                if mode == "error":
                    self.reply(500, "database is on fire")
                    return
                path = urllib.parse.urlsplit(self.path).path
                user = params.get("user", [""])[0]
                known = params.get("server", [""])[0] == "localhost" and user in backend.users
                if path == "/xmpp/check_password" and self.command == "POST":
                    ok = known and backend.users[user] == params.get("pass", [""])[0]
                    self.reply(200, "true" if ok else "false")
                elif path == "/xmpp/user_exists" and self.command == "GET":
                    self.reply(200, "true\n" if known else "false\n")
                else:
                    self.reply(404, "no such method")

            def reply(self, status, text):
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # parleyd gave up on a hanging call and closed the connection

            def do_GET(self):
                self.answer(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                self.answer(urllib.parse.parse_qs(body))

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.server = Quiet(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        """Gone: from now on, connections to its port are refused."""
        self.server.shutdown()
        self.server.server_close()

    def call_count(self):
        with self.lock:
            return len(self.calls)

    def calls_to(self, method):
        with self.lock:
            return [c for c in self.calls if urllib.parse.urlsplit(c[1]).path == "/xmpp/" + method]


def auth_toml(backend, cache_seconds=30):
    return f"""
[auth]
backend = "http"
url = "http://127.0.0.1:{backend.port}/xmpp/"
timeout_seconds = 1
cache_seconds = {cache_seconds}
allow_private_addresses = true
auth_token_env = "{TOKEN_ENV}"
"""


def make_server(backend, tls, cache_seconds=30):
    server = harness.Server(extra_toml=auth_toml(backend, cache_seconds), tls=tls)
    server.env[TOKEN_ENV] = TOKEN
    return server


def tls_raw(server):
    """A raw stream over XEP-0368 direct TLS, with the harness's TLS settings (the server's
    certificate is self-signed)."""
    raw = Raw(server.direct_tls_port)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw.sock = context.wrap_socket(raw.sock, server_hostname="localhost")
    return raw


def mechanisms(features):
    return re.findall(r"<mechanism>([^<]*)</mechanism>", features)


def plain(raw, user, password):
    payload = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    raw.send(f"<auth xmlns='{SASL}' mechanism='PLAIN'>{payload}</auth>")
    return raw.read_until(SASL_OUTCOME)


def plain_over_tls(server, user, password):
    """Opens a fresh TLS stream and tries PLAIN; returns the outcome and how long it took."""
    raw = tls_raw(server)
    raw.open()
    started = time.monotonic()
    outcome = plain(raw, user, password)
    return outcome, time.monotonic() - started, raw


def bind(raw, resource="raw"):
    raw.open()
    raw.send(f"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
             f"<resource>{resource}</resource></bind></iq>")
    return re.search(r"<jid>([^<]*)</jid>", raw.read_until(r"<iq[^>]*id='b1'.*?</iq>")).group(1)


def iq_reply(raw, iq_id):
    return raw.read_until(rf"<iq[^>]*id='{iq_id}'[^>]*/>|<iq[^>]*id='{iq_id}'.*?</iq>")


def check_offer_and_refusals(server):
    raw = tls_raw(server)
    features = raw.open()
    assert mechanisms(features) == ["PLAIN"], f"only PLAIN may be offered: {features}"
    assert "sasl-channel-binding" not in features and "iq-register" not in features, features
    # SCRAM is refused even when asked for: there are no stored keys.
    first = base64.b64encode(b"n,,n=alice,r=abcdefghijkl").decode()
    raw.send(f"<auth xmlns='{SASL}' mechanism='SCRAM-SHA-256'>{first}</auth>")
    assert "<invalid-mechanism" in raw.read_until(SASL_OUTCOME)
    # In-band registration: the accounts live in the service.
    raw.send(f"<iq type='set' id='r1'><query xmlns='{REG}'><username>mallory</username>"
             f"<password>x</password></query></iq>")
    assert "<not-allowed " in iq_reply(raw, "r1")

    # Before STARTTLS nothing is offered at all ([c2s] tls = "required").
    clear = Raw(server.c2s_port)
    features = clear.open()
    assert "<required" in features and mechanisms(features) == [], features


def scenario_main():
    backend = Backend()
    with make_server(backend, "required") as server:
        check_offer_and_refusals(server)

        # The right password logs in (slixmpp, STARTTLS, PLAIN).
        alice = xmpp.Client("alice@localhost/desk", "alice-pw")
        assert alice.login(server.c2s_port), "alice could not log in"
        calls = backend.calls_to("check_password")
        assert calls, "the service was not asked"
        method, path, params, headers = calls[-1]
        assert method == "POST" and params == {"user": ["alice"], "server": ["localhost"], "pass": ["alice-pw"]}, calls
        assert headers.get("Authorization") == f"Bearer {TOKEN}", headers

        # A wrong password is refused, by slixmpp's account and on the wire.
        mallory = xmpp.Client("alice@localhost/evil", "not-her-password")
        assert not mallory.login(server.c2s_port), "a wrong password logged in"
        mallory.disconnect()
        outcome, _, _ = plain_over_tls(server, "alice", "wrong")
        assert "<not-authorized" in outcome, outcome
        outcome, _, _ = plain_over_tls(server, "nobody", "whatever")
        assert "<not-authorized" in outcome, outcome

        # bob exists only in the service and has never logged in: his message is stored.
        alice.send_message(mto="bob@localhost", mbody="while you were out", mtype="chat")
        alice.send_message(mto="nobody@localhost", mbody="anyone?", mtype="chat")
        err = alice.next_message()
        assert err["type"] == "error" and err["error"]["condition"] == "service-unavailable", err
        assert backend.calls_to("user_exists"), "user existence was not asked"
        bob = xmpp.Client("bob@localhost/phone", "bob-pw")
        assert bob.login(server.c2s_port), "bob could not log in"
        m = bob.next_message()
        assert m["body"] == "while you were out" and str(m["from"]) == "alice@localhost/desk", m
        assert "urn:xmpp:delay" in str(m), f"no XEP-0203 delay on an offline message: {m}"
        bob.close()

        # Password change and account removal are refused; the server does not advertise them.
        outcome, _, raw = plain_over_tls(server, "alice", "alice-pw")
        assert outcome.startswith("<success"), outcome
        assert bind(raw) == "alice@localhost/raw"
        raw.send(f"<iq type='set' id='c1'><query xmlns='{REG}'><username>alice</username>"
                 f"<password>new-pw</password></query></iq>")
        assert "<not-allowed " in iq_reply(raw, "c1")
        raw.send(f"<iq type='set' id='c2'><query xmlns='{REG}'><remove/></query></iq>")
        assert "<not-allowed " in iq_reply(raw, "c2")
        raw.send("<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        info = iq_reply(raw, "d1")
        assert "msgoffline" in info and REG not in info, info

        # The service fails with 500: no login for someone it has not confirmed lately...
        backend.mode = "error"
        outcome, _, _ = plain_over_tls(server, "carol", "carol-pw")
        assert "<temporary-auth-failure" in outcome, outcome
        # ...while alice, confirmed seconds ago, still gets in from the cache, without a call;
        before = backend.call_count()
        outcome, _, _ = plain_over_tls(server, "alice", "alice-pw")
        assert outcome.startswith("<success"), f"a cached login failed: {outcome}"
        assert backend.call_count() == before, "a cached answer still called the service"
        # but not with another password: that goes to the service, which cannot say.
        outcome, _, _ = plain_over_tls(server, "alice", "guess")
        assert "<temporary-auth-failure" in outcome, outcome

        # The service hangs past timeout_seconds: its late "true" does not count.
        backend.mode = "hang"
        outcome, took, _ = plain_over_tls(server, "carol", "carol-pw")
        assert "<temporary-auth-failure" in outcome, outcome
        assert 0.8 < took < 2.9, f"the timeout is 1 s, the failure came after {took:.1f} s"
        outcome, _, _ = plain_over_tls(server, "dave", "wrong-anyway")
        assert "<temporary-auth-failure" in outcome, outcome

        # The service is gone (connection refused).
        backend.stop()
        outcome, _, _ = plain_over_tls(server, "carol", "carol-pw")
        assert "<temporary-auth-failure" in outcome, outcome
        outcome, _, _ = plain_over_tls(server, "alice", "alice-pw")
        assert outcome.startswith("<success"), f"a cached login failed while the service is down: {outcome}"
        bob = xmpp.Client("bob@localhost/phone", "bob-pw")
        assert bob.login(server.c2s_port), "bob (cached) could not log in while the service is down"
        bob.close()
        alice.close()


def scenario_outage_without_cache():
    """cache_seconds = 0: nothing is remembered. While the service is gone, users who have
    logged in before (they have a local account) still get their messages stored; for others
    the sender gets a `wait` error. Nobody logs in until the service is back."""
    backend = Backend()
    with make_server(backend, "required", cache_seconds=0) as server:
        alice = xmpp.Client("alice@localhost/desk", "alice-pw")
        assert alice.login(server.c2s_port), "alice could not log in"
        bob = xmpp.Client("bob@localhost/phone", "bob-pw")
        assert bob.login(server.c2s_port), "bob could not log in"
        bob.close()

        backend.stop()
        outcome, _, _ = plain_over_tls(server, "bob", "bob-pw")
        assert "<temporary-auth-failure" in outcome, f"no cache, no service, yet: {outcome}"
        alice.send_message(mto="bob@localhost", mbody="during the outage", mtype="chat")
        # dave was never confirmed: whether to keep his message cannot be decided now.
        alice.send_message(mto="dave@localhost", mbody="hello?", mtype="chat")
        err = alice.next_message()
        assert err["type"] == "error" and str(err["from"]) == "dave@localhost", err
        assert err["error"]["type"] == "wait", err
        alice.close()

        backend = Backend(backend.port)
        try:
            bob = xmpp.Client("bob@localhost/phone", "bob-pw")
            assert bob.login(server.c2s_port), "bob could not log in once the service was back"
            m = bob.next_message()
            assert m["body"] == "during the outage", m
            bob.close()
        finally:
            backend.stop()


def scenario_tls_modes():
    backend = Backend()
    try:
        # "optional": PLAIN needs TLS and is the only mechanism, so STARTTLS is required.
        with make_server(backend, "optional") as server:
            raw = Raw(server.c2s_port)
            features = raw.open()
            assert "<required" in features and mechanisms(features) == [], features
            assert "<encryption-required" in plain(raw, "alice", "alice-pw")
            alice = xmpp.Client("alice@localhost/desk", "alice-pw")
            assert alice.login(server.c2s_port), "alice could not log in after STARTTLS"
            alice.close()
        # "disabled" (loopback tests, or TLS ended by a proxy): PLAIN in the clear.
        with make_server(backend, "disabled") as server:
            raw = Raw(server.c2s_port)
            features = raw.open()
            assert mechanisms(features) == ["PLAIN"] and "starttls" not in features, features
            assert plain(raw, "alice", "alice-pw").startswith("<success")
            assert bind(raw) == "alice@localhost/raw"
    finally:
        backend.stop()


def scenario():
    scenario_main()
    scenario_outage_without_cache()
    scenario_tls_modes()


if __name__ == "__main__":
    harness.run(scenario)

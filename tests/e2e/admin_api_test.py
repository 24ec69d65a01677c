"""The admin REST API end to end: every route of the OpenAPI document exists and every route
is documented; tokens (401 without, 403 with the wrong scope); users, sessions (kick), roster
(with a roster push to the online client), messages (Idempotency-Key), offline messages,
gateways, registrations, the outbox (a dead letter retried and delivered, with its timeline),
webhooks created, used, rotated and deleted at run time, stats, audit lines; parleyctl against
the running server; and the API on a listener of its own."""

import http.server
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import harness
from rawxmpp import Raw


class Receiver:
    """A local HTTP endpoint: /flaky answers 400 until `healthy` is set, then 200."""

    def __init__(self):
        self.healthy = threading.Event()
        self.posts = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append((self.path, body))
                status = 200 if receiver.healthy.is_set() or self.path != "/flaky" else 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Api:
    def __init__(self, port, token=None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def call(self, method, path, body=None, token="default", headers=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        token = self.token if token == "default" else token
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=20) as r:
                raw = r.read().decode()
                return r.status, dict(r.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read().decode()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return e.code, dict(e.headers), parsed


def expect(result, status, problem_type=None):
    code, headers, body = result
    assert code == status, f"expected {status}, got {code}: {body}"
    if problem_type is not None:
        assert headers.get("Content-Type", "").startswith("application/problem+json"), headers
        assert body["type"] == f"urn:parley:problem:{problem_type}", body
        assert body["status"] == status, body
    return body


def login(port, user, password, resource="raw"):
    c = Raw(port)
    c.open()
    c.scram_login(user, password, resource)
    c.send("<iq type='get' id='r0'><query xmlns='jabber:iq:roster'/></iq>")
    c.read_until(r"<iq[^>]*id='r0'")
    c.send("<presence/>")
    return c


def scenario():
    receiver = Receiver()
    gateway = f"""
[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
allow_private_addresses = true
max_attempts = 1
retry_base_ms = 100
timeout_seconds = 5
[[gateway.hook]]
name = "flaky"
url = "{receiver.url}/flaky"
"""
    with harness.Server(tls="disabled", extra_toml=gateway) as server:
        server.add_user("alice", "pw-alice")
        server.add_user("bob", "pw-bob")
        admin_token = server.ctl("token", "create", "--scope", "admin", "--description", "e2e").stdout.strip()
        read_token = server.ctl("token", "create", "--scope", "read").stdout.strip()
        assert re.fullmatch(r"pt_[0-9a-f]{16}_[0-9a-f]{64}", admin_token), admin_token
        api = Api(server.http_port, admin_token)
        reader = Api(server.http_port, read_token)

        # ---- OpenAPI: a valid 3.1 document; every documented route exists (no 404/405 from
        # the route table), and every route the server serves under /api/v1 is documented.
        status, _, doc = api.call("GET", "/api/v1/openapi.json", token=None)
        assert status == 200 and doc["openapi"].startswith("3.1"), doc
        documented = set()
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                documented.add((method.upper(), path))
                assert op["responses"], (method, path)
                concrete = re.sub(r"\{[^}]+\}", "x", path)
                code, _, body = api.call(method.upper(), concrete, body={} if method in ("post", "put") else None,
                                         token=None if path.endswith("openapi.json") else "nope")
                route_missing = isinstance(body, dict) and body.get("type") in (
                    "urn:parley:problem:not-found", "urn:parley:problem:method-not-allowed") and code in (404, 405)
                assert not route_missing, f"documented {method.upper()} {path} is not served: {code} {body}"
        # Probing paths that are not documented must give the router's 404.
        expect(api.call("GET", "/api/v1/nothing-here"), 404, "not-found")
        expect(api.call("PATCH", "/api/v1/users"), 405, "method-not-allowed")

        # ---- auth
        r = api.call("GET", "/api/v1/users", token=None)
        expect(r, 401, "unauthorized")
        assert r[1].get("WWW-Authenticate", "").startswith("Bearer"), r[1]
        expect(api.call("GET", "/api/v1/users", token="pt_0000000000000000_" + "0" * 64), 401, "unauthorized")
        expect(api.call("GET", "/api/v1/users", token=admin_token[:-1] + ("0" if admin_token[-1] != "0" else "1")),
               401, "unauthorized")
        expect(reader.call("GET", "/api/v1/users"), 200)
        expect(reader.call("POST", "/api/v1/users", {"username": "eve", "password": "x"}), 403, "forbidden")
        expect(reader.call("GET", "/api/v1/tokens"), 403, "forbidden")

        # ---- users
        created = expect(api.call("POST", "/api/v1/users", {"username": "carol", "password": "pw-carol"}), 201)
        assert created["jid"] == "carol@localhost", created
        expect(api.call("POST", "/api/v1/users", {"username": "carol", "password": "again"}), 409, "user-exists")
        expect(api.call("POST", "/api/v1/users", {"username": "dave"}), 400, "invalid-field")
        expect(api.call("POST", "/api/v1/users", b"{not json"), 400, "invalid-json")
        expect(api.call("POST", "/api/v1/users", {"username": "a@other.host", "password": "x"}), 404, "not-found")
        expect(api.call("POST", "/api/v1/users", {"username": "bad user\u0000", "password": "x"}), 400, "invalid-field")
        page = expect(api.call("GET", "/api/v1/users?limit=2"), 200)
        assert [u["username"] for u in page["items"]] == ["alice", "bob"], page
        page2 = expect(api.call("GET", "/api/v1/users?limit=2&cursor=" + page["next_cursor"]), 200)
        assert [u["username"] for u in page2["items"]] == ["carol"] and page2["next_cursor"] is None, page2
        expect(api.call("GET", "/api/v1/users?limit=0"), 400, "invalid-field")
        expect(api.call("GET", "/api/v1/users?limit=%zz"), 400, "invalid-request")
        expect(api.call("GET", "/api/v1/users/nobody"), 404, "not-found")
        expect(api.call("PUT", "/api/v1/users/carol/password", {"password": "pw-carol-2"}), 204)
        expect(api.call("PUT", "/api/v1/users/nobody/password", {"password": "x"}), 404, "not-found")
        carol = login(server.c2s_port, "carol", "pw-carol-2")  # the new password works
        carol.sock.close()

        # ---- sessions, roster push, kick
        alice = login(server.c2s_port, "alice", "pw-alice", "phone")
        alice2 = login(server.c2s_port, "alice", "pw-alice", "laptop")
        time.sleep(0.3)
        sessions = expect(api.call("GET", "/api/v1/users/alice/sessions"), 200)
        assert sorted(s["resource"] for s in sessions["items"]) == ["laptop", "phone"], sessions
        everyone = expect(api.call("GET", "/api/v1/sessions?limit=1"), 200)
        assert len(everyone["items"]) == 1 and everyone["next_cursor"], everyone
        rest = expect(api.call("GET", "/api/v1/sessions?cursor=" + urllib.parse.quote(everyone["next_cursor"])), 200)
        assert len(rest["items"]) == 1, rest

        item = expect(api.call("PUT", "/api/v1/users/alice/roster/bob@localhost",
                               {"name": "Bobby", "groups": ["Friends"], "subscription": "both"}), 200)
        assert item["subscription"] == "both" and item["groups"] == ["Friends"], item
        push = alice.read_until(r"<iq[^>]*type='set'.*?</iq>")
        assert "bob@localhost" in push and "Bobby" in push and "subscription='both'" in push, push
        roster = expect(api.call("GET", "/api/v1/users/alice/roster"), 200)
        assert [i["jid"] for i in roster["items"]] == ["bob@localhost"], roster
        expect(api.call("PUT", "/api/v1/users/alice/roster/bob@localhost", {"subscription": "maybe"}), 400,
               "invalid-field")
        expect(api.call("PUT", "/api/v1/users/alice/roster/not%20a%20jid@", {}), 400, "invalid-field")
        expect(api.call("DELETE", "/api/v1/users/alice/roster/bob@localhost"), 204)
        removed = alice.read_until(r"<iq[^>]*type='set'.*?</iq>")
        assert "subscription='remove'" in removed, removed
        expect(api.call("DELETE", "/api/v1/users/alice/roster/bob@localhost"), 404, "not-found")

        expect(api.call("DELETE", "/api/v1/users/alice/sessions/laptop"), 204)
        alice2.read_until(r"<policy-violation")
        expect(api.call("DELETE", "/api/v1/users/alice/sessions/laptop"), 404, "not-found")

        # ---- messages, Idempotency-Key
        sent = expect(api.call("POST", "/api/v1/messages",
                               {"from": "localhost", "to": "alice@localhost", "type": "headline", "body": "maintenance"},
                               headers={"Idempotency-Key": "k-1"}), 202)
        got = alice.read_until(r"<message[^>]*>.*?</message>")
        assert "maintenance" in got and "type='headline'" in got and sent["id"] in got, got
        again = api.call("POST", "/api/v1/messages",
                         {"from": "localhost", "to": "alice@localhost", "type": "headline", "body": "maintenance"},
                         headers={"Idempotency-Key": "k-1"})
        assert expect(again, 202)["id"] == sent["id"] and again[1].get("Idempotent-Replayed") == "true", again
        expect(api.call("POST", "/api/v1/messages", {"from": "localhost", "to": "alice@localhost", "body": "other"},
                        headers={"Idempotency-Key": "k-1"}), 422, "idempotency-key-reused")
        time.sleep(0.5)
        # Only one message arrived for the two identical requests.
        alice.send("<iq type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        between = alice.read_until(r"<iq[^>]*id='ping1'")
        assert "maintenance" not in between, between
        expect(api.call("POST", "/api/v1/messages", {"from": "mallory@evil.example", "to": "alice@localhost",
                                                     "body": "x"}), 422, "invalid-sender")
        expect(api.call("POST", "/api/v1/messages", {"from": "localhost", "to": "alice@localhost"}), 400,
               "invalid-field")
        expect(api.call("POST", "/api/v1/messages", {"from": "localhost", "to": "ghost@localhost", "body": "x"}),
               422, "message-refused")
        # From a gateway JID, to an offline user: stored, then counted, listed and purged.
        expect(api.call("POST", "/api/v1/messages",
                        {"from": "flaky@hooks.localhost", "to": "bob@localhost", "body": "while you were out"}), 202)
        assert expect(api.call("GET", "/api/v1/users/bob/offline/count"), 200) == {"count": 1}
        held = expect(api.call("GET", "/api/v1/users/bob/offline"), 200)
        assert "while you were out" in held["items"][0]["stanza"], held
        assert "flaky@hooks.localhost" in held["items"][0]["stanza"], held
        assert expect(api.call("DELETE", "/api/v1/users/bob/offline"), 200) == {"purged": 1}
        assert expect(api.call("GET", "/api/v1/users/bob/offline/count"), 200) == {"count": 0}
        expect(api.call("GET", "/api/v1/users/ghost/offline/count"), 404, "not-found")

        # ---- gateways, registrations
        gateways = expect(api.call("GET", "/api/v1/gateways"), 200)
        assert gateways["items"][0]["domain"] == "hooks.localhost" and gateways["items"][0]["kind"] == "webhook"
        expect(api.call("GET", "/api/v1/gateways/nope.localhost"), 404, "not-found")
        reg = expect(api.call("POST", "/api/v1/users/alice/registrations",
                              {"gateway": "hooks.localhost", "address": "Flaky"}), 201)
        assert reg["address"] == "flaky", reg
        expect(api.call("POST", "/api/v1/users/alice/registrations",
                        {"gateway": "hooks.localhost", "address": "flaky"}), 409, "conflict")
        expect(api.call("POST", "/api/v1/users/bob/registrations",
                        {"gateway": "hooks.localhost", "address": "flaky"}), 201)  # a team
        expect(api.call("POST", "/api/v1/users/alice/registrations",
                        {"gateway": "hooks.localhost", "address": "no-such-hook"}), 400, "invalid-address")
        expect(api.call("POST", "/api/v1/users/alice/registrations",
                        {"gateway": "nope.localhost", "address": "x"}), 404, "not-found")
        owners = expect(api.call("GET", "/api/v1/gateways/hooks.localhost/registrations"), 200)
        assert [(r["address"], r["owner"]) for r in owners["items"]] == [
            ("flaky", "alice@localhost"), ("flaky", "bob@localhost")], owners
        mine = expect(api.call("GET", "/api/v1/users/alice/registrations"), 200)
        assert mine["items"][0]["gateway"] == "hooks.localhost", mine
        expect(api.call("DELETE", "/api/v1/users/bob/registrations/hooks.localhost/flaky"), 204)
        expect(api.call("DELETE", "/api/v1/users/bob/registrations/hooks.localhost/flaky"), 404, "not-found")

        # ---- outbox: a message to the failing hook becomes a dead letter; retried once the
        # endpoint is healthy, it is delivered, and its timeline tells the story.
        alice.send("<message to='flaky@hooks.localhost' id='m-dead' type='chat'><body>to the flaky hook</body></message>")
        error = alice.read_until(r"<message[^>]*type='error'.*?</message>", timeout=20)
        assert "m-dead" in error, error
        dead = expect(api.call("GET", "/api/v1/gateways/hooks.localhost/outbox?state=dead"), 200)
        assert len(dead["items"]) == 1 and dead["items"][0]["destination"] == "flaky", dead
        item_id = dead["items"][0]["id"]
        shown = expect(api.call("GET", f"/api/v1/gateways/hooks.localhost/outbox/{item_id}"), 200)
        events = [e["event"] for e in shown["timeline"]]
        assert events[:2] == ["enqueued", "claimed"] and events[-1] == "buried", shown
        assert "m-dead" in shown["stanza"], shown
        expect(api.call("GET", "/api/v1/gateways/hooks.localhost/outbox/999999"), 404, "not-found")
        expect(api.call("GET", "/api/v1/gateways/hooks.localhost/outbox?state=sleeping"), 400, "invalid-field")
        receiver.healthy.set()
        expect(api.call("POST", f"/api/v1/gateways/hooks.localhost/outbox/{item_id}/retry"), 200)
        deadline = time.time() + 15
        while time.time() < deadline:
            done = expect(api.call("GET", "/api/v1/gateways/hooks.localhost/outbox?state=done"), 200)
            if done["items"]:
                break
            time.sleep(0.2)
        assert done["items"] and done["items"][0]["id"] == item_id, done
        assert any(b"to the flaky hook" in body for _, body in receiver.posts), receiver.posts
        timeline = [e["event"] for e in
                    expect(api.call("GET", f"/api/v1/gateways/hooks.localhost/outbox/{item_id}"), 200)["timeline"]]
        assert "revived" in timeline and timeline[-1] == "completed", timeline
        expect(api.call("POST", f"/api/v1/gateways/hooks.localhost/outbox/{item_id}/retry"), 409, "not-dead")
        expect(api.call("DELETE", "/api/v1/gateways/hooks.localhost/outbox?state=pending"), 400, "invalid-field")
        expect(api.call("DELETE", "/api/v1/gateways/hooks.localhost/outbox?state=done&before=yesterday"), 400,
               "invalid-field")
        purged = expect(api.call("DELETE", "/api/v1/gateways/hooks.localhost/outbox?state=done"), 200)
        assert purged["purged"] == 1, purged

        # ---- webhooks at run time: create (secrets shown once), use inbound, rotate, delete.
        hooks = expect(api.call("GET", "/api/v1/gateways/hooks.localhost/hooks"), 200)
        assert [(h["name"], h["source"]) for h in hooks["items"]] == [("flaky", "config")], hooks
        assert all("secret" not in h and "inbound_secret" not in h for h in hooks["items"]), hooks
        made = expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks",
                               {"name": "deploys", "recipient": "alice@localhost", "template": "json"}), 201)
        assert made["inbound_secret"] and made["inbound_url"] == "/hooks/deploys", made
        expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks", {"name": "deploys"}), 409, "conflict")
        expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks", {"name": "flaky"}), 409, "conflict")
        expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks", {"name": "Bad Name"}), 400, "invalid-field")
        expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks", {"name": "x", "url": "ftp://x"}), 400,
               "invalid-field")
        hook_post = Api(server.http_port)
        expect(hook_post.call("POST", "/hooks/deploys", {"text": "deployed v1"}, token=made["inbound_secret"]), 202)
        got = alice.read_until(r"<message[^>]*>.*?</message>")
        assert "deployed v1" in got and "deploys@hooks.localhost" in got, got
        rotated = expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks/deploys/rotate"), 200)
        assert rotated["inbound_secret"] != made["inbound_secret"], rotated
        expect(hook_post.call("POST", "/hooks/deploys", {"text": "old secret"}, token=made["inbound_secret"]), 401)
        expect(hook_post.call("POST", "/hooks/deploys", {"text": "deployed v2"}, token=rotated["inbound_secret"]), 202)
        assert "deployed v2" in alice.read_until(r"<message[^>]*>.*?</message>")
        expect(api.call("POST", "/api/v1/gateways/hooks.localhost/hooks/flaky/rotate"), 409, "defined-in-config")
        expect(api.call("DELETE", "/api/v1/gateways/hooks.localhost/hooks/flaky"), 409, "defined-in-config")
        expect(api.call("DELETE", "/api/v1/gateways/hooks.localhost/hooks/deploys"), 204)
        expect(hook_post.call("POST", "/hooks/deploys", {"text": "gone"}, token=rotated["inbound_secret"]), 404)
        expect(api.call("DELETE", "/api/v1/gateways/hooks.localhost/hooks/deploys"), 404, "not-found")

        # ---- rooms: created, joined, an affiliation set, listed, destroyed with a reason
        room = "ops@conference.localhost"
        made_room = expect(api.call("POST", "/api/v1/rooms", {"room": room, "owner": "bob@localhost",
                                                              "name": "Operations"}), 201)
        assert made_room["persistent"] is True, made_room
        expect(api.call("POST", "/api/v1/rooms", {"room": room, "owner": "bob@localhost"}), 409, "conflict")
        expect(api.call("POST", "/api/v1/rooms", {"room": "x@nowhere.localhost", "owner": "bob@localhost"}), 404,
               "not-found")
        expect(api.call("POST", "/api/v1/rooms", {"room": "not a room", "owner": "bob@localhost"}), 400,
               "invalid-field")
        alice.send(f"<presence to='{room}/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
        joined = alice.read_until(r"<presence[^>]*from='ops@conference.localhost/alice'.*?</presence>")
        assert "status code='110'" in joined or "code='110'" in joined, joined
        rooms = expect(api.call("GET", "/api/v1/rooms"), 200)
        listed = [r for r in rooms["items"] if r["jid"] == room]
        assert listed and listed[0]["occupants"] == 1 and listed[0]["name"] == "Operations", rooms
        expect(api.call("PUT", f"/api/v1/rooms/{room}/affiliations/carol@localhost", {"affiliation": "member"}), 204)
        expect(api.call("PUT", f"/api/v1/rooms/{room}/affiliations/carol@localhost", {"affiliation": "boss"}), 400,
               "invalid-field")
        expect(api.call("PUT", "/api/v1/rooms/nope@conference.localhost/affiliations/carol@localhost",
                        {"affiliation": "member"}), 404, "not-found")
        expect(api.call("DELETE", f"/api/v1/rooms/{room}?reason=moved&alternate=ops2@conference.localhost"), 204)
        gone = alice.read_until(r"<presence[^>]*type='unavailable'.*?</presence>")
        assert "<destroy" in gone and "moved" in gone and "ops2@conference.localhost" in gone, gone
        expect(api.call("DELETE", f"/api/v1/rooms/{room}"), 404, "not-found")

        # ---- tokens through the API
        listed = expect(api.call("GET", "/api/v1/tokens"), 200)
        assert {t["scope"] for t in listed["items"]} == {"admin", "read"}, listed
        extra = expect(api.call("POST", "/api/v1/tokens", {"scope": "read", "description": "temp"}), 201)
        expect(Api(server.http_port, extra["token"]).call("GET", "/api/v1/stats"), 200)
        expect(api.call("DELETE", f"/api/v1/tokens/{extra['id']}"), 204)
        expect(Api(server.http_port, extra["token"]).call("GET", "/api/v1/stats"), 401, "unauthorized")
        expect(api.call("POST", "/api/v1/tokens", {"scope": "root"}), 400, "invalid-field")

        # ---- stats
        stats = expect(api.call("GET", "/api/v1/stats"), 200)
        assert stats["sessions"] == 1 and stats["users_online"] == 1 and stats["users_registered"] == 3, stats
        assert "outbox:hooks.localhost" in stats["queues"], stats
        # Alice sent presence, iqs and a message; routing saw them and the API's messages.
        assert stats["stanzas"]["in"] >= 5 and stats["stanzas"]["out"] >= 5, stats
        assert stats["stanzas"]["routed"] >= stats["stanzas"]["in"], stats

        # ---- parleyctl against the running server
        env_token = {"PARLEY_API_TOKEN": admin_token}
        server.env.update(env_token)
        out = server.ctl("users", "list").stdout
        assert "alice" in out and "carol" in out and "USERNAME" in out, out
        out = server.ctl("--json", "users", "show", "alice").stdout
        assert json.loads(out)["jid"] == "alice@localhost", out
        server.ctl("users", "create", "erin", "--password", "pw-erin")
        assert "erin" in server.ctl("users", "list").stdout
        out = server.ctl("message", "send", "--from", "localhost", "--to", "alice@localhost", "hello from ctl").stdout
        assert "hello from ctl" in alice.read_until(r"<message[^>]*>.*?</message>"), out
        out = server.ctl("sessions", "list").stdout
        assert "alice@localhost/phone" in out, out
        failed = server.ctl("users", "show", "nobody", check=False)
        assert failed.returncode == 1 and "404" in failed.stderr, failed.stderr
        assert "hooks.localhost" in server.ctl("gateways", "list").stdout
        server.ctl("users", "delete", "erin")
        server.ctl("rooms", "create", "standup@conference.localhost", "bob@localhost", "--name", "Standup")
        assert "standup@conference.localhost" in server.ctl("rooms", "list").stdout
        server.ctl("rooms", "affiliation", "standup@conference.localhost", "carol@localhost", "admin")
        server.ctl("rooms", "destroy", "standup@conference.localhost", "--reason", "done")
        assert "standup@conference.localhost" not in server.ctl("rooms", "list").stdout
        del server.env["PARLEY_API_TOKEN"]
        no_token = server.ctl("stats", check=False)
        assert no_token.returncode == 1 and "token" in no_token.stderr, no_token.stderr

        # ---- deleting a user ends their sessions and removes their registrations
        expect(api.call("DELETE", "/api/v1/users/alice"), 204)
        alice.read_until(r"<not-authorized")
        expect(api.call("GET", "/api/v1/users/alice"), 404, "not-found")
        owners = expect(api.call("GET", "/api/v1/gateways/hooks.localhost/registrations"), 200)
        assert owners["items"] == [], owners

        server.stop()
        with open(server.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        audit = [line for line in log.splitlines() if "audit:" in line]
        assert any("POST /api/v1/users " in l and "created user carol@localhost" in l for l in audit), audit
        assert any("DELETE /api/v1/users/alice " in l and "status=204" in l for l in audit), audit
        assert all("token=" in l for l in audit), audit
        assert admin_token.split("_")[2] not in log, "a token secret reached the log"

    # ---- the API on a listener of its own: there only.
    admin_port = harness.free_port()
    with harness.Server(tls="disabled", extra_toml=f"[admin]\nport = {admin_port}\n") as server:
        token = server.ctl("token", "create", "--scope", "read").stdout.strip()
        harness.wait_for_port(admin_port)
        expect(Api(admin_port, token).call("GET", "/api/v1/stats"), 200)
        expect(Api(server.http_port, token).call("GET", "/api/v1/stats"), 404, "not-found")


if __name__ == "__main__":
    harness.run(scenario)

"""The SMS gateway with the twilio provider, against a fake Twilio written here from Twilio's
documented wire format: the Messages API (form POST with basic auth, JSON answers) and the
signed webhooks Twilio sends (X-Twilio-Signature, HMAC-SHA1 computed here with hmac).

An XMPP client sends and the fake sees the right From/To/Body; an SMS comes in and reaches
its owner from +E164@sms.localhost (live, offline at next login, and to every owner of a team
number); delivery reports become a receipt or an error with Twilio's code; MMS both ways (inbound
media re-hosted on the upload service);
repeats are deduplicated; a bad signature gets 403, an unknown number 404, and neither
delivers anything; a user without a number is told to register one; and a message committed
before kill -9 is sent after the restart."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import harness
from smsutil import DOMAIN, Api, login, message_from, quiet

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-" + secrets.token_hex(8)
TOKEN_ENV = "PARLEY_TEST_TWILIO_TOKEN"
# What parleyd believes Twilio calls it at (as behind a reverse proxy); Twilio signs this URL.
PUBLIC = "https://parley.example.test"
FAR = "+15557654321"  # a phone out in the world


def twilio_signature(token, url, params):
    """Twilio's "Webhooks security" algorithm: the URL, then each POST parameter's name and
    value sorted by name, HMAC-SHA1 with the auth token, base64."""
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class FakeTwilio:
    """The Messages API on loopback. Numbers ending in 0400 are refused (21211); while `down`
    is set every request gets 503."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []   # every create request: (status, form as a list of pairs)
        self.accepted = []   # the messages created: dicts with sid and the form fields
        self.down = False
        # MMS media the fake hands out, as Twilio does: GET of a media URL under the account
        # (basic auth when the account enforces it) answers 307 to a storage host (here
        # "localhost" instead of "127.0.0.1"), which serves the bytes and, like a presigned S3
        # URL, refuses a request that carries an Authorization header.
        self.media = {}        # media path -> (bytes, content type)
        self.stored = {}       # storage token -> (bytes, content type)
        self.media_gets = []   # (path, Authorization header or None) of every GET
        self.enforce_auth = True
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                status, headers, body = fake.get(self.path, self.headers)
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                form = urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)
                status, body, headers = fake.create(self.path, self.headers, form)
                with fake.lock:
                    fake.requests.append((status, form))
                self.answer(status, body, headers)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_media(self, data, content_type, message_sid="MM" + "0" * 32):
        """Serves `data` as a medium of a message; returns its Twilio-style media URL."""
        path = f"/2010-04-01/Accounts/{SID}/Messages/{message_sid}/Media/ME{secrets.token_hex(16)}"
        with self.lock:
            self.media[path] = (data, content_type)
        return self.url + path

    def get(self, path, headers):
        auth = headers.get("Authorization")
        with self.lock:
            self.media_gets.append((path, auth))
        port = self.server.server_address[1]
        if path.startswith("/storage/"):
            if auth is not None:
                return 400, [("Content-Type", "application/xml")], b"<Error><Code>InvalidArgument</Code>" \
                    b"<Message>Only one auth mechanism allowed</Message></Error>"
            found = self.stored.get(path[len("/storage/"):].split("?")[0])
            if found is None:
                return 404, [], b""
            return 200, [("Content-Type", found[1])], found[0]
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.enforce_auth and auth != expected:
            return 401, [("Content-Type", "application/json")], json.dumps(
                {"code": 20003, "message": "Authenticate", "status": 401}).encode()
        found = self.media.get(path)
        if found is None:
            return 404, [("Content-Type", "application/json")], json.dumps(
                {"code": 20404, "message": "The requested resource was not found", "status": 404}).encode()
        token = secrets.token_hex(16)
        with self.lock:
            self.stored[token] = found
        return 307, [("Location", f"http://localhost:{port}/storage/{token}?X-Amz-Signature=abc")], b""

    def create(self, path, headers, form):
        def error(status, code, message):
            return status, {"code": code, "message": message,
                            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}, []

        if path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return error(404, 20404, "The requested resource was not found")
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if headers.get("Authorization") != expected:
            return error(401, 20003, "Authenticate")
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return error(400, 20001, "form body expected")
        if self.down:
            return 503, {"code": 20500, "message": "Service Unavailable", "status": 503}, [("Retry-After", "1")]
        fields = dict(form)
        if "To" not in fields or "From" not in fields:
            return error(400, 21604, "A 'To' phone number is required.")
        if not fields.get("Body") and "MediaUrl" not in fields:
            return error(400, 21602, "Message body is required.")
        if fields["To"].endswith("0400"):
            return error(400, 21211, f"The 'To' number {fields['To']} is not a valid phone number.")
        sid = "SM" + secrets.token_hex(16)
        message = {"sid": sid, "account_sid": SID, "from": fields["From"], "to": fields["To"],
                   "body": fields.get("Body", ""), "media": [v for k, v in form if k == "MediaUrl"],
                   "status_callback": fields.get("StatusCallback", ""), "status": "queued", "at": time.monotonic()}
        with self.lock:
            self.accepted.append(message)
        return 201, {"sid": sid, "account_sid": SID, "from": message["from"], "to": message["to"],
                     "body": message["body"], "status": "queued", "num_media": str(len(message["media"])),
                     "error_code": None, "error_message": None, "api_version": "2010-04-01"}, []

    def wait_for(self, predicate, timeout=15, what="a message"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                found = [m for m in self.accepted if predicate(m)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"the fake Twilio did not get {what}; got {self.accepted}")


def post_signed(server, public_url, params, token=TOKEN, signature=None):
    """POSTs `params` to parleyd as Twilio would to `public_url` (mapped to the local listener),
    signed with `token`. Returns (status, content type, body)."""
    local = public_url.replace(PUBLIC, f"http://127.0.0.1:{server.http_port}", 1)
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(local, data=data, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if signature is None:
        signature = twilio_signature(token, public_url, params)
    if signature:
        request.add_header("X-Twilio-Signature", signature)
    try:
        with urllib.request.urlopen(request, timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def inbound(server, sid, from_, to, body, media=(), **kwargs):
    """An incoming-message webhook; `media` holds URLs (sent as image/jpeg) or (URL, type)."""
    params = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", str(len(media))),
              ("SmsSid", sid), ("SmsStatus", "received"), ("Body", body), ("To", to),
              ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", SID), ("From", from_),
              ("ApiVersion", "2010-04-01")]
    for i, medium in enumerate(media):
        url, ctype = (medium, "image/jpeg") if isinstance(medium, str) else medium
        params += [(f"MediaContentType{i}", ctype), (f"MediaUrl{i}", url)]
    return post_signed(server, f"{PUBLIC}/sms/twilio/{DOMAIN}/inbound", params, **kwargs)


def status_callback(server, message, status, error_code=None):
    params = [("SmsSid", message["sid"]), ("SmsStatus", status), ("MessageStatus", status),
              ("To", message["to"]), ("MessageSid", message["sid"]), ("AccountSid", SID),
              ("From", message["from"]), ("ApiVersion", "2010-04-01")]
    if error_code is not None:
        params.append(("ErrorCode", str(error_code)))
    return post_signed(server, message["status_callback"], params)


def gateway_toml(fake, extra=""):
    return f"""
[[gateway]]
domain = "{DOMAIN}"
kind = "sms"
provider = "twilio"
default_country = "US"
public_url = "{PUBLIC}"
allow_private_addresses = true
max_attempts = 100
retry_base_ms = 100
retry_max_ms = 500
timeout_seconds = 2
{extra}
[gateway.twilio]
account_sid = "{SID}"
auth_token_env = "{TOKEN_ENV}"
base_url = "{fake.url}"
"""


def scenario():
    os.environ[TOKEN_ENV] = TOKEN
    fake = FakeTwilio()
    with harness.Server(tls="disabled", extra_toml=gateway_toml(fake)) as server:
        for user in ("alice", "bob", "carol", "dave"):
            server.add_user(user, "pw-" + user)
        token = server.ctl("token", "create", "--scope", "admin").stdout.strip()
        api = Api(server, token)

        # ---- numbers: through the admin API (typed as people type them) and parleyctl
        status, body = api.call("POST", "/api/v1/users/alice/registrations",
                                {"gateway": DOMAIN, "address": "(555) 010-0001"})
        assert status == 201 and body["address"] == "+15550100001", (status, body)
        status, body = api.call("POST", "/api/v1/users/alice/registrations",
                                {"gateway": DOMAIN, "address": "+1 555 010 0009"})
        assert status == 201, (status, body)
        status, body = api.call("POST", "/api/v1/users/carol/registrations",
                                {"gateway": DOMAIN, "address": "555-010-0009"})
        assert status == 201 and body["address"] == "+15550100009", (status, body)  # a team number
        status, body = api.call("POST", "/api/v1/users/alice/registrations",
                                {"gateway": DOMAIN, "address": "call me"})
        assert status == 400, (status, body)
        server.env["PARLEY_API_TOKEN"] = token
        server.ctl("registrations", "add", "carol", DOMAIN, "5550100003")
        server.ctl("registrations", "add", "bob", DOMAIN, "+15550100002")
        status, gateways = api.call("GET", f"/api/v1/gateways/{DOMAIN}")
        assert status == 200 and gateways["kind"] == "sms", gateways

        alice = login(server.c2s_port, "alice")

        # ---- service discovery and XEP-0100
        alice.send(f"<iq type='get' id='d1' to='{DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        info = alice.read_until(r"<iq[^>]*id='d1'.*?</iq>")
        assert "category='gateway'" in info and "type='sms'" in info and "jabber:iq:gateway" in info, info
        alice.send(f"<iq type='set' id='g1' to='{DOMAIN}'><query xmlns='jabber:iq:gateway'>"
                   "<prompt>(555) 765-4321</prompt></query></iq>")
        translated = alice.read_until(r"<iq[^>]*id='g1'.*?</iq>")
        assert f"<jid>{FAR}@{DOMAIN}</jid>" in translated, translated
        alice.send(f"<iq type='set' id='g2' to='{DOMAIN}'><query xmlns='jabber:iq:gateway'>"
                   "<prompt>555-CALL-NOW</prompt></query></iq>")
        assert "jid-malformed" in alice.read_until(r"<iq[^>]*id='g2'.*?</iq>")

        # ---- a user without a number is told to register one; nothing is sent
        dave = login(server.c2s_port, "dave")
        dave.send(f"<message to='{FAR}@{DOMAIN}' id='d-1' type='chat'><body>hi</body></message>")
        refused = dave.read_until(r"<message[^>]*id='d-1'.*?</message>")
        assert "type='error'" in refused and "registration-required" in refused, refused
        assert "register a number first" in refused, refused
        dave.send(f"<message to='5557654321@{DOMAIN}' id='d-2' type='chat'><body>hi</body></message>")
        assert "jid-malformed" in dave.read_until(r"<message[^>]*id='d-2'.*?</message>")

        # ---- out: the fake sees From (alice's first number), To and Body; the receipt waits
        # for the delivery report
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='out-1' type='chat'><body>Hello from XMPP ✓</body>"
                   "<request xmlns='urn:xmpp:receipts'/></message>")
        sent = fake.wait_for(lambda m: m["body"] == "Hello from XMPP ✓", what="the first SMS")
        assert sent["from"] == "+15550100001" and sent["to"] == FAR, sent
        assert sent["status_callback"].startswith(f"{PUBLIC}/sms/twilio/{DOMAIN}/status?key="), sent
        quiet(alice, r"<received", "a receipt before the delivery report")
        assert status_callback(server, sent, "sent")[0] == 200
        quiet(alice, r"<received", "a receipt for 'sent'")
        code, ctype, answer = status_callback(server, sent, "delivered")
        assert code == 200, (code, answer)
        receipt = alice.read_until(r"<message[^>]*>\s*<received xmlns='urn:xmpp:receipts' id='out-1'/>\s*</message>")
        assert f"from='{FAR}@{DOMAIN}'" in receipt, receipt
        # Twilio may repeat a callback: one receipt only.
        assert status_callback(server, sent, "delivered")[0] == 200
        quiet(alice, r"<received", "a second receipt for a repeated callback")

        # The outbox timeline shows the provider's id and each status.
        status, done = api.call("GET", f"/api/v1/gateways/{DOMAIN}/outbox?state=done")
        assert status == 200, done
        item = next(i for i in done["items"] if "out-1" in i["stanza"])
        assert item["destination"] == FAR, item
        status, detail = api.call("GET", f"/api/v1/gateways/{DOMAIN}/outbox/{item['id']}")
        events = [(e["event"], e["detail"]) for e in detail["timeline"]]
        assert ("provider-id", sent["sid"]) in events, events
        assert ("status", "sent") in events and ("status", "delivered") in events, events
        assert events.count(("status", "delivered")) == 1, events

        # ---- a failed delivery report: an error that carries the id and Twilio's code
        alice.send(f"<message to='+15557654322@{DOMAIN}' id='out-2' type='chat'><body>are you there?</body></message>")
        sent2 = fake.wait_for(lambda m: m["to"] == "+15557654322", what="the second SMS")
        assert status_callback(server, sent2, "undelivered", 30003)[0] == 200
        failure = alice.read_until(r"<message[^>]*id='out-2'.*?</message>")
        assert "type='error'" in failure and "30003" in failure and "undelivered" in failure, failure
        assert "urn:parley:sms:0" in failure, failure

        # ---- Twilio refuses the number at once (400, 21211): a cancel error
        alice.send(f"<message to='+15550000400@{DOMAIN}' id='out-3' type='chat'><body>x</body></message>")
        refused = alice.read_until(r"<message[^>]*id='out-3'.*?</message>", timeout=20)
        assert "type='error'" in refused and "type='cancel'" in refused and "21211" in refused, refused

        # ---- out: a shared file (XEP-0066) becomes MediaUrl, without the URL as text
        photo = "https://upload.example/p/cat.jpg"
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='out-4' type='chat'><body>{photo}</body>"
                   f"<x xmlns='jabber:x:oob'><url>{photo}</url></x></message>")
        mms = fake.wait_for(lambda m: m["media"] == [photo], what="the MMS")
        assert mms["body"] == "", mms

        # ---- in: an SMS to alice's number, from the right JID; TwiML after delivery
        code, ctype, answer = inbound(server, "SM" + "1" * 32, FAR, "+15550100001", "hi alice")
        assert code == 200 and ctype.startswith("text/xml") and "<Response/>" in answer, (code, ctype, answer)
        got = alice.read_until(message_from(FAR))
        assert "<body>hi alice</body>" in got and "type='chat'" in got, got
        # The same MessageSid again (Twilio retried): delivered once.
        assert inbound(server, "SM" + "1" * 32, FAR, "+15550100001", "hi alice")[0] == 200
        quiet(alice, r"hi alice", "a repeated inbound SMS")

        # ---- in: MMS media are re-hosted on our upload service and become OOB, with the URL
        # as the body (sms_mms covers this in depth)
        media = fake.add_media(b"\xff\xd8\xff\xe0 a tiny jpeg", "image/jpeg")
        assert inbound(server, "MM" + "2" * 32, FAR, "+15550100001", "", media=[media])[0] == 200
        got = alice.read_until(message_from(FAR))
        ours = re.search(r"<x xmlns='jabber:x:oob'><url>(http://127\.0\.0\.1:\d+/upload/[0-9a-f]{32}/ME[0-9a-f]+\.jpg)"
                         r"</url></x>", got)
        assert ours and f"<body>{ours.group(1)}</body>" in got, got

        # ---- in: a team number reaches every owner: alice now, carol (offline) at login
        assert inbound(server, "SM" + "3" * 32, FAR, "+15550100009", "to the team")[0] == 200
        assert "to the team" in alice.read_until(message_from(FAR))
        # carol's own number, while she is offline
        assert inbound(server, "SM" + "4" * 32, "+447700900123", "+15550100003", "for carol")[0] == 200

        # ---- a bad or missing signature: 403, nothing delivered
        code, _, answer = inbound(server, "SM" + "5" * 32, FAR, "+15550100001", "forged", token="wrong-token")
        assert code == 403 and "signature" in answer.lower(), (code, answer)
        code, _, _ = inbound(server, "SM" + "6" * 32, FAR, "+15550100001", "unsigned", signature="")
        assert code == 403, code
        code, _, _ = post_signed(server, sent["status_callback"], [("MessageSid", sent["sid"]),
                                                                   ("MessageStatus", "failed")], token="nope")
        assert code == 403, code
        quiet(alice, r"forged|unsigned|type='error'", "a request with a bad signature")

        # ---- an unknown number: refused (404) and logged, nothing delivered
        code, _, answer = inbound(server, "SM" + "7" * 32, FAR, "+15550109999", "anyone?")
        assert code == 404 and "+15550109999" in answer, (code, answer)
        quiet(alice, r"anyone\?", "an SMS to a number nobody owns")
        with open(server.log_path, "rb") as f:
            log = f.read().decode(errors="replace")
        assert "nobody owns +15550109999" in log, log[-3000:]

        # ---- carol logs in: both messages wait for her in offline storage
        carol = login(server.c2s_port, "carol")
        waiting = carol.read_until(r"to the team</body>.*?</message>|for carol</body>.*?</message>")
        waiting += carol.read_until(r"to the team</body>.*?</message>|for carol</body>.*?</message>")
        assert "to the team" in waiting and "for carol" in waiting, waiting
        assert "from='+447700900123@sms.localhost'" in waiting, waiting

    # ---- kill -9 between accept and delivery: the outbox sends it after the restart
    fake.down = True
    with harness.Server(tls="disabled", extra_toml=gateway_toml(fake)) as server:
        server.add_user("alice", "pw-alice")
        token = server.ctl("token", "create", "--scope", "admin").stdout.strip()
        status, body = Api(server, token).call("POST", "/api/v1/users/alice/registrations",
                                               {"gateway": DOMAIN, "address": "+15550100001"})
        assert status == 201, (status, body)
        alice = login(server.c2s_port, "alice")
        alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<enabled[^>]*/>")
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='k-1' type='chat'><body>survive kill -9</body></message>")
        alice.send("<r xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='1'/>")  # acknowledged means committed
        deadline = time.time() + 10
        while time.time() < deadline and not any(dict(f).get("Body") == "survive kill -9" for _, f in fake.requests):
            time.sleep(0.05)
        assert any(dict(f).get("Body") == "survive kill -9" for _, f in fake.requests), "no attempt before kill -9"
        assert not fake.accepted or all(m["body"] != "survive kill -9" for m in fake.accepted)
        server.kill9()
        fake.down = False
        server.start()
        sent = fake.wait_for(lambda m: m["body"] == "survive kill -9", timeout=60,
                             what="the committed message after kill -9")
        assert sent["from"] == "+15550100001" and sent["to"] == FAR, sent
        time.sleep(1)
        with fake.lock:
            assert sum(1 for m in fake.accepted if m["body"] == "survive kill -9") == 1, fake.accepted


if __name__ == "__main__":
    harness.run(scenario)

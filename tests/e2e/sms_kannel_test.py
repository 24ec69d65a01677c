"""The SMS gateway with the kannel provider, against real Kannel from Debian: bearerbox and
smsbox with a private configuration, and kannel-extras' fakesmsc as the SMSC, which prints
every message it gets and sends what we type into it.

An XMPP client sends and fakesmsc sees the right numbers and text: GSM-7 as text, other
characters as UCS-2 (the charset/coding trap), a long text in concatenated parts; Kannel's
delivery report becomes a receipt; an SMS typed into fakesmsc reaches the owner from
+E164@sms.localhost with its spaces kept, UCS-2 included (get-url with %b and %C), live and
offline; an unknown number is refused (Kannel logs the 404) and a wrong secret gets 403; and a
message committed while smsbox is down survives kill -9 of parleyd and goes out afterwards.

Needs Debian's kannel and kannel-extras (scripts/install-deps.sh with PARLEY_WITH_TEST_PEERS=1)
and root, as Kannel's boxes want; skipped (77) without them."""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import harness
from smsutil import DOMAIN, Api, login, message_from, quiet

FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SECRET = "kannel-" + secrets.token_hex(8)
PASSWORD = "pw-" + secrets.token_hex(6)
FAR = "+15557654321"


def skip_unless_kannel():
    missing = [p for p in ("bearerbox", "smsbox") if shutil.which(p) is None]
    if missing or not os.path.exists(FAKESMSC):
        print(f"skipped: Kannel is not installed ({', '.join(missing) or FAKESMSC} missing); "
              "apt install kannel kannel-extras")
        sys.exit(77)


class Kannel:
    """bearerbox, smsbox and fakesmsc on free loopback ports, with their own directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="parley-kannel-")
        self.admin_port = harness.free_port()
        self.smsbox_port = harness.free_port()
        self.smsc_port = harness.free_port()
        self.sendsms_port = harness.free_port()
        self.sendsms_url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"
        self.config = os.path.join(self.dir, "kannel.conf")
        self.procs = {}
        self.smsc_out = os.path.join(self.dir, "fakesmsc.out")

    def write_config(self, parley_http_port):
        """Kannel's configuration, with the sms-service calling parleyd on `parley_http_port`.
        Without mo-recode, UCS-2 arrives as UTF-16BE: %b with charset %C (the trap)."""
        get_url = (f"http://127.0.0.1:{parley_http_port}/sms/kannel/{DOMAIN}/inbound"
                   f"?secret={SECRET}&from=%p&to=%P&text=%b&charset=%C&id=%I")
        with open(self.config, "w") as f:
            f.write(f"""
group = core
admin-port = {self.admin_port}
admin-password = {secrets.token_hex(8)}
smsbox-port = {self.smsbox_port}
box-allow-ip = "127.0.0.1"
log-file = "{self.dir}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {self.sendsms_port}
log-file = "{self.dir}/smsbox.log"
log-level = 0

group = sendsms-user
username = parley
password = {PASSWORD}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
get-url = "{get_url}"
max-messages = 0
""")

    def _spawn(self, name, argv, **kwargs):
        log = open(os.path.join(self.dir, f"{name}.out"), "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=kwargs.pop("stdout", log), stderr=subprocess.STDOUT,
                                            **kwargs)

    def start_bearerbox(self):
        self._spawn("bearerbox", ["bearerbox", self.config])
        harness.wait_for_port(self.smsc_port, proc=self.procs["bearerbox"])

    def start_smsbox(self):
        self._spawn("smsbox", ["smsbox", self.config])
        harness.wait_for_port(self.sendsms_port, proc=self.procs["smsbox"])

    def start_fakesmsc(self):
        # Line-buffered, so that what it prints can be read while it runs.
        out = open(self.smsc_out, "ab")
        self._spawn("fakesmsc", ["stdbuf", "-oL", "-eL", FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port)],
                    stdout=out, stdin=subprocess.PIPE)
        self.wait_for_log("bearerbox.log", r"Fakesmsc client connected", 10, "fakesmsc to connect")

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self):
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            self.stop(name)

    def type_mo(self, line):
        """Types one message into fakesmsc: "sender receiver text|ucs2|data ... msgdata", and
        waits until it is sent (fakesmsc leaves a second line typed meanwhile in its buffer)."""
        self.typed = getattr(self, "typed", 0) + 1
        proc = self.procs["fakesmsc"]
        proc.stdin.write((line + "\n").encode())
        proc.stdin.flush()
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.smsc_out, "rb") as f:
                if f"fakesmsc: sent message {self.typed}\n".encode() in f.read():
                    return
            time.sleep(0.05)
        raise AssertionError(f"fakesmsc did not send {line!r}")

    def received(self):
        """What fakesmsc got so far: (from, to, type, rest of the line) per part."""
        with open(self.smsc_out, "rb") as f:
            text = f.read().decode(errors="replace")
        return re.findall(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>", text)

    def wait_for_mt(self, predicate, timeout=20, what="a message"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [m for m in self.received() if predicate(m)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"fakesmsc did not get {what}; got {self.received()}")

    def wait_for_log(self, name, pattern, timeout, what):
        deadline = time.time() + timeout
        path = os.path.join(self.dir, name)
        while time.time() < deadline:
            try:
                with open(path, "rb") as f:
                    if re.search(pattern, f.read().decode(errors="replace")):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what} in {path}")

    def dump(self):
        for name in ("bearerbox.log", "smsbox.log", "fakesmsc.out"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    sys.stderr.write(f"---- {name}\n" + f.read().decode(errors="replace")[-4000:] + "\n")
            except OSError:
                pass


def ucs2_text(data):
    """The text of a UCS-2 part as fakesmsc prints it (form-encoded UTF-16BE: '+' is 0x20)."""
    return urllib.parse.unquote_to_bytes(data.replace("+", "%20")).decode("utf-16-be")


def gateway_toml(kannel, extra=""):
    # public_url names the [http] listener: "@HTTP_PORT@" is filled in once harness.Server
    # has chosen it.
    return f"""
[[gateway]]
domain = "{DOMAIN}"
kind = "sms"
provider = "kannel"
default_country = "US"
public_url = "http://127.0.0.1:@HTTP_PORT@"
allow_private_addresses = true
max_attempts = 100
retry_base_ms = 100
retry_max_ms = 500
timeout_seconds = 2
{extra}
[gateway.kannel]
sendsms_url = "{kannel.sendsms_url}"
username = "parley"
password_env = "PARLEY_TEST_KANNEL_PASSWORD"
inbound_secret = "{SECRET}"
"""


def make_server(kannel):
    """A harness.Server whose gateway points at Kannel, and Kannel's config pointing back."""
    server = harness.Server(tls="disabled", extra_toml=gateway_toml(kannel))
    with open(server.config_path) as f:
        text = f.read()
    with open(server.config_path, "w") as f:
        f.write(text.replace("@HTTP_PORT@", str(server.http_port)))
    kannel.write_config(server.http_port)
    return server


def get(server, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scenario():
    skip_unless_kannel()
    os.environ["PARLEY_TEST_KANNEL_PASSWORD"] = PASSWORD

    kannel = Kannel()
    server = make_server(kannel)
    try:
        kannel.start_bearerbox()
        kannel.start_smsbox()
        kannel.start_fakesmsc()
        run_with(server, kannel)
    except BaseException:
        kannel.dump()
        raise
    finally:
        kannel.stop_all()


def run_with(server, kannel):
    with server:
        for user in ("alice", "carol"):
            server.add_user(user, "pw-" + user)
        api = Api(server, server.ctl("token", "create", "--scope", "admin").stdout.strip())
        assert api.assign("alice", "(555) 010-0001") == "+15550100001"
        assert api.assign("carol", "+1 555 010 0003") == "+15550100003"
        alice = login(server.c2s_port, "alice")

        # ---- out: GSM-7 text goes as text, with the right numbers; the delivery report
        # (fakesmsc always reports success) becomes the receipt
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='k-1' type='chat'><body>plain text [ok] and é</body>"
                   "<request xmlns='urn:xmpp:receipts'/></message>")
        (part,) = kannel.wait_for_mt(lambda m: "plain text" in m[3], what="the GSM text")
        assert part[:3] == ("+15550100001", FAR, "text") and part[3] == "plain text [ok] and é", part
        receipt = alice.read_until(r"<received xmlns='urn:xmpp:receipts' id='k-1'/>", timeout=20)
        assert f"from='{FAR}@{DOMAIN}'" in receipt, receipt
        quiet(alice, r"<received", "a second receipt (Kannel reports 'submitted' and 'delivered')")

        # ---- out: characters beyond GSM-7 go as UCS-2 (not as '?')
        snow = "Grüße ☃ aus XMPP 😀"
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='k-2' type='chat'><body>{snow}</body></message>")
        (part,) = kannel.wait_for_mt(lambda m: m[2] == "ucs-2", what="the UCS-2 text")
        assert ucs2_text(part[3]) == snow, (part, ucs2_text(part[3]))

        # ---- out: a long text goes in concatenated parts (UDH), 153 characters each
        long_text = "0123456789" * 20
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='k-3' type='chat'><body>{long_text}</body></message>")
        parts = kannel.wait_for_mt(lambda m: m[2] == "udh", what="the parts of the long text")
        deadline = time.time() + 10
        while len(parts) < 2 and time.time() < deadline:
            time.sleep(0.1)
            parts = [m for m in kannel.received() if m[2] == "udh"]
        assert len(parts) == 2, parts
        texts = [re.match(r"(\S+) data (.*)", p[3]).groups() for p in parts]
        assert "".join(t for _, t in texts) == long_text and len(texts[0][1]) == 153, texts

        # ---- in: typed into fakesmsc, delivered from the sender's number, spaces kept
        kannel.type_mo(f"{FAR} +15550100001 text hello  from   kannel")
        got = alice.read_until(message_from(FAR), timeout=20)
        assert "<body>hello  from   kannel</body>" in got and "type='chat'" in got, got

        # ---- in: UCS-2 from the SMSC (Kannel hands over UTF-16BE with charset=%C)
        kannel.type_mo(f"{FAR} +15550100001 ucs2 %00h%00%E9%26%03%00%20%D8%3D%DE%00")
        got = alice.read_until(message_from(FAR), timeout=20)
        assert "<body>hé☃ 😀</body>" in got, got

        # ---- in: carol is offline; she gets it at login
        kannel.type_mo(f"{FAR} +15550100003 text for carol later")

        # ---- in: a number nobody owns is refused (Kannel gets 404) and logged, nothing delivered
        kannel.type_mo(f"{FAR} +15550109999 text anyone there")
        deadline = time.time() + 15
        log = ""
        while time.time() < deadline and "nobody owns +15550109999" not in log:
            time.sleep(0.1)
            with open(server.log_path, "rb") as f:
                log = f.read().decode(errors="replace")
        assert "nobody owns +15550109999" in log, log[-3000:]
        quiet(alice, r"anyone there", "an SMS to a number nobody owns")

        # ---- a request without the secret: 403, nothing delivered
        status, _ = get(server, f"/sms/kannel/{DOMAIN}/inbound?secret=wrong&from=%2B1555&to=%2B15550100001"
                                f"&text=forged&id=x1")
        assert status == 403, status
        status, _ = get(server, f"/sms/kannel/{DOMAIN}/dlr?key=k&type=1")
        assert status == 403, status
        quiet(alice, r"forged", "a request with a wrong secret")

        carol = login(server.c2s_port, "carol")
        got = carol.read_until(message_from(FAR), timeout=20)
        assert "for carol later" in got, got

        # The outbox timeline of the first message shows acceptance and the reports.
        status, done = api.call("GET", f"/api/v1/gateways/{DOMAIN}/outbox?state=done")
        item = next(i for i in done["items"] if "k-1" in i["stanza"])
        status, detail = api.call("GET", f"/api/v1/gateways/{DOMAIN}/outbox/{item['id']}")
        events = [(e["event"], e["detail"]) for e in detail["timeline"]]
        assert any(e == "accepted" for e, _ in events), events
        assert ("status", "delivered") in events, events

        # ---- smsbox down: the message is committed and waits; parleyd is killed, comes back
        # with smsbox, and sends it
        kannel.stop("smsbox")
        alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<enabled[^>]*/>")
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='k-9' type='chat'><body>survive kill -9</body></message>")
        alice.send("<r xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='1'/>")  # acknowledged means committed
        time.sleep(1)  # at least one attempt fails against the closed port
        assert not [m for m in kannel.received() if "survive" in m[3]]
        server.kill9()
        kannel.start_smsbox()
        server.start()
        kannel.wait_for_mt(lambda m: "survive kill -9" in m[3], timeout=60,
                           what="the committed message after kill -9")
        time.sleep(1)
        assert len([m for m in kannel.received() if "survive kill -9" in m[3]]) == 1, kannel.received()


if __name__ == "__main__":
    harness.run(scenario)

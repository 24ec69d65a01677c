"""The SMS gateway with the smpp provider, against a real SMPP 3.4 server process: the npm
package `smpp` in server mode (tests/e2e/smpp_peer/smsc.js), which reports every PDU it gets
and sends what the test tells it to.

Out: the SMSC sees bind_transceiver with our credentials, and each submit_sm with the right
numbers (TON/NPI), text (decoded by the package itself), data_coding (0 for GSM-7, 8 for UCS-2)
and concatenation UDH (153 septets or 67 units per part). A delivery receipt (esm_class 0x04,
receipted_message_id) becomes an XEP-0184 receipt; a failed one read from its text alone
(stat:UNDELIV) becomes a message error with the status and code. With the window full (two
unanswered submit_sm), a third waits for a slot; ESME_RTHROTTLED pauses the submit and the
message still goes out once; a dropped connection and refused binds are
followed by a reconnect that sends what waited; the SMSC's unbind, enquire_link and an unknown
command get their answers; our enquire_link keeps the idle link alive; stopping parleyd unbinds.

In: a deliver_sm reaches the owner from +E164@sms.localhost; a concatenated UCS-2 SMS whose
parts come out of order and split a surrogate pair arrives whole, and no part is acknowledged
before it is delivered; an offline user gets it at login; a number nobody owns is refused with
ESME_RX_R_APPN and logged. kill -9 of parleyd loses neither a committed outbound message nor an
inbound one the SMSC holds meanwhile.

Needs Node.js and npm (the peer's package is installed with `npm ci` from its lock file into
the build tree, or PARLEY_SMPP_PEER_DIR); skipped (77) without them."""

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time

import harness
from smsutil import DOMAIN, Api, login, message_from, quiet

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_SOURCE = os.path.join(HERE, "smpp_peer")
SYSTEM_ID = "parley"
PASSWORD = "p" + secrets.token_hex(3)  # SMPP 3.4 passwords have at most 8 characters
FAR = "+15557654321"
ALICE = "+15550100001"
CAROL = "+15550100003"


def install_peer():
    """The directory with the peer script and its node_modules, installed once per lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        print("skipped: Node.js and npm are needed for the SMPP peer (apt install nodejs npm)")
        sys.exit(77)
    where = os.environ.get("PARLEY_SMPP_PEER_DIR") or os.path.join(os.getcwd(), "smpp_peer")
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, ".lock"), "w") as lock:
        # The SQLite and PostgreSQL runs of this test may install at the same time.
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(PEER_SOURCE, "package-lock.json"), "rb") as f:
            wanted = f.read()
        installed = os.path.join(where, "package-lock.json")
        current = None
        if os.path.exists(os.path.join(where, "node_modules", "smpp", "package.json")) and os.path.exists(installed):
            with open(installed, "rb") as f:
                current = f.read()
        if current != wanted:
            for name in ("package.json", "package-lock.json"):
                shutil.copy(os.path.join(PEER_SOURCE, name), os.path.join(where, name))
            r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=where,
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise AssertionError(f"npm ci for the SMPP peer failed:\n{r.stdout}\n{r.stderr}")
        # Replaced only when it changed: the other run may be starting it right now.
        script = os.path.join(where, "smsc.js")
        with open(os.path.join(PEER_SOURCE, "smsc.js"), "rb") as f:
            source = f.read()
        if not os.path.exists(script) or open(script, "rb").read() != source:
            with open(script + ".new", "wb") as f:
                f.write(source)
            os.replace(script + ".new", script)
    return where


class Smsc:
    """The peer process: commands in on stdin, events out on stdout (one JSON object a line)."""

    def __init__(self, where):
        self.log_path = os.path.join(where, f"smsc-{os.getpid()}.err")
        self.proc = subprocess.Popen(["node", "smsc.js", "--system-id", SYSTEM_ID, "--password", PASSWORD],
                                     cwd=where, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log_path, "wb"))
        self.events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        (listening,) = self.wait(lambda e: e["event"] == "listening", what="the SMSC to listen")
        self.port = listening["port"]

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line.decode(errors="replace")}
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()

    def cmd(self, cmd, **fields):
        """Sends a command and waits until the peer has carried it out (its "done" event), so
        that what the test does next cannot overtake it."""
        self.commands = getattr(self, "commands", 0) + 1
        fields.update(cmd=cmd, id=self.commands)
        self.proc.stdin.write((json.dumps(fields) + "\n").encode())
        self.proc.stdin.flush()
        self.wait(lambda e: e["event"] == "done" and e.get("id") == fields["id"], what=f"command {cmd} done")

    def found(self, predicate):
        with self.cond:
            return [e for e in self.events if predicate(e)]

    def wait(self, predicate, count=1, timeout=20, what="an event"):
        """The first `count` events that match, once there are that many."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"the SMSC did not see {what}; it saw:\n" +
                                         "\n".join(json.dumps(e) for e in self.events[-40:]))
                self.cond.wait(left)

    def deliver(self, tag, **options):
        self.cmd("deliver", tag=tag, options=options)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def dump(self):
        sys.stderr.write("---- SMSC events\n" + "\n".join(json.dumps(e) for e in self.events[-80:]) + "\n")
        try:
            with open(self.log_path, "rb") as f:
                sys.stderr.write("---- SMSC stderr\n" + f.read().decode(errors="replace")[-4000:] + "\n")
        except OSError:
            pass


def gateway_toml(port):
    return f"""
[[gateway]]
domain = "{DOMAIN}"
kind = "sms"
provider = "smpp"
default_country = "US"
max_attempts = 100
retry_base_ms = 100
retry_max_ms = 500
timeout_seconds = 3

[gateway.smpp]
host = "127.0.0.1"
port = {port}
system_id = "{SYSTEM_ID}"
password_env = "PARLEY_TEST_SMPP_PASSWORD"
window = 2
enquire_link_seconds = 1
response_timeout_seconds = 6
reconnect_min_ms = 200
reconnect_max_ms = 800
throttle_backoff_ms = 700
throttle_max_ms = 2000
reassembly_timeout_seconds = 20
"""


def ucs2_hex(text):
    return text.encode("utf-16-be").hex()


def receipt_text(message_id, stat, err="000"):
    return (f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} submit date:2401011200 "
            f"done date:2401011201 stat:{stat} err:{err} text:")


def wait_log(server, needle, timeout=15):
    deadline = time.time() + timeout
    log = ""
    while time.time() < deadline:
        with open(server.log_path, "rb") as f:
            log = f.read().decode(errors="replace")
        if needle in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"parleyd did not log {needle!r}:\n{log[-3000:]}")


def submits_with(smsc, needle):
    return smsc.found(lambda e: e["event"] == "submit_sm" and e.get("text") and needle in e["text"])


def scenario():
    where = install_peer()
    os.environ["PARLEY_TEST_SMPP_PASSWORD"] = PASSWORD
    smsc = Smsc(where)
    try:
        server = harness.Server(tls="disabled", extra_toml=gateway_toml(smsc.port))
        run_with(server, smsc)
    except BaseException:
        smsc.dump()
        raise
    finally:
        smsc.stop()


def run_with(server, smsc):
    with server:
        for user in ("alice", "carol"):
            server.add_user(user, "pw-" + user)
        api = Api(server, server.ctl("token", "create", "--scope", "admin").stdout.strip())
        assert api.assign("alice", "(555) 010-0001") == ALICE
        assert api.assign("carol", "+1 555 010 0003") == CAROL

        # ---- the bind: a transceiver with our credentials, SMPP 3.4
        (bind,) = smsc.wait(lambda e: e["event"] == "bind" and e["status"] == 0, what="a bind")
        assert (bind["system_id"], bind["password"], bind["interface_version"]) == (SYSTEM_ID, PASSWORD, 0x34), bind

        alice = login(server.c2s_port, "alice")

        # ---- out: GSM-7 text, international numbers, a receipt asked for
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-1' type='chat'><body>plain text [ok] and @ 5€</body>"
                   "<request xmlns='urn:xmpp:receipts'/></message>")
        (sm,) = smsc.wait(lambda e: e["event"] == "submit_sm" and "plain text" in (e.get("text") or ""),
                          what="the GSM text")
        assert sm["text"] == "plain text [ok] and @ 5€", sm
        assert (sm["source_addr"], sm["source_addr_ton"], sm["source_addr_npi"]) == ("15550100001", 1, 1), sm
        assert (sm["destination_addr"], sm["dest_addr_ton"], sm["dest_addr_npi"]) == ("15557654321", 1, 1), sm
        assert (sm["data_coding"], sm["esm_class"], sm["registered_delivery"], sm["udh"]) == (0, 0, 1, None), sm

        # ---- the receipt: esm_class 0x04 with receipted_message_id and message_state
        smsc.deliver("r-1", source_addr="15557654321", source_addr_ton=1, source_addr_npi=1,
                     destination_addr="15550100001", dest_addr_ton=1, dest_addr_npi=1, esm_class=0x04,
                     data_coding=0, short_message_hex=receipt_text(sm["message_id"], "DELIVRD").encode().hex(),
                     receipted_message_id=sm["message_id"], message_state=2)
        receipt = alice.read_until(r"<received xmlns='urn:xmpp:receipts' id='s-1'/>", timeout=20)
        assert f"from='{FAR}@{DOMAIN}'" in receipt, receipt
        (resp,) = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "r-1", what="the receipt's answer")
        assert resp["status"] == 0, resp

        # ---- a receipt right behind submit_sm_resp, which may come before the gateway has
        # noted the message id: it is reported again until the note is there, not dropped
        smsc.cmd("receipt_next", tag="r-fast", stat="DELIVRD")
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-fast' type='chat'><body>quick receipt</body>"
                   "<request xmlns='urn:xmpp:receipts'/></message>")
        receipt = alice.read_until(r"<received xmlns='urn:xmpp:receipts' id='s-fast'/>", timeout=20)
        assert f"from='{FAR}@{DOMAIN}'" in receipt, receipt
        (resp,) = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "r-fast", what="its answer")
        assert resp["status"] == 0, resp

        # ---- out: beyond GSM-7 goes as UCS-2 (data_coding 8), an emoji included
        snow = "Grüße ☃ aus XMPP 😀"
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-2' type='chat'><body>{snow}</body></message>")
        (sm2,) = smsc.wait(lambda e: e["event"] == "submit_sm" and e["data_coding"] == 8, what="the UCS-2 text")
        assert sm2["text"] == snow and sm2["udh"] is None and sm2["esm_class"] == 0, sm2

        # ---- a failed receipt, read from its text alone: a message error with status and code
        smsc.deliver("r-2", source_addr="15557654321", source_addr_ton=1, source_addr_npi=1,
                     destination_addr="15550100001", dest_addr_ton=1, dest_addr_npi=1, esm_class=0x04,
                     data_coding=0, short_message_hex=receipt_text(sm2["message_id"], "UNDELIV", "034").encode().hex())
        error = alice.read_until(r"<message(?=[^>]*type='error')(?=[^>]*id='s-2')[^>]*>.*?</message>", timeout=20)
        assert f"from='{FAR}@{DOMAIN}'" in error, error
        assert "status='UNDELIV'" in error and "code='034'" in error and "provider='smpp'" in error, error

        # ---- out: a long GSM-7 text in two parts of 153 and 47 septets with one reference
        long_text = "0123456789" * 20
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-3' type='chat'><body>{long_text}</body></message>")
        parts = smsc.wait(lambda e: e["event"] == "submit_sm" and e["udh"] and e["data_coding"] == 0, count=2,
                          what="the two GSM parts")
        ref = parts[0]["udh"][4:6]
        assert [p["udh"] for p in parts] == [f"0003{ref}0201", f"0003{ref}0202"], parts
        assert all(p["esm_class"] & 0x40 for p in parts), parts
        assert [len(p["text"]) for p in parts] == [153, 47] and parts[0]["text"] + parts[1]["text"] == long_text

        # ---- out: a long UCS-2 text in parts of 67 units
        snowmen = "☃" * 100
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-4' type='chat'><body>{snowmen}</body></message>")
        parts = smsc.wait(lambda e: e["event"] == "submit_sm" and e["udh"] and e["data_coding"] == 8, count=2,
                          what="the two UCS-2 parts")
        assert [len(p["text"]) for p in parts] == [67, 33] and "".join(p["text"] for p in parts) == snowmen, parts
        ref = parts[0]["udh"][4:6]
        assert [p["udh"] for p in parts] == [f"0003{ref}0201", f"0003{ref}0202"], parts

        # ---- in: a GSM text from the far number, from +E164@domain
        smsc.deliver("m-1", source_addr="15557654321", source_addr_ton=1, source_addr_npi=1,
                     destination_addr="15550100001", dest_addr_ton=1, dest_addr_npi=1, esm_class=0,
                     data_coding=0, short_message_hex=b"hello  from smpp".hex())
        got = alice.read_until(message_from(FAR), timeout=20)
        assert "<body>hello  from smpp</body>" in got and "type='chat'" in got, got
        (resp,) = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "m-1", what="deliver_sm_resp")
        assert resp["status"] == 0, resp

        # ---- in: a UCS-2 SMS in two parts, the second first, a surrogate pair split between
        # them; the first part to arrive is not acknowledged until the whole is delivered
        whole = "hé☃ 😀 end".encode("utf-16-be")
        cut = len("hé☃ ".encode("utf-16-be")) + 2  # inside the emoji's surrogate pair
        udh = "0500037a02"
        common = dict(source_addr="15557654321", source_addr_ton=1, source_addr_npi=1, destination_addr="15550100001",
                      dest_addr_ton=1, dest_addr_npi=1, esm_class=0x40, data_coding=8)
        smsc.deliver("p-2", short_message_hex=udh + "02" + whole[cut:].hex(), **common)
        time.sleep(1.5)
        assert not smsc.found(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "p-2"), \
            "a part was acknowledged before its message was delivered"
        quiet(alice, r"end</body>", "half a message")
        smsc.deliver("p-1", short_message_hex=udh + "01" + whole[:cut].hex(), **common)
        got = alice.read_until(message_from(FAR), timeout=20)
        assert "<body>hé☃ 😀 end</body>" in got, got
        resps = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] in ("p-1", "p-2"), count=2,
                          what="the answers to both parts")
        assert [r["status"] for r in resps] == [0, 0], resps

        # ---- in: carol is offline; the SMSC gets its OK once the message is stored
        smsc.deliver("c-1", source_addr="15557654321", source_addr_ton=1, source_addr_npi=1,
                     destination_addr="15550100003", dest_addr_ton=1, dest_addr_npi=1, esm_class=0,
                     data_coding=0, short_message_hex=b"for carol later".hex())
        (resp,) = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "c-1", what="carol's answer")
        assert resp["status"] == 0, resp

        # ---- in: a number nobody owns: ESME_RX_R_APPN (0x66), logged, nothing delivered
        smsc.deliver("u-1", source_addr="15557654321", source_addr_ton=1, source_addr_npi=1,
                     destination_addr="15550109999", dest_addr_ton=1, dest_addr_npi=1, esm_class=0,
                     data_coding=0, short_message_hex=b"anyone there".hex())
        (resp,) = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "u-1", what="the refusal")
        assert resp["status"] == 0x66, resp
        wait_log(server, "nobody owns +15550109999")
        quiet(alice, r"anyone there", "an SMS to a number nobody owns")
        time.sleep(1)
        assert len(smsc.found(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "u-1")) == 1, \
            "a permanent refusal was retried"

        carol = login(server.c2s_port, "carol")
        got = carol.read_until(message_from(FAR), timeout=20)
        assert "for carol later" in got, got

        # ---- the link: our enquire_link when idle, answers to the SMSC's, generic_nack for an
        # unknown command
        smsc.wait(lambda e: e["event"] == "enquire_link", timeout=10, what="an enquire_link from parleyd")
        smsc.cmd("enquire_link")
        smsc.wait(lambda e: e["event"] == "enquire_link_resp", what="enquire_link_resp")
        smsc.cmd("raw", hex="00000010" + "00000111" + "00000000" + "00004242")
        (nack,) = smsc.wait(lambda e: e["event"] == "generic_nack", what="generic_nack")
        assert (nack["sequence"], nack["status"]) == (0x4242, 0x03), nack  # ESME_RINVCMDID

        # ---- ESME_RTHROTTLED once: the submit waits the throttle backoff and goes again
        smsc.cmd("submit_replies", statuses=[0x58])
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-5' type='chat'><body>throttled once</body></message>")
        tries = smsc.wait(lambda e: e["event"] == "submit_sm" and e.get("text") == "throttled once", count=2,
                          what="the submit after ESME_RTHROTTLED")
        assert [t["status"] for t in tries] == [0x58, 0], tries
        assert tries[1]["at"] - tries[0]["at"] >= 0.6, tries  # throttle_backoff_ms = 700
        quiet(alice, r"type='error'[^>]*id='s-5'|id='s-5'[^>]*type='error'", "an error for a throttled message")

        # ---- the window: with two submit_sm unanswered, a third waits for a free slot
        smsc.cmd("hold_submits")
        for i in range(3):
            alice.send(f"<message to='{FAR}@{DOMAIN}' id='w-{i}' type='chat'><body>window {i}</body></message>")
        smsc.wait(lambda e: e["event"] == "submit_sm" and (e.get("text") or "").startswith("window "), count=2,
                  what="two submits in the window")
        time.sleep(1)
        assert len(submits_with(smsc, "window ")) == 2, submits_with(smsc, "window ")
        smsc.cmd("release_submits")
        smsc.wait(lambda e: e["event"] == "submit_sm" and (e.get("text") or "").startswith("window "), count=3,
                  what="the third submit once the window has room")
        time.sleep(0.5)
        assert sorted(e["text"] for e in submits_with(smsc, "window ")) == ["window 0", "window 1", "window 2"]

        # ---- the SMSC unbinds: unbind_resp, then a new bind
        binds = len(smsc.found(lambda e: e["event"] == "bind" and e["status"] == 0))
        smsc.cmd("unbind")
        smsc.wait(lambda e: e["event"] == "unbind_resp", what="unbind_resp")
        smsc.wait(lambda e: e["event"] == "bind" and e["status"] == 0, count=binds + 1, what="a bind after unbind")

        # ---- the connection drops and binds are refused for a while; what is sent meanwhile
        # goes out once the bind works again
        binds += 1
        smsc.cmd("refuse_binds", count=3)
        smsc.cmd("drop")
        smsc.wait(lambda e: e["event"] == "bind" and e["status"] == 0x0D, what="a refused bind")
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-6' type='chat'><body>queued while away</body></message>")
        (sm6,) = smsc.wait(lambda e: e["event"] == "submit_sm" and e.get("text") == "queued while away", timeout=30,
                           what="the message sent while the SMSC was away")
        refused = smsc.found(lambda e: e["event"] == "bind" and e["status"] == 0x0D)
        assert len(refused) == 3 and sm6["at"] > refused[-1]["at"], (refused, sm6)
        # Backoff between the refused binds: 200 ms doubling (with jitter up to half).
        gaps = [b["at"] - a["at"] for a, b in zip(refused, refused[1:])]
        assert all(g >= 0.09 for g in gaps), gaps
        time.sleep(1)
        assert len(submits_with(smsc, "queued while away")) == 1

        # ---- kill -9 mid-flow: a committed message waits while no bind works, parleyd dies,
        # the SMSC holds an inbound SMS meanwhile; after the restart both go through once
        smsc.cmd("refuse_binds", count=1000)
        smsc.cmd("drop")
        smsc.wait(lambda e: e["event"] == "bind" and e["status"] == 0x0D, count=4, what="binds refused again")
        alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<enabled[^>]*/>")
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='s-9' type='chat'><body>survive kill -9</body></message>")
        alice.send("<r xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='1'/>")  # acknowledged means committed
        server.kill9()
        smsc.deliver("k-1", source_addr="15557654321", source_addr_ton=1, source_addr_npi=1,
                     destination_addr="15550100001", dest_addr_ton=1, dest_addr_npi=1, esm_class=0,
                     data_coding=0, short_message_hex=b"sent while parleyd was down".hex())
        assert not submits_with(smsc, "survive kill -9")
        smsc.cmd("refuse_binds", count=0)
        server.start()
        smsc.wait(lambda e: e["event"] == "submit_sm" and e.get("text") == "survive kill -9", timeout=60,
                  what="the committed message after kill -9")
        (resp,) = smsc.wait(lambda e: e["event"] == "deliver_sm_resp" and e["tag"] == "k-1", timeout=30,
                            what="the held SMS after the restart")
        assert resp["status"] == 0, resp
        alice = login(server.c2s_port, "alice", resource="back")
        got = alice.read_until(r"<message[^>]*>(?:(?!</message>).)*sent while parleyd was down.*?</message>", timeout=20)
        assert f"from='{FAR}@{DOMAIN}'" in got, got
        time.sleep(1)
        assert len(submits_with(smsc, "survive kill -9")) == 1, submits_with(smsc, "survive kill -9")

        # ---- stopping parleyd unbinds
        unbinds = len(smsc.found(lambda e: e["event"] == "unbind"))
        assert server.stop() == 0
        smsc.wait(lambda e: e["event"] == "unbind", count=unbinds + 1, timeout=5, what="unbind from a stopping parleyd")


if __name__ == "__main__":
    harness.run(scenario)

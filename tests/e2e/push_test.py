"""Push notifications (XEP-0357), the user's server side, with a local resource as the app
server (this server does not federate yet, so a remote app server is out of reach). alice and
the app server are slixmpp clients (slixmpp has no XEP-0357 plugin: alice sends the <enable/>
element as a client would, the app server handles pubsub publishes with a handler of its own);
bob is a raw client:
- alice registers the app server with a node and publish-options (its secret); her account
  advertises urn:xmpp:push:0; registrations without a node, with a bad JID or with an app
  server on another domain are refused;
- with alice offline, a message from bob is stored and the app server gets a pubsub publish to
  alice's node with the XEP-0357 summary (count and sender, never the body) and the secret;
  a body-less chat state triggers nothing;
- the registration survives a restart;
- an app server that answers with an error loses the registration; <disable/> drops it too;
- a stream-management session that waits to be resumed (the phone's connection dropped) is
  pushed too: once when it hibernates with a message it never acknowledged, then for each new
  message (with its sender); after the resume every message arrives, none went offline."""

import re
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import harness
from rawxmpp import Raw
from smsutil import login, quiet
from stream_management_test import SM, bodies, sm_login
import xmpp

PUSH = "urn:xmpp:push:0"
APP = "push@localhost/app"


def push_iq(client, payload):
    """Sends an iq set to the account with `payload`; returns the answer's type and XML."""
    iq = client.Iq(stype="set")
    iq.xml.append(ET.fromstring(payload))
    try:
        answer = client.iq(iq)
    except Exception as e:  # slixmpp raises IqError for an error answer
        answer = getattr(e, "iq", None)
        assert answer is not None, e
    return answer["type"], str(answer)


def enable(client, node="device-1", secret="s3cr3t"):
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            f"<field var='secret'><value>{secret}</value></field></x>")
    return push_iq(client, f"<enable xmlns='{PUSH}' jid='{APP}' node='{node}'>{form}</enable>")


class AppServer:
    """A slixmpp client playing the app server: it records every pubsub publish it gets and
    answers with a result, or with an error when told to."""

    def __init__(self, server):
        self.client = xmpp.Client(APP, "pw-push")
        self.got = []
        self.refuse = False
        self.client.register_handler(Callback(
            "push notifications", MatchXPath("{jabber:client}iq/{http://jabber.org/protocol/pubsub}pubsub"),
            self.on_publish))
        assert self.client.login(server.c2s_port), "the app server could not log in"

    def on_publish(self, iq):
        self.got.append(str(iq))
        if self.refuse:
            answer = iq.reply()
            answer.error()
            answer["error"]["type"] = "cancel"
            answer["error"]["condition"] = "item-not-found"
            answer.send()
        else:
            iq.reply().send()

    def next(self, timeout=10):
        for _ in range(int(timeout / 0.1)):
            if self.got:
                return self.got.pop(0)
            xmpp.pump(0.1)
        raise AssertionError("no notification reached the app server")

    def nothing(self, what):
        xmpp.pump(0.5)
        assert not self.got, f"{what}: {self.got}"
        # Silence from a disconnected app server would prove nothing.
        assert self.client.is_connected(), f"{what}: the app server is no longer connected"


def alice_client(server):
    c = xmpp.Client("alice@localhost/phone", "pw-alice")
    assert c.login(server.c2s_port), "alice could not log in"
    return c


def scenario():
    with harness.Server(tls="optional") as server:
        for user in ("alice", "bob", "push"):
            server.add_user(user, "pw-" + user)
        app = AppServer(server)
        bob = login(server.c2s_port, "bob", resource="raw")
        alice = alice_client(server)

        info = xmpp.run(alice["xep_0030"].get_info(jid="alice@localhost"))
        assert PUSH in info["disco_info"]["features"], info
        kind, answer = push_iq(alice, f"<enable xmlns='{PUSH}' jid='{APP}'/>")
        assert kind == "error" and "bad-request" in answer, answer
        kind, answer = push_iq(alice, f"<enable xmlns='{PUSH}' jid='@@' node='n'/>")
        assert kind == "error" and "bad-request" in answer, answer
        # An app server on another domain could never be reached (no federation yet): refused.
        kind, answer = push_iq(alice, f"<enable xmlns='{PUSH}' jid='push.example.org' node='n'/>")
        assert kind == "error" and "remote-server-not-found" in answer, answer
        kind, answer = enable(alice)
        assert kind == "result", answer
        alice.close()

        # A message to alice while she is away: stored, and the app server is told.
        bob.send("<message to='alice@localhost' type='chat' id='m1'><body>secret plans</body></message>")
        iq = app.next()
        assert "from=\"alice@localhost\"" in iq and "node=\"device-1\"" in iq, iq
        assert "<value>urn:xmpp:push:summary</value>" in iq, iq
        assert re.search(r'var="message-count"[^>]*>\s*<value>1</value>', iq), iq
        assert re.search(r'var="last-message-sender"[^>]*>\s*<value>bob@localhost</value>', iq), iq
        assert "<value>s3cr3t</value>" in iq and "publish-options" in iq, iq
        assert "secret plans" not in iq, iq
        # A chat state is not stored, so nobody is woken up for it. bob's session handles his
        # stanzas in order: once his ping is answered, the chat state has been routed.
        bob.send("<message to='alice@localhost' type='chat'>"
                 "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
        quiet(bob, r"type='error'", "the chat state")
        app.nothing("a notification for a chat state")

        # The registration is stored: after a restart it still works.
        app.client.close()
        bob.sock.close()
        server.stop()
        server.start()
        app = AppServer(server)
        bob = login(server.c2s_port, "bob", resource="raw")
        app.refuse = True
        bob.send("<message to='alice@localhost' type='chat' id='m2'><body>after the restart</body></message>")
        iq = app.next()
        assert "node=\"device-1\"" in iq, iq
        # The app server refused it (an error answer): the registration goes (XEP-0357 §6).
        xmpp.pump(0.5)
        assert app.client.is_connected(), "the app server's stream ended (its error answer was refused)"
        app.refuse = False
        bob.send("<message to='alice@localhost' type='chat' id='m3'><body>anyone?</body></message>")
        quiet(bob, r"type='error'", "the message itself is stored as usual")
        app.nothing("a notification after the app server refused")

        # Registered again, then disabled (all nodes of that app server): silence again.
        alice = alice_client(server)
        kind, answer = enable(alice, node="device-2")
        assert kind == "result", answer
        kind, answer = push_iq(alice, f"<disable xmlns='{PUSH}' jid='{APP}'/>")
        assert kind == "result", answer
        alice.close()
        bob.send("<message to='alice@localhost' type='chat' id='m4'><body>still there?</body></message>")
        quiet(bob, r"type='error'", "the message is stored")
        app.nothing("a notification after <disable/>")
        # Alice's messages were all kept (she read the first batch when she logged in again).
        raw = login(server.c2s_port, "alice", resource="phone")
        got = raw.read_until(r"still there\?.*?</message>")
        assert "still there?" in got, got
        raw.sock.close()

        # A resumable session whose connection drops: it hibernates, and the app server wakes
        # the phone for what it holds; alice's desk, online with a registration of its own
        # (device-6), is not woken: only the waiting session's own registrations are.
        desk = login(server.c2s_port, "alice", resource="desk")
        desk.send(f"<iq type='set' id='e6'><enable xmlns='{PUSH}' jid='{APP}' node='device-6'/></iq>")
        desk.read_until(r"<iq[^>]*id='e6'[^>]*type='result'|<iq[^>]*type='result'[^>]*id='e6'")
        phone, smid = sm_login(server.c2s_port, "alice", "pw-alice", "phone")
        phone.send(f"<iq type='set' id='e5'><enable xmlns='{PUSH}' jid='{APP}' node='device-5'/></iq>")
        phone.read_until(r"<iq[^>]*id='e5'[^>]*type='result'|<iq[^>]*type='result'[^>]*id='e5'")
        bob.send("<message to='alice@localhost/phone' type='chat' id='m5'><body>unacked</body></message>")
        phone.read_until(r"unacked</body>")
        app.nothing("a notification while the phone is connected")
        phone.sock.close()  # no <a/>, no </stream>: the session hibernates
        iq = app.next()
        assert "node=\"device-5\"" in iq and "<value>urn:xmpp:push:summary</value>" in iq, iq
        assert "unacked" not in iq, iq
        app.nothing("a notification to the desk's registration")
        bob.send("<message to='alice@localhost' type='chat' id='m6'><body>while away</body></message>")
        iq = app.next()
        assert "node=\"device-5\"" in iq, iq
        assert re.search(r'var="last-message-sender"[^>]*>\s*<value>bob@localhost</value>', iq), iq
        assert "while away" not in iq, iq
        desk.read_until(r"while away</body>")
        app.nothing("a second notification (the desk's) for one message")
        # A chat state wakes nobody.
        bob.send("<message to='alice@localhost' type='chat'>"
                 "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
        quiet(bob, r"type='error'", "the chat state")
        app.nothing("a notification for a chat state while hibernating")

        phone = Raw(server.c2s_port)
        phone.open()
        assert phone.scram_auth("alice", "pw-alice").startswith("<success")
        phone.open()
        phone.send(f"<resume xmlns='{SM}' previd='{smid}' h='0'/>")
        resumed = phone.read_until(r"while away</body>")
        assert f"previd='{smid}'" in resumed, resumed
        assert [b for b in bodies(resumed) if b in ("unacked", "while away")] == ["unacked", "while away"], resumed
        bob.send("<message to='alice@localhost' type='chat' id='m7'><body>live again</body></message>")
        phone.read_until(r"live again</body>")
        app.nothing("a notification for a message to a live session")
        # The resumed session keeps its registration: dropped again, it is woken again.
        phone.sock.close()
        xmpp.pump(0.5)
        app.got.clear()  # the unacknowledged "live again" may wake it once on hibernation
        bob.send("<message to='alice@localhost/phone' type='chat' id='m8'><body>again</body></message>")
        iq = app.next()
        assert "node=\"device-5\"" in iq, iq


if __name__ == "__main__":
    harness.run(scenario)

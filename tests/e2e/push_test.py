"""Push notifications (XEP-0357), the user's server side, with a local resource as the app
server (this server does not federate yet, so a remote app server is out of reach):
- alice registers the app server with a node and publish-options (its secret); her account
  advertises urn:xmpp:push:0; registrations without a node or with a bad JID are refused;
- with alice offline, a message from bob is stored and the app server gets a pubsub publish to
  alice's node with the XEP-0357 summary (count and sender, never the body) and the secret;
  a body-less chat state triggers nothing;
- the registration survives a restart;
- an app server that answers with an error loses the registration; <disable/> drops it too."""

import re

import harness
from rawxmpp import Raw
from smsutil import login, quiet

PUSH = "urn:xmpp:push:0"
APP = "push@localhost/app"


def enable(client, ident, node="device-1", secret="s3cr3t"):
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            f"<field var='secret'><value>{secret}</value></field></x>")
    return client.iq(ident, f"<enable xmlns='{PUSH}' jid='{APP}' node='{node}'>{form}</enable>")


def leave(client):
    """Ends the stream and waits for the server to close it: the session is gone after."""
    client.send("</stream:stream>")
    assert client.closed_after(), "the server did not close the stream"


def notification(app):
    text = app.read_until(r"<iq[^>]*type='set'[^>]*>.*?</iq>")
    return text[text.rindex("<iq"):]


def scenario():
    with harness.Server(tls="optional") as server:
        for user in ("alice", "bob", "push"):
            server.add_user(user, "pw-" + user)
        app = login(server.c2s_port, "push", resource="app")
        bob = login(server.c2s_port, "bob", resource="raw")
        alice = login(server.c2s_port, "alice", resource="phone")

        info = alice.iq("d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get")
        assert f"var='{PUSH}'" in info, info
        bad = alice.iq("e1", f"<enable xmlns='{PUSH}' jid='{APP}'/>")
        assert "bad-request" in bad, bad
        bad = alice.iq("e2", f"<enable xmlns='{PUSH}' jid='@@' node='n'/>")
        assert "bad-request" in bad, bad
        assert "type='result'" in enable(alice, "e3"), "enable refused"
        leave(alice)

        # A message to alice while she is away: stored, and the app server is told.
        bob.send("<message to='alice@localhost' type='chat' id='m1'><body>secret plans</body></message>")
        iq = notification(app)
        ident = re.search(r"id='([^']+)'", iq).group(1)
        assert "from='alice@localhost'" in iq and "node='device-1'" in iq, iq
        assert "<value>urn:xmpp:push:summary</value>" in iq, iq
        assert re.search(r"var='message-count'[^>]*>\s*<value>1</value>", iq), iq
        assert re.search(r"var='last-message-sender'[^>]*>\s*<value>bob@localhost</value>", iq), iq
        assert "<value>s3cr3t</value>" in iq and "publish-options" in iq, iq
        assert "secret plans" not in iq, iq
        app.send(f"<iq type='result' id='{ident}' to='alice@localhost'/>")
        # A chat state is not stored, so nobody is woken up for it.
        bob.send("<message to='alice@localhost' type='chat'>"
                 "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
        # bob's session handles his stanzas in order: once his ping is answered, the chat state
        # has been routed, and a notification for it would be ahead of the app server's ping.
        quiet(bob, r"type='error'", "the chat state")
        quiet(app, r"urn:xmpp:push:0", "a notification for a chat state")

        # The registration is stored: after a restart it still works.
        for c in (app, bob):
            c.sock.close()
        server.stop()
        server.start()
        app = login(server.c2s_port, "push", resource="app")
        bob = login(server.c2s_port, "bob", resource="raw")
        bob.send("<message to='alice@localhost' type='chat' id='m2'><body>after the restart</body></message>")
        iq = notification(app)
        ident = re.search(r"id='([^']+)'", iq).group(1)
        assert "node='device-1'" in iq, iq
        # The app server refuses it: the registration goes (XEP-0357 §6).
        app.send(f"<iq type='error' id='{ident}' to='alice@localhost'><error type='cancel'>"
                 "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        quiet(app, r"urn:xmpp:push:0", "before the next message")
        bob.send("<message to='alice@localhost' type='chat' id='m3'><body>anyone?</body></message>")
        quiet(bob, r"type='error'", "the message itself is stored as usual")
        quiet(app, r"urn:xmpp:push:0", "a notification after the app server refused")

        # Registered again, then disabled (all nodes of that app server): silence again.
        alice = Raw(server.c2s_port)
        alice.open()
        alice.scram_login("alice", "pw-alice", resource="phone")
        assert "type='result'" in enable(alice, "e4", node="device-2"), "enable refused"
        off = alice.iq("e5", f"<disable xmlns='{PUSH}' jid='{APP}'/>")
        assert "type='result'" in off, off
        leave(alice)
        bob.send("<message to='alice@localhost' type='chat' id='m4'><body>still there?</body></message>")
        quiet(bob, r"type='error'", "the message is stored")
        quiet(app, r"urn:xmpp:push:0", "a notification after <disable/>")
        # Alice's messages were all kept.
        alice = login(server.c2s_port, "alice", resource="phone")
        got = alice.read_until(r"still there\?.*?</message>")
        for body in ("secret plans", "after the restart", "anyone?"):
            assert body in got, got


if __name__ == "__main__":
    harness.run(scenario)

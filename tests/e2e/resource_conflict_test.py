"""Two logins with the same full JID (RFC 6120 §7.7.2.2): the newer session wins, the older one
gets a <conflict/> stream error and is closed; stanzas to the full JID reach the newer one, and
the old one's end does not take the new one down with it."""

import re
import time

import harness
from rawxmpp import Raw


def login(port, user, password, resource):
    r = Raw(port)
    r.open()
    assert r.scram_login(user, password, resource) == f"{user}@localhost/{resource}"
    return r


def ping(r, iq_id):
    r.send(f"<iq type='get' id='{iq_id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    reply = r.read_until(rf"<iq[^>]*id='{iq_id}'[^>]*/>|<iq[^>]*id='{iq_id}'.*?</iq>|</stream:stream>")
    assert "type='result'" in reply, reply


def expect_message(r, body):
    got = r.read_until(r"<message.*?</message>")
    assert f"<body>{body}</body>" in got, got
    return got


def scenario():
    with harness.Server(tls="disabled") as server:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")
        port = server.c2s_port

        alice = login(port, "alice", "alice-pw", "a")
        first = login(port, "bob", "bob-pw", "same")
        first.send("<presence/>")
        first.read_until(r"<presence[^>]*from='bob@localhost/same'")
        alice.send("<message to='bob@localhost/same' type='chat'><body>to the first</body></message>")
        expect_message(first, "to the first")

        second = login(port, "bob", "bob-pw", "same")
        text = first.read_until(r"<stream:error>.*?</stream:error>")
        assert "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" in text, text
        assert first.closed_after(), "the replaced session was not closed"

        # Give the old session's teardown every chance to disturb the new one.
        time.sleep(0.5)
        ping(second, "s1")
        alice.send("<message to='bob@localhost/same' type='chat'><body>to the second</body></message>")
        got = expect_message(second, "to the second")
        assert "from='alice@localhost/a'" in got, got

        # The new session is available once it says so; bare-JID chat then reaches it too.
        second.send("<presence/>")
        second.read_until(r"<presence[^>]*from='bob@localhost/same'")
        alice.send("<message to='bob@localhost' type='chat'><body>to the bare JID</body></message>")
        expect_message(second, "to the bare JID")

        # A third login takes over from the second, available and mid-conversation, alike.
        third = login(port, "bob", "bob-pw", "same")
        text = second.read_until(r"<stream:error>.*?</stream:error>")
        assert "<conflict" in text, text
        assert second.closed_after()
        time.sleep(0.3)
        alice.send("<message to='bob@localhost/same' type='chat'><body>to the third</body></message>")
        expect_message(third, "to the third")

        # Another resource of the same user is no conflict.
        other = login(port, "bob", "bob-pw", "other")
        ping(third, "t1")
        ping(other, "o1")
        alice.send("<message to='bob@localhost/other' type='chat'><body>to other</body></message>")
        expect_message(other, "to other")
        assert not third.closed_after(0.3), "a login with another resource ended an existing session"
        assert b"<stream:error>" not in third.buf

        # A session the server replaced must not leave a ghost behind: after the third one
        # logs out, a chat to the full JID is treated as to the bare JID (RFC 6121
        # §8.5.3.2.1); bob/other is not available, so it is stored offline and delivered later.
        third.send("</stream:stream>")
        assert third.closed_after()
        other.send("</stream:stream>")
        assert other.closed_after()
        time.sleep(0.3)
        alice.send("<message to='bob@localhost/same' type='chat' id='later'><body>later</body></message>")
        ping(alice, "a1")
        fresh = login(port, "bob", "bob-pw", "fresh")
        fresh.send("<presence/>")
        got = fresh.read_until(r"<message[^>]*id='later'.*?</message>", timeout=5)
        assert "<body>later</body>" in got and re.search(r"urn:xmpp:delay", got), got


if __name__ == "__main__":
    harness.run(scenario)

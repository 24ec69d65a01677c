"""XEP-0198: acks count handled stanzas; a dropped connection is resumed and every stanza the
client had not acknowledged arrives again; a session that is never resumed hands its
unacknowledged messages to offline storage; <a/> from the client past what was sent is an
error."""

import re
import harness
import xmpp
from rawxmpp import Raw

SM = "urn:xmpp:sm:3"


def sm_login(port, user, password, resource):
    r = Raw(port)
    r.open()
    r.scram_login(user, password, resource=resource)
    r.send("<presence/>")
    r.send(f"<enable xmlns='{SM}' resume='true'/>")
    enabled = r.read_until(r"<enabled[^>]*/>")
    # Only the <enabled/> element: stanzas read before it (offline messages, presence) have ids.
    enabled = enabled[enabled.rindex("<enabled"):]
    smid = re.search(r" id='([^']+)'", enabled).group(1)
    assert "resume='true'" in enabled, enabled
    return r, smid


def bodies(text):
    return re.findall(r"<body>([^<]*)</body>", text)


def scenario():
    with harness.Server(tls="disabled", extra_toml="") as server:
        server.add_user("alice", "pw-a")
        server.add_user("bob", "pw-b")
        bob = xmpp.Client("bob@localhost/b", "pw-b")
        assert bob.login(server.c2s_port)

        # <r/> is answered with the count of handled stanzas.
        alice, smid = sm_login(server.c2s_port, "alice", "pw-a", "phone")
        alice.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        alice.send(f"<r xmlns='{SM}'/>")
        ack = alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='\d+'/>")
        assert "h='1'" in ack, ack  # the ping; the presence came before <enable/>

        for i in range(3):
            bob.send_message(mto="alice@localhost/phone", mbody=f"before-{i}", mtype="chat")
        xmpp.pump()
        got = alice.read_until(r"before-2</body>")
        assert bodies(got)[-3:] == ["before-0", "before-1", "before-2"], got
        # Drop the TCP connection without acknowledging anything, then send more.
        alice.sock.close()
        xmpp.pump(0.5)
        for i in range(2):
            bob.send_message(mto="alice@localhost/phone", mbody=f"after-{i}", mtype="chat")
        xmpp.pump(0.5)

        alice = Raw(server.c2s_port)
        alice.open()
        assert alice.scram_auth("alice", "pw-a").startswith("<success")
        alice.open()
        alice.send(f"<resume xmlns='{SM}' previd='{smid}' h='0'/>")
        resumed = alice.read_until(r"after-1</body>")
        assert f"previd='{smid}'" in resumed, resumed
        got = [b for b in bodies(resumed) if b.startswith(("before", "after"))]
        assert got == ["before-0", "before-1", "before-2", "after-0", "after-1"], got
        # The resumed session is the same resource: new messages reach it.
        bob.send_message(mto="alice@localhost", mbody="live", mtype="chat")
        xmpp.pump()
        alice.read_until(r"live</body>")

        # Acknowledging more than was sent ends the stream.
        alice.send(f"<a xmlns='{SM}' h='4000'/>")
        alice.expect_stream_error("undefined-condition")

    # A session that is never resumed: its unacknowledged messages go offline.
    with harness.Server(tls="disabled", extra_toml="") as server:
        with open(server.config_path) as f:
            text = f.read()
        server.stop()
        with open(server.config_path, "w") as f:
            f.write(text.replace("direct_tls_port", "sm_resume_timeout_seconds = 2\ndirect_tls_port"))
        server.start()
        server.add_user("alice", "pw-a")
        server.add_user("bob", "pw-b")
        bob = xmpp.Client("bob@localhost/b", "pw-b")
        assert bob.login(server.c2s_port)
        alice, smid = sm_login(server.c2s_port, "alice", "pw-a", "phone")
        bob.send_message(mto="alice@localhost/phone", mbody="unacked-1", mtype="chat")
        xmpp.pump()
        alice.read_until(r"unacked-1</body>")
        alice.sock.close()
        xmpp.pump(0.3)
        bob.send_message(mto="alice@localhost/phone", mbody="unacked-2", mtype="chat")
        xmpp.pump(3.5)  # past the resume timeout
        alice2 = xmpp.Client("alice@localhost/laptop", "pw-a")
        assert alice2.login(server.c2s_port)
        got = [alice2.next_message()["body"] for _ in range(2)]
        assert got == ["unacked-1", "unacked-2"], got
        # resuming now is too late
        late = Raw(server.c2s_port)
        late.open()
        late.scram_auth("alice", "pw-a")
        late.open()
        late.send(f"<resume xmlns='{SM}' previd='{smid}' h='0'/>")
        assert "item-not-found" in late.read_until(r"<failed.*?</failed>")


if __name__ == "__main__":
    harness.run(scenario)

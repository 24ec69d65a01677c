"""Client state indication (XEP-0352) with slixmpp's own plugin (xep_0352), beside the raw
scenario of csi_test: alice's slixmpp sees the <csi/> stream feature and says <inactive/>;
bob, a contact she is subscribed to, changes his presence three times and his second resource
goes offline. None of that reaches her while she is inactive, but bob's message does, at once.
After <active/> she gets the latest presence of each of bob's resources, once: the last
change of the one, the unavailable of the other."""

import harness
import xmpp

CSI = "urn:xmpp:csi:0"
BOB_DESK = "bob@localhost/desk"
BOB_TABLET = "bob@localhost/tablet"


def client(server, jid, password):
    c = xmpp.Client(jid, password)
    c.register_plugin("xep_0352")
    assert c.login(server.c2s_port), f"{jid} could not log in"
    return c


def sync(c):
    """A ping to the server and back: the server handles a client's stream in order, so
    everything `c` sent before (a CSI nonza too) has been handled once the answer is here."""
    xmpp.run(c["xep_0199"].ping(jid="localhost", timeout=10))


def queued_presences(c, wait=0.5):
    """Lets the clients run for `wait` seconds; returns and empties what `c` has queued."""
    xmpp.pump(wait)
    got = []
    while not c.presences.empty():
        got.append(c.presences.get_nowait())
    return got


def describe(presences):
    return [(str(p["from"]), p["type"], p["show"], p["status"]) for p in presences]


def scenario():
    with harness.Server(tls="optional") as server:
        for user in ("alice", "bob"):
            server.add_user(user, "pw-" + user)
        alice = client(server, "alice@localhost/phone", "pw-alice")
        # The server offers CSI after authentication (XEP-0352 §2): the plugin saw the feature.
        assert alice["xep_0352"].enabled, "slixmpp saw no <csi/> stream feature"
        bob = client(server, BOB_DESK, "pw-bob")
        tablet = client(server, BOB_TABLET, "pw-bob")

        # alice subscribes to bob's presence; bob approves.
        alice.send_presence_subscription(pto="bob@localhost")
        request = bob.next_presence(lambda p: p["type"] == "subscribe")
        assert request["from"].bare == "alice@localhost", request
        bob.send_presence(pto="alice@localhost", ptype="subscribed")
        alice.next_presence(lambda p: p["type"] == "subscribed")

        # Active (the default): bob's presence comes at once, from both his resources.
        bob.send_presence(pstatus="here")
        tablet.send_presence(pstatus="tablet here")
        wanted = {(BOB_DESK, "available", "here"), (BOB_TABLET, "available", "tablet here")}
        seen = set()
        while not wanted <= seen:
            p = alice.next_presence(lambda p: p["from"].bare == "bob@localhost")
            seen.add((str(p["from"]), p["type"], p["status"]))
        queued_presences(alice)

        # Inactive: bob's changes and his tablet going offline are held.
        alice["xep_0352"].send_inactive()
        sync(alice)
        for show, status in (("away", "one"), ("dnd", "two"), ("xa", "three")):
            bob.send_presence(pshow=show, pstatus=status)
        tablet.close()
        # The tablet's unavailable has gone through the server before bob's next stanza: bob's
        # own resources see it too, and bob waits for that.
        bob.next_presence(lambda p: str(p["from"]) == BOB_TABLET and p["type"] == "unavailable")
        bob.send_message(mto="alice@localhost/phone", mbody="urgent", mtype="chat")
        message = alice.next_message(timeout=3)
        assert message["body"] == "urgent" and str(message["from"]) == BOB_DESK, message
        # Presence that the server routed before the message would have come before it; give it
        # more time anyway, then ask the server for a round trip.
        held = queued_presences(alice, wait=1.0)
        sync(alice)
        held += queued_presences(alice, wait=0.2)
        assert not [p for p in held if p["from"].bare == "bob@localhost"], \
            f"bob's presence reached an inactive client: {describe(held)}"

        # Active again: the latest presence of each resource, once.
        alice["xep_0352"].send_active()
        sync(alice)
        flushed = [p for p in queued_presences(alice) if p["from"].bare == "bob@localhost"]
        by_sender = {}
        for p in flushed:
            by_sender.setdefault(str(p["from"]), []).append(p)
        assert sorted(by_sender) == [BOB_DESK, BOB_TABLET], f"after <active/>: {describe(flushed)}"
        [desk] = by_sender[BOB_DESK]
        assert desk["type"] == "xa" and desk["status"] == "three", describe(flushed)
        [gone] = by_sender[BOB_TABLET]
        assert gone["type"] == "unavailable", describe(flushed)

        # Active means at once again.
        bob.send_presence(pstatus="back")
        got = alice.next_presence(lambda p: str(p["from"]) == BOB_DESK, timeout=3)
        assert got["status"] == "back" and got["type"] == "available", describe([got])
        alice.close()
        bob.close()


if __name__ == "__main__":
    harness.run(scenario)

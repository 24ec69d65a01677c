"""Presence priority decides where a message to a bare JID goes (RFC 6121 §8.5.2.1): chat and
normal to the highest-priority resource only, headline to every non-negative one, nothing to a
negative one (offline storage instead, delivered at the next login with non-negative priority);
a full JID reaches its resource whatever its priority (§8.5.3.1), and a full JID whose resource
is gone counts as the bare JID (§8.5.3.2.1)."""

import harness
import xmpp


def wait_own_presence(client, priority):
    """Waits until the server reflects `client`'s presence with this priority back to it."""
    me = str(client.boundjid)
    client.next_presence(lambda p: str(p["from"]) == me and p["type"] not in ("unavailable", "error")
                         and int(p["priority"] or 0) == priority)


def body_from(client, expected_body, expected_type=None):
    m = client.next_message()
    assert m["body"] == expected_body, f"{client.boundjid} got {m['body']!r}, expected {expected_body!r}"
    if expected_type is not None:
        assert m["type"] == expected_type, m
    return m


def scenario():
    with harness.Server(tls="required") as server:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")
        port = server.c2s_port
        alice = xmpp.Client("alice@localhost/a", "alice-pw")
        high = xmpp.Client("bob@localhost/high", "bob-pw", priority=5)
        low = xmpp.Client("bob@localhost/low", "bob-pw", priority=1)
        for c in (alice, high, low):
            assert c.login(port), f"{c.boundjid} could not log in"
        wait_own_presence(high, 5)
        wait_own_presence(low, 1)

        # §8.5.2.1.1: chat and normal go to the most available resource only.
        alice.send_message(mto="bob@localhost", mbody="chat to bare", mtype="chat")
        body_from(high, "chat to bare")
        alice.send_message(mto="bob@localhost", mbody="normal to bare", mtype="normal")
        body_from(high, "normal to bare")
        assert low.no_message(1.0), "the priority-1 resource got a chat or normal message to the bare JID"

        # §8.5.2.1.2: headline to every resource with non-negative priority.
        alice.send_message(mto="bob@localhost", mbody="headline to bare", mtype="headline")
        body_from(high, "headline to bare", "headline")
        body_from(low, "headline to bare", "headline")

        # §8.5.3.1: a full JID is delivered to that resource, priority notwithstanding.
        alice.send_message(mto="bob@localhost/low", mbody="to low itself", mtype="chat")
        body_from(low, "to low itself")
        assert high.no_message(0.5)

        # §8.5.3.2.1: a resource that is not there: as if sent to the bare JID.
        alice.send_message(mto="bob@localhost/gone", mbody="to a gone resource", mtype="chat")
        body_from(high, "to a gone resource")
        assert low.no_message(1.0), "a message to a gone resource went to the lower priority too"

        # With the priority-5 resource gone, priority 1 is the highest.
        high.close()
        alice.send_message(mto="bob@localhost", mbody="low is best now", mtype="chat")
        body_from(low, "low is best now")

        # Only a negative-priority resource is left: it never gets bare-JID messages (§8.5.2.1),
        # so chat goes to offline storage, and headline is dropped (§8.5.2.2.2).
        low.send_presence(ppriority=-1)
        wait_own_presence(low, -1)
        alice.send_message(mto="bob@localhost", mbody="stored 1", mtype="chat")
        alice.send_message(mto="bob@localhost", mbody="dropped headline", mtype="headline")
        alice.send_message(mto="bob@localhost/gone", mbody="stored 2", mtype="chat")
        alice.send_message(mto="bob@localhost/gone", mbody="dropped headline 2", mtype="headline")
        alice.send_message(mto="bob@localhost/low", mbody="negative but addressed", mtype="chat")
        body_from(low, "negative but addressed")
        assert low.no_message(1.0), "the negative-priority resource got a bare-JID message"
        assert alice.no_message(0.5), "alice got an answer (an error?) for a stored message"
        xmpp.run(alice["xep_0199"].ping("localhost", timeout=10))

        # The next login with non-negative priority gets the stored chat messages, in order,
        # marked as delayed (XEP-0203), and nothing else.
        fresh = xmpp.Client("bob@localhost/fresh", "bob-pw", priority=0)
        assert fresh.login(port)
        for expected in ("stored 1", "stored 2"):
            m = body_from(fresh, expected)
            assert str(m["from"]) == "alice@localhost/a", m
            delay = m.xml.find("{urn:xmpp:delay}delay")
            assert delay is not None and delay.get("stamp"), f"no XEP-0203 delay on {expected!r}"
        assert fresh.no_message(1.0), "headlines were stored offline, or more was delivered"
        assert low.no_message(0.5), "the negative-priority resource got the offline messages"

        # Now that fresh (priority 0) is online, a bare-JID chat goes to it and not to low.
        alice.send_message(mto="bob@localhost", mbody="to fresh", mtype="chat")
        body_from(fresh, "to fresh")
        assert low.no_message(1.0)

        for c in (alice, low, fresh):
            c.close()


if __name__ == "__main__":
    harness.run(scenario)

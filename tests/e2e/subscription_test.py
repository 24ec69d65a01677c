"""RFC 6121 presence subscriptions between two local users, as clients see them: a request,
its approval, roster pushes with the right subscription states, presence flowing both ways,
unavailable presence when a resource leaves, and roster removal cancelling both directions."""

import harness
import xmpp


def scenario():
    with harness.Server(tls="required") as server:
        server.add_user("alice", "pw-a")
        server.add_user("bob", "pw-b")
        alice = xmpp.Client("alice@localhost/a", "pw-a")
        bob = xmpp.Client("bob@localhost/b", "pw-b")
        assert alice.login(server.c2s_port) and bob.login(server.c2s_port)
        assert alice.roster_items() == {}
        bob.roster_items()  # bob becomes an interested resource (roster pushes)

        alice.send_presence(pto="bob@localhost", ptype="subscribe")
        req = bob.next_presence(lambda p: p["type"] == "subscribe")
        assert str(req["from"]) == "alice@localhost", req
        items = alice.roster_items()
        assert items["bob@localhost"]["subscription"] == "none" and items["bob@localhost"]["ask"] == "subscribe", items

        bob.send_presence(pto="alice@localhost", ptype="subscribed")
        ok = alice.next_presence(lambda p: p["type"] == "subscribed")
        assert str(ok["from"]) == "bob@localhost"
        # bob's current presence follows the approval
        avail = alice.next_presence(lambda p: p["type"] == "available" and str(p["from"]).startswith("bob@"))
        assert str(avail["from"]) == "bob@localhost/b", avail
        assert alice.roster_items()["bob@localhost"]["subscription"] == "to"
        assert bob.roster_items()["alice@localhost"]["subscription"] == "from"

        # bob changes status: alice (subscribed to him) sees it
        bob.send_presence(pshow="away", pstatus="lunch")
        p = alice.next_presence(lambda p: str(p["from"]) == "bob@localhost/b" and p["show"] == "away")
        assert p["status"] == "lunch"

        # a second resource of bob's logs in and out: alice sees available then unavailable
        bob2 = xmpp.Client("bob@localhost/laptop", "pw-b")
        assert bob2.login(server.c2s_port)
        alice.next_presence(lambda p: str(p["from"]) == "bob@localhost/laptop" and p["type"] == "available")
        bob2.close()
        alice.next_presence(lambda p: str(p["from"]) == "bob@localhost/laptop" and p["type"] == "unavailable")

        # the roster survives a restart of the server
        alice.close()
        bob.close()
        assert server.stop() == 0
        server.start()
        alice = xmpp.Client("alice@localhost/a", "pw-a")
        assert alice.login(server.c2s_port)
        assert alice.roster_items()["bob@localhost"]["subscription"] == "to"

        # removing bob from the roster cancels the subscription on both sides
        bob = xmpp.Client("bob@localhost/b", "pw-b")
        assert bob.login(server.c2s_port)
        bob.roster_items()
        iq = alice.Iq(stype="set")
        iq["roster"]["items"] = {"bob@localhost": {"subscription": "remove"}}
        alice.iq(iq)
        assert "bob@localhost" not in alice.roster_items()
        bob.next_presence(lambda p: p["type"] == "unsubscribe" and str(p["from"]) == "alice@localhost")
        assert bob.roster_items()["alice@localhost"]["subscription"] == "none"
        alice.close()
        bob.close()


if __name__ == "__main__":
    harness.run(scenario)

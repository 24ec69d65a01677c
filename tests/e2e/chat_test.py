"""Two users chat: both log in over STARTTLS with SCRAM, alice writes to bob's bare JID and
to his full JID, bob answers; the server stamps 'from'; a message to an unknown user comes back
as service-unavailable, and one to an unknown domain as remote-server-not-found."""

import harness
import xmpp


def scenario():
    with harness.Server(tls="required") as server:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")
        alice = xmpp.Client("alice@localhost/desk", "alice-pw")
        bob = xmpp.Client("bob@localhost/phone", "bob-pw")
        assert alice.login(server.c2s_port), "alice could not log in"
        assert bob.login(server.c2s_port), "bob could not log in"
        assert alice.is_connected() and bob.is_connected()

        alice.send_message(mto="bob@localhost", mbody="hello bob", mtype="chat")
        m = bob.next_message()
        assert m["body"] == "hello bob", m
        assert str(m["from"]) == "alice@localhost/desk", f"from not stamped: {m['from']}"

        bob.send_message(mto="alice@localhost/desk", mbody="héllo ✓ <alice> & co", mtype="chat")
        m = alice.next_message()
        assert m["body"] == "héllo ✓ <alice> & co", m
        assert str(m["from"]) == "bob@localhost/phone"

        alice.send_message(mto="nobody@localhost", mbody="anyone?", mtype="chat")
        err = alice.next_message()
        assert err["type"] == "error", err
        assert err["error"]["condition"] == "service-unavailable", err

        alice.send_message(mto="someone@elsewhere.example", mbody="hi", mtype="chat")
        err = alice.next_message()
        assert err["type"] == "error" and err["error"]["condition"] == "remote-server-not-found", err

        # iq ping to the server and disco#info on the server
        xmpp.run(alice["xep_0199"].ping("localhost", timeout=10))
        info = xmpp.run(alice["xep_0030"].get_info(jid="localhost"))
        features = info["disco_info"]["features"]
        assert "urn:xmpp:ping" in features and "msgoffline" in features, features

        alice.close()
        bob.close()


if __name__ == "__main__":
    harness.run(scenario)

"""Client state indication (XEP-0352): the server offers it after authentication; while
alice's client says it is inactive, her contacts' presence updates wait (only the latest
per sender is kept), messages and subscription requests still come at once, and <active/>
sends what waited. Neither nonza is counted by stream management."""

import re

import harness
from rawxmpp import Raw
from smsutil import quiet

CSI = "urn:xmpp:csi:0"


def scenario():
    with harness.Server(tls="disabled") as server:
        for user in ("alice", "bob"):
            server.add_user(user, "pw-" + user)
        alice = Raw(server.c2s_port)
        alice.open()
        assert alice.scram_auth("alice", "pw-alice").startswith("<success")
        features = alice.open()
        assert f"<csi xmlns='{CSI}'/>" in features, features
        alice.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                   "<resource>phone</resource></bind></iq>")
        alice.read_until(r"<iq[^>]*id='b1'.*?</iq>")
        alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
        alice.read_until(r"<enabled[^>]*/>")
        alice.send("<presence/>")
        bob = Raw(server.c2s_port)
        bob.open()
        bob.scram_login("bob", "pw-bob", resource="desk")

        # Active (the default): presence comes at once.
        bob.send("<presence to='alice@localhost'><status>here</status></presence>")
        assert "here" in alice.read_until(r"<presence[^>]*from='bob@localhost/desk'.*?</presence>")

        # Inactive: presence waits, a message and a subscription request do not.
        alice.send(f"<inactive xmlns='{CSI}'/>")
        bob.send("<presence to='alice@localhost'><status>one</status></presence>")
        bob.send("<presence to='alice@localhost'><status>two</status></presence>")
        bob.send("<message to='alice@localhost' id='m1' type='chat'><body>urgent</body></message>")
        got = alice.read_until(r"<message[^>]*id='m1'.*?</message>")
        assert "<presence" not in got, got
        bob.send("<presence to='alice@localhost' type='subscribe'/>")
        got = alice.read_until(r"<presence[^>]*type='subscribe'[^>]*/>")
        assert "<status>" not in got, got
        quiet(alice, r"<presence(?![^>]*type='subscribe')", "presence reached an inactive client")

        # Stream management counts stanzas, not the CSI nonzas: h is what alice sent.
        alice.send("<r xmlns='urn:xmpp:sm:3'/>")
        answer = alice.read_until(r"<a xmlns='urn:xmpp:sm:3' h='\d+'/>")
        assert re.search(r"h='2'", answer), answer  # the initial presence and quiet()'s ping

        # Active again: the latest presence of bob, once.
        alice.send(f"<active xmlns='{CSI}'/>")
        got = alice.read_until(r"<presence[^>]*from='bob@localhost/desk'[^>]*>.*?</presence>")
        assert "<status>two</status>" in got and "one" not in got, got
        quiet(alice, r"<status>(one|two)</status>", "held presence was sent twice")


if __name__ == "__main__":
    harness.run(scenario)

"""RFC 6121 §4.6: directed presence reaches a user who is not subscribed, and when the sender
goes away (by unavailable presence, or by dropping the connection) that user gets its
unavailable presence too."""

import harness
import xmpp
from rawxmpp import Raw


def scenario():
    with harness.Server(tls="disabled") as server:
        server.add_user("gina", "pw-g")
        server.add_user("hank", "pw-h")
        hank = xmpp.Client("hank@localhost/h", "pw-h")
        assert hank.login(server.c2s_port)

        gina = Raw(server.c2s_port)
        gina.open()
        gina.scram_login("gina", "pw-g", resource="g1")
        gina.send("<presence/><presence to='hank@localhost/h'><status>hi hank</status></presence>")
        p = hank.next_presence(lambda p: str(p["from"]) == "gina@localhost/g1")
        assert p["type"] == "available" and p["status"] == "hi hank", p
        gina.sock.close()  # no unavailable sent by the client
        p = hank.next_presence(lambda p: str(p["from"]) == "gina@localhost/g1")
        assert p["type"] == "unavailable", p

        gina = Raw(server.c2s_port)
        gina.open()
        gina.scram_login("gina", "pw-g", resource="g2")
        gina.send("<presence to='hank@localhost'/>")  # directed only, no broadcast
        p = hank.next_presence(lambda p: str(p["from"]) == "gina@localhost/g2")
        assert p["type"] == "available", p
        gina.send("<presence type='unavailable'/>")
        p = hank.next_presence(lambda p: str(p["from"]) == "gina@localhost/g2")
        assert p["type"] == "unavailable", p
        hank.close()


if __name__ == "__main__":
    harness.run(scenario)

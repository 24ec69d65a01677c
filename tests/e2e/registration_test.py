"""XEP-0077: with registration allowed, a client creates an account in-band and logs in with
it; a taken name is a conflict; a logged-in user changes the password (the old one stops
working) and can cancel the account. With registration off (the default) the server says
service-unavailable and does not advertise the feature."""

import harness
import xmpp
from rawxmpp import Raw

REG = "jabber:iq:register"


def register(port, user, password):
    r = Raw(port)
    features = r.open()
    assert "http://jabber.org/features/iq-register" in features, features
    r.send(f"<iq type='get' id='g1'><query xmlns='{REG}'/></iq>")
    form = r.read_until(r"<iq[^>]*id='g1'.*?</iq>")
    assert "<username/>" in form and "<password/>" in form, form
    r.send(f"<iq type='set' id='s1'><query xmlns='{REG}'><username>{user}</username>"
           f"<password>{password}</password></query></iq>")
    return r.read_until(r"<iq[^>]*id='s1'[^>]*/>|<iq[^>]*id='s1'.*?</iq>")


def scenario():
    with harness.Server(tls="disabled", c2s_extra="allow_registration = true") as server:
        reply = register(server.c2s_port, "carol", "carol-pw")
        assert "type='result'" in reply, reply
        reply = register(server.c2s_port, "carol", "other")
        assert "<conflict " in reply, reply

        r = Raw(server.c2s_port)
        r.open()
        assert r.scram_login("carol", "carol-pw") == "carol@localhost/raw"
        # change the password
        r.send(f"<iq type='set' id='c1' to='localhost'><query xmlns='{REG}'><username>carol</username>"
               f"<password>new-pw</password></query></iq>")
        assert "type='result'" in r.read_until(r"<iq[^>]*id='c1'[^>]*/>|<iq[^>]*id='c1'.*?</iq>")
        old = Raw(server.c2s_port)
        old.open()
        assert "<not-authorized/>" in old.scram_auth("carol", "carol-pw")
        r2 = Raw(server.c2s_port)
        r2.open()
        assert r2.scram_login("carol", "new-pw", resource="two") == "carol@localhost/two"
        # cancel the account: the stream ends and the account is gone
        r2.send(f"<iq type='set' id='x1'><query xmlns='{REG}'><remove/></query></iq>")
        r2.read_until(r"<iq[^>]*id='x1'")
        r2.expect_stream_error("not-authorized")
        assert server.ctl("user", "exists", "carol", check=False).returncode == 1

    with harness.Server(tls="disabled") as server:
        r = Raw(server.c2s_port)
        features = r.open()
        assert "iq-register" not in features, features
        r.send(f"<iq type='set' id='s1'><query xmlns='{REG}'><username>mallory</username>"
               f"<password>pw</password></query></iq>")
        reply = r.read_until(r"<iq[^>]*id='s1'.*?</iq>")
        assert "service-unavailable" in reply, reply
        assert server.ctl("user", "exists", "mallory", check=False).returncode == 1


if __name__ == "__main__":
    harness.run(scenario)

"""Hostile and broken input over raw sockets gets the RFC 6120 stream error it deserves, and
the connection is closed; the server stays up for everyone else."""

import time

import harness
import rawxmpp
from rawxmpp import Raw

NS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"


def scenario():
    with harness.Server(tls="disabled") as server:
        server.add_user("eve", "eve-pw")
        port = server.c2s_port

        r = Raw(port)
        r.send(f"<?xml version='1.0'?><stream:stream to='unknown.example' {NS} version='1.0'>")
        r.expect_stream_error("host-unknown")

        r = Raw(port)
        r.send("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:server' "
               "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        r.expect_stream_error("invalid-namespace")

        r = Raw(port)
        r.send(f"<?xml version='1.0'?><stream:stream to='localhost' {NS}>")
        r.expect_stream_error("unsupported-version")

        r = Raw(port)
        r.send("<?xml version='1.0'?><stream to='localhost' xmlns='jabber:client' version='1.0'>")
        r.expect_stream_error("invalid-namespace")

        r = Raw(port)
        r.open()
        r.send("<message><body>unclosed</message>")
        r.expect_stream_error("not-well-formed")

        r = Raw(port)
        r.send("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;'>]>"
               f"<stream:stream to='localhost' {NS} version='1.0'>")
        r.expect_stream_error("restricted-xml")

        r = Raw(port)
        r.open()
        r.send("<!-- a comment -->")
        r.expect_stream_error("restricted-xml")

        r = Raw(port)
        r.open()
        r.send("<message to='eve@localhost'><body>before auth</body></message>")
        r.expect_stream_error("not-authorized")

        r = Raw(port)
        r.open()
        r.send("<iq type='get' id='x'><query xmlns='jabber:iq:roster'>" + "x" * 40000 + "</query></iq>")
        r.expect_stream_error("policy-violation")

        # A wrong password: <not-authorized/> after a delay, and the stream stays usable.
        r = Raw(port)
        r.open()
        started = time.time()
        failure = r.scram_auth("eve", "not-eve-pw")
        assert "<not-authorized/>" in failure, failure
        assert time.time() - started >= 0.3, "no delay after a failed authentication"
        jid = r.scram_login("eve", "eve-pw")
        assert jid == "eve@localhost/raw", jid

        # After binding: a spoofed 'from' ends the stream with <invalid-from/>.
        r.send("<message from='alice@localhost/x' to='eve@localhost'><body>spoof</body></message>")
        r.expect_stream_error("invalid-from")

        r = Raw(port)
        r.open()
        r.scram_login("eve", "eve-pw", resource="second")
        r.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        r.read_until(r"<iq[^>]*id='r1'[^>]*type='result'|<iq[^>]*type='result'[^>]*id='r1'")
        r.send("<nonsense xmlns='urn:example'/>")
        r.expect_stream_error("unsupported-stanza-type")

        # an iq nobody handles is answered, never dropped
        r = Raw(port)
        r.open()
        r.scram_login("eve", "eve-pw", resource="third")
        # the legacy session iq (RFC 3921 §3) is answered for old clients
        r.send("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
        assert "type='result'" in r.read_until(r"<iq[^>]*id='s1'[^>]*/>|<iq[^>]*id='s1'.*?</iq>")
        r.send("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:unknown'/></iq>")
        reply = r.read_until(r"<iq[^>]*id='u1'.*?</iq>")
        assert "type='error'" in reply and "service-unavailable" in reply, reply

        # the server is still fine
        r = Raw(port)
        features = r.open()
        assert "SCRAM-SHA-256" in features and "PLAIN" not in features, features


if __name__ == "__main__":
    harness.run(scenario)

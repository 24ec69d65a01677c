"""Hostile XML over raw plaintext sockets: entity expansion (billion laughs), external entities
(XXE, by file and by network), processing instructions, stanzas past the size, depth and
attribute limits, invalid UTF-8, and input trickled in one byte at a time. Each attack gets its
RFC 6120 stream error, nothing is expanded or fetched, and the server stays up and small."""

import re
import socket
import time

import harness
from rawxmpp import Raw

NS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
STREAM = f"<stream:stream to='localhost' {NS} version='1.0'>"

LIMITS = """
[limits]
max_stanza_bytes = 8192
max_stanza_bytes_unauthenticated = 4096
max_depth = 16
max_attributes = 16
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/PID/status")


def everything_until_closed(r, timeout=10):
    """All bytes the server sends until it closes the connection (fails if it does not)."""
    assert r.closed_after(timeout), f"the connection stayed open; got {r.buf!r}"
    return r.buf.decode(errors="replace")


def expect_error(r, condition, timeout=5):
    started = time.time()
    text = r.read_until(r"<stream:error>.*?</stream:error>", timeout=timeout)
    assert f"<{condition} " in text or f"<{condition}/>" in text, f"expected <{condition}/>, got {text}"
    assert r.closed_after(), "the server did not close the connection after a stream error"
    return text, time.time() - started


def login(port, user, password, resource):
    r = Raw(port)
    r.open()
    jid = r.scram_login(user, password, resource)
    assert jid == f"{user}@localhost/{resource}", jid
    return r


def ping(r, iq_id, padding=""):
    r.send(f"<iq type='get' id='{iq_id}' to='localhost'><ping xmlns='urn:xmpp:ping'>{padding}</ping></iq>")
    reply = r.read_until(rf"<iq[^>]*id='{iq_id}'[^>]*/>|<iq[^>]*id='{iq_id}'.*?</iq>")
    assert "type='result'" in reply, reply


class Trickle(Raw):
    """Sends every byte in its own TCP segment."""

    def __init__(self, port):
        super().__init__(port)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(0.0005)


def billion_laughs(port, pid):
    entities = "<!ENTITY lol0 'lol'>" + "".join(
        f"<!ENTITY lol{i} '{('&lol' + str(i - 1) + ';') * 10}'>" for i in range(1, 10))
    before = rss_kib(pid)
    r = Raw(port)
    r.send(f"<?xml version='1.0'?><!DOCTYPE lolz [{entities}]>{STREAM}"
           "<message><body>&lol9;&lol9;&lol9;</body></message>")
    _, took = expect_error(r, "restricted-xml")
    assert took < 2.0, f"the answer to billion laughs took {took:.1f}s: was something expanded?"
    # 10^9 'lol's would be 3 GB; allow ordinary growth only.
    grown = rss_kib(pid) - before
    assert grown < 50 * 1024, f"parleyd grew by {grown} KiB while refusing billion laughs"

    # The same entities declared, and referenced, inside the open stream.
    r = Raw(port)
    r.open()
    r.send(f"<!DOCTYPE lolz [{entities}]><message><body>&lol9;</body></message>")
    text = everything_until_closed(r)
    assert "<stream:error>" in text and ("<restricted-xml" in text or "<not-well-formed" in text), text
    assert "lollol" not in text, text

    # A reference to an entity nobody declared is an entity reference all the same (§11.1).
    r = Raw(port)
    r.open()
    r.send("<message><body>&lol9;</body></message>")
    expect_error(r, "restricted-xml")
    assert rss_kib(pid) - before < 50 * 1024


def xxe(port):
    passwd_marker = "root:"
    for doctype in [
        "<!DOCTYPE foo [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>",
        "<!DOCTYPE foo [<!ENTITY % xxe SYSTEM 'file:///etc/passwd'> %xxe;]>",
        "<!DOCTYPE stream:stream SYSTEM 'file:///etc/passwd'>",
    ]:
        r = Raw(port)
        r.send(f"<?xml version='1.0'?>{doctype}{STREAM}<message><body>&xxe;</body></message>")
        text = everything_until_closed(r)
        assert "<restricted-xml" in text, f"{doctype}: {text}"
        assert passwd_marker not in text, f"{doctype}: /etc/passwd leaked: {text}"

    # An external DTD or entity on the network is never fetched.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(1.0)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/evil.dtd"
        for doctype in [f"<!DOCTYPE foo [<!ENTITY % ext SYSTEM '{url}'> %ext;]>",
                        f"<!DOCTYPE stream:stream SYSTEM '{url}'>",
                        f"<!DOCTYPE foo [<!ENTITY xxe SYSTEM '{url}'>]>"]:
            r = Raw(port)
            r.send(f"<?xml version='1.0'?>{doctype}{STREAM}<message><body>&xxe;</body></message>")
            text = everything_until_closed(r)
            assert "<restricted-xml" in text, f"{doctype}: {text}"
        try:
            conn, _ = listener.accept()
            conn.close()
            raise AssertionError("parleyd fetched an external DTD or entity over the network")
        except socket.timeout:
            pass


def processing_instructions(port):
    r = Raw(port)
    r.send(f"<?xml version='1.0'?><?evil data?>{STREAM}")
    expect_error(r, "restricted-xml")

    r = Raw(port)
    r.send(f"<?xml version='1.0'?>{STREAM}<?evil data?>")
    expect_error(r, "restricted-xml")

    r = Raw(port)
    r.open()
    r.send("<message to='eve@localhost'><?xml-stylesheet href='x'?><body>hi</body></message>")
    expect_error(r, "restricted-xml")


def size_limits(port):
    # Before authentication the smaller limit applies.
    r = Raw(port)
    r.open()
    r.send("<iq type='get' id='x'><query xmlns='jabber:iq:roster'>" + "x" * 5000 + "</query></iq>")
    expect_error(r, "policy-violation")

    # After authentication 6000 bytes are fine (more than the unauthenticated 4096)...
    r = login(port, "eve", "eve-pw", "big")
    ping(r, "p1", "y" * 6000)
    # ...but 20000 bytes are not, even split over many reads.
    body = "z" * 20000
    stanza = f"<message to='eve@localhost/big'><body>{body}</body></message>"
    for i in range(0, len(stanza), 1000):
        r.send(stanza[i:i + 1000])
    text, _ = expect_error(r, "policy-violation")
    assert body[:9000] not in text, "the oversized stanza came back"

    # One huge attribute value counts as well.
    r = login(port, "eve", "eve-pw", "attr")
    r.send(f"<message to='eve@localhost/attr' id='{'a' * 20000}'><body>x</body></message>")
    expect_error(r, "policy-violation")


def depth_and_attributes(port):
    r = login(port, "eve", "eve-pw", "deep")
    nested = "<a>" * 8 + "</a>" * 8
    ping(r, "d1", nested)
    nested = "<a>" * 40 + "</a>" * 40
    r.send(f"<message to='eve@localhost/deep'><body>x</body><x xmlns='urn:example'>{nested}</x></message>")
    expect_error(r, "policy-violation")

    # A deep, unfinished tree is refused before it is complete.
    r = login(port, "eve", "eve-pw", "deep2")
    r.send("<message to='eve@localhost/deep2'>" + "<a>" * 200)
    expect_error(r, "policy-violation")

    r = login(port, "eve", "eve-pw", "attrs")
    few = " ".join(f"a{i}='v'" for i in range(12))
    ping(r, "a1", f"<x xmlns='urn:example' {few}/>")
    many = " ".join(f"a{i}='v'" for i in range(40))
    r.send(f"<message to='eve@localhost/attrs'><body>x</body><x xmlns='urn:example' {many}/></message>")
    expect_error(r, "policy-violation")

    # Namespace declarations count as attributes.
    r = login(port, "eve", "eve-pw", "nsdecl")
    decls = " ".join(f"xmlns:p{i}='urn:example:{i}'" for i in range(40))
    r.send(f"<message to='eve@localhost/nsdecl' {decls}><body>x</body></message>")
    expect_error(r, "policy-violation")

    # Before authentication too.
    r = Raw(port)
    r.open()
    r.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN' {many}>=</auth>")
    expect_error(r, "policy-violation")


def trickled_login_and_message(port):
    receiver = login(port, "alice", "alice-pw", "recv")
    started = time.time()
    r = Trickle(port)
    r.open()
    jid = r.scram_login("eve", "eve-pw", "trickle")
    assert jid == "eve@localhost/trickle", jid
    text = "héllo ✓ 𝄞 split across reads"
    r.send(f"<message to='alice@localhost/recv' type='chat' id='t1'><body>{text}</body></message>"
           " \n <iq type='get' id='tp' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    got = receiver.read_until(r"<message.*?</message>")
    assert re.search(r"<body>(.*?)</body>", got).group(1) == text, got
    assert "from='eve@localhost/trickle'" in got, got
    r.read_until(r"<iq[^>]*id='tp'")
    assert time.time() - started < 60


def invalid_utf8(port):
    # Well-formed UTF-8 for characters XML forbids is not an encoding problem but bad XML.
    for bad in [b"\x01", b"\xef\xbf\xbe"]:
        r = Raw(port)
        r.open()
        r.send(b"<message><body>x" + bad + b"y</body></message>")
        expect_error(r, "not-well-formed")

    # RFC 6120 §4.9.3.22: a stream that violates the rules of UTF-8 gets <unsupported-encoding/>.
    r = login(port, "eve", "eve-pw", "utf8")
    r.send(b"<message to='alice@localhost'><body>caf\xc3 \xff\xfe</body></message>")
    expect_error(r, "unsupported-encoding")

    # A stray continuation byte, an overlong form, a UTF-16 surrogate, a code point past
    # U+10FFFF, a truncated sequence; in a body, an attribute value and the stream header.
    for bad in [b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]:
        r = Raw(port)
        r.open()
        r.send(b"<message><body>x" + bad + b"y</body></message>")
        expect_error(r, "unsupported-encoding")
    r = Raw(port)
    r.open()
    r.send(b"<message to='\xff@localhost'><body>x</body></message>")
    expect_error(r, "unsupported-encoding")
    r = Raw(port)
    r.send(f"<?xml version='1.0'?><stream:stream to='local\xffhost' {NS} version='1.0'>".encode("latin-1"))
    expect_error(r, "unsupported-encoding")


def scenario():
    with harness.Server(tls="disabled", extra_toml=LIMITS) as server:
        server.add_user("eve", "eve-pw")
        server.add_user("alice", "alice-pw")
        port = server.c2s_port
        pid = server.proc.pid

        # Every part runs even when an earlier one fails, so that one run reports them all.
        failures = []
        for part, args in ((billion_laughs, (port, pid)), (xxe, (port,)), (processing_instructions, (port,)),
                           (size_limits, (port,)), (depth_and_attributes, (port,)),
                           (trickled_login_and_message, (port,)), (invalid_utf8, (port,))):
            try:
                part(*args)
            except (AssertionError, OSError) as e:  # OSError: a socket timed out or broke
                failures.append(f"{part.__name__}: {e}")

        # Still up, still answering, still small.
        r = login(port, "eve", "eve-pw", "last")
        ping(r, "last")
        assert server.proc.poll() is None
        assert not failures, "\n".join(failures)


if __name__ == "__main__":
    harness.run(scenario)

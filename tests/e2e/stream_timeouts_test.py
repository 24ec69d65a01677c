"""[limits] unauthenticated_timeout_seconds: a stream that does not get to a bound session in
time ends with <connection-timeout/> (RFC 6120 §4.9.3.4), whatever it sends meanwhile; a bound
session is never ended by that timer."""

import socket
import time

import harness
from rawxmpp import Raw

TIMEOUT = 2


def timed_out(r, connected_at):
    text = r.read_until(r"<stream:error>.*?</stream:error>", timeout=TIMEOUT + 6)
    took = time.time() - connected_at
    assert "<connection-timeout" in text, text
    assert r.closed_after(), "the connection stayed open after <connection-timeout/>"
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 2, f"<connection-timeout/> after {took:.1f}s, expected ~{TIMEOUT}s"
    return text


def ping(r, iq_id):
    r.send(f"<iq type='get' id='{iq_id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    reply = r.read_until(rf"<iq[^>]*id='{iq_id}'[^>]*/>|<iq[^>]*id='{iq_id}'.*?</iq>|</stream:stream>", timeout=5)
    assert "type='result'" in reply, f"no ping result: {reply}"


def scenario():
    with harness.Server(tls="disabled", extra_toml=f"[limits]\nunauthenticated_timeout_seconds = {TIMEOUT}\n") as server:
        server.add_user("bob", "bob-pw")
        port = server.c2s_port

        # Opens a stream and then does nothing.
        at = time.time()
        r = Raw(port)
        r.open()
        timed_out(r, at)

        # Connects and sends nothing at all: the server still opens its stream to say why.
        at = time.time()
        r = Raw(port)
        text = timed_out(r, at)
        assert "<stream:stream" in text, text

        # Whitespace keepalives and a failed authentication do not buy more time.
        at = time.time()
        r = Raw(port)
        r.open()
        r.send(" ")
        time.sleep(0.5)
        r.send("\n")
        failure = r.scram_auth("bob", "wrong-pw")
        assert "<not-authorized/>" in failure, failure
        for _ in range(10):
            try:
                r.send(" ")
            except OSError:
                break
            if time.time() - at > TIMEOUT - 0.3:
                break
            time.sleep(0.3)
        timed_out(r, at)

        # Authenticated but never bound: not a session yet, so it is timed out as well.
        at = time.time()
        r = Raw(port)
        r.open()
        assert r.scram_auth("bob", "bob-pw").startswith("<success"), "bob could not authenticate"
        r.open()
        timed_out(r, at)

        # Bound just before the deadline: the timer is cancelled.
        at = time.time()
        late = Raw(port)
        late.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        late.open()
        time.sleep(TIMEOUT - 1.0)
        assert late.scram_login("bob", "bob-pw", resource="late") == "bob@localhost/late"
        assert time.time() - at < TIMEOUT, "binding took too long for this check to mean anything"

        # Bound at once, then idle for twice the timeout.
        early = Raw(port)
        early.open()
        assert early.scram_login("bob", "bob-pw", resource="early") == "bob@localhost/early"
        time.sleep(2 * TIMEOUT + 0.5)
        ping(early, "e1")
        ping(late, "l1")
        assert not early.closed_after(0.2) and not late.closed_after(0.2)
        assert b"connection-timeout" not in early.buf + late.buf

        # Both can still talk to each other.
        early.send("<message to='bob@localhost/late' type='chat'><body>still here</body></message>")
        got = late.read_until(r"<message.*?</message>")
        assert "still here" in got and "from='bob@localhost/early'" in got, got


if __name__ == "__main__":
    harness.run(scenario)

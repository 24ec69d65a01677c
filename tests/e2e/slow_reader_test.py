"""A bound client that stops reading its socket while another floods it with large headline
messages: the server bounds what it queues for the slow session (2 MiB), ends that stream with
<policy-violation/>, stays responsive to everyone else throughout, and afterwards treats the
slow resource as gone (a message to the bare JID is stored offline, not lost)."""

import re
import socket
import time

import harness
from rawxmpp import Raw

MESSAGES = 8000
BODY = "m" * 2048


def connect_small_rcvbuf(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connect, so that the advertised window stays small.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    r = Raw.__new__(Raw)
    r.sock = s
    r.buf = b""
    return r


def ping(r, iq_id, within):
    started = time.time()
    r.send(f"<iq type='get' id='{iq_id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    reply = r.read_until(rf"<iq[^>]*id='{iq_id}'[^>]*/>|<iq[^>]*id='{iq_id}'.*?</iq>", timeout=within + 5)
    took = time.time() - started
    assert "type='result'" in reply, reply
    assert took < within, f"ping {iq_id} took {took:.2f}s"
    return reply


def drain(r, timeout=60):
    """Reads until the server closes the connection; returns (bytes read, closed, reset)."""
    deadline = time.time() + timeout
    data = bytearray(r.buf)
    r.buf = b""
    while time.time() < deadline:
        r.sock.settimeout(max(0.1, deadline - time.time()))
        try:
            chunk = r.sock.recv(1 << 20)
        except socket.timeout:
            return bytes(data), False, False
        except ConnectionResetError:
            return bytes(data), True, True
        if not chunk:
            return bytes(data), True, False
        data += chunk
    return bytes(data), False, False


def scenario():
    with harness.Server(tls="disabled") as server:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")
        port = server.c2s_port

        slow = connect_small_rcvbuf(port)
        slow.open()
        assert slow.scram_login("bob", "bob-pw", resource="slow") == "bob@localhost/slow"
        slow.send("<presence/>")
        slow.read_until(r"<presence[^>]*from='bob@localhost/slow'")
        # From here on bob/slow never reads.

        alice = Raw(port)
        alice.open()
        assert alice.scram_login("alice", "alice-pw", resource="flood") == "alice@localhost/flood"
        ping(alice, "p0", 1.0)

        other = Raw(port)
        other.open()
        assert other.scram_login("bob", "bob-pw", resource="watch") == "bob@localhost/watch"

        started = time.time()
        for i in range(MESSAGES):
            alice.send(f"<message to='bob@localhost/slow' type='headline' id='m{i}'><body>{i} {BODY}</body></message>")
            if i % 1000 == 999:
                ping(alice, f"p{i}", 1.0)
                # Another user's session is not held up either.
                alice.send(f"<message to='bob@localhost/watch' type='chat' id='w{i}'><body>watch {i}</body></message>")
                got = other.read_until(rf"<message[^>]*id='w{i}'.*?</message>", timeout=2)
                assert f"watch {i}" in got, got
        ping(alice, "after", 1.0)
        flood_seconds = time.time() - started
        # Headlines to a full JID are never answered with errors, whether delivered or dropped
        # (RFC 6121 §8.5.3.2.1), so alice has nothing else to read.
        assert alice.buf.strip() == b"", alice.buf[:2000]

        # The server has given up on bob/slow by now (16 MiB cannot all be buffered), though
        # the socket is still open because bob/slow does not read: a chat message to bob's bare
        # JID must not be handed to that dying session, where it would be silently dropped.
        time.sleep(0.5)
        alice.send("<message to='bob@localhost' type='chat' id='during'><body>while ending</body></message>")
        reply = ping(alice, "p-during", 1.0)
        assert "id='during'" not in reply, reply

        # The slow stream has been ended: what it finally reads ends with the stream error
        # (after whatever had been queued before it), and then the connection closes.
        data, closed, reset = drain(slow)
        assert closed, (f"the slow session is still open after {flood_seconds:.1f}s of flooding and a full "
                        f"read ({len(data)} bytes read)")
        if not reset:
            tail = data[-4000:].decode(errors="replace")
            assert "<policy-violation" in tail and tail.rstrip().endswith("</stream:stream>"), tail[-600:]
        got = data.count(b"<message ")
        assert got < MESSAGES, f"the slow session received all {got} messages: nothing was bounded"
        # At most the 2 MiB queue, one write in flight (up to 2 MiB) and the kernel's socket
        # buffers (up to 4 MiB by tcp_wmem) reach it, far less than the 16 MiB sent.
        assert len(data) < 9 * 1024 * 1024, f"{len(data)} bytes reached the slow session"

        # The slow resource is gone and bob/watch never sent presence, so bob has no available
        # resource: a chat message to his bare JID is kept offline (RFC 6121 §8.5.2.2.1) and
        # delivered at his next login, not handed to the dead session.
        time.sleep(0.5)
        alice.send("<message to='bob@localhost' type='chat' id='late'><body>after the flood</body></message>")
        reply = ping(alice, "p-late", 1.0)
        assert "id='late'" not in reply, reply

        again = Raw(port)
        again.open()
        assert again.scram_login("bob", "bob-pw", resource="again") == "bob@localhost/again"
        again.send("<presence/>")
        deadline = time.time() + 5
        while time.time() < deadline and not (b"id='during'" in again.buf and b"id='late'" in again.buf):
            again.closed_after(0.2)
        missing = [i for i in ("during", "late") if f"id='{i}'".encode() not in again.buf]
        assert not missing, (f"chat messages to bob's bare JID sent after the server had ended his slow "
                             f"session were neither stored offline nor delivered: {missing}; "
                             f"bob got {again.buf!r}")
        text = again.buf.decode()
        for i, body in (("during", "while ending"), ("late", "after the flood")):
            m = re.search(rf"<message[^>]*id='{i}'.*?</message>", text)
            assert m and body in m.group(0) and "urn:xmpp:delay" in m.group(0), text

        ping(alice, "final", 1.0)


if __name__ == "__main__":
    harness.run(scenario)

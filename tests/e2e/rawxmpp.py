"""Raw-socket XMPP for malformed input and exact wire checks (plaintext streams)."""

import base64
import hashlib
import hmac
import os
import re
import socket
import time

HEADER = ("<?xml version='1.0'?><stream:stream to='{to}' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")


class Raw:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def read_until(self, pattern, timeout=10):
        """Reads until `pattern` (a regex on bytes) matches; returns everything read up to and
        including the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                text = self.buf[:m.end()].decode()
                self.buf = self.buf[m.end():]
                return text
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; got {self.buf!r}")
            self.sock.settimeout(max(0.1, deadline - time.time()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed waiting for {pattern!r}; got {self.buf!r}")
            self.buf += chunk

    def closed_after(self, timeout=10):
        """True when the server closes the connection within `timeout`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def open(self, to="localhost"):
        self.send(HEADER.format(to=to))
        return self.read_until(r"</stream:features>")

    def expect_stream_error(self, condition):
        text = self.read_until(r"<stream:error>.*?</stream:error>")
        assert f"<{condition} " in text or f"<{condition}/>" in text, f"expected {condition}, got {text}"
        assert self.closed_after(), "the server did not close the connection after a stream error"
        return text

    def scram_auth(self, user, password):
        """SCRAM-SHA-1 over a plaintext stream. Returns the server's <success/> or <failure/>."""
        cnonce = base64.b64encode(os.urandom(12)).decode()
        first_bare = f"n={user},r={cnonce}"
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>" +
                  base64.b64encode(("n,," + first_bare).encode()).decode() + "</auth>")
        challenge = self.read_until(r"<challenge[^>]*>[^<]*</challenge>")
        server_first = base64.b64decode(re.search(r">([^<]*)<", challenge).group(1)).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha1", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha1").digest()
        stored_key = hashlib.sha1(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, "sha1").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        final = f"{without_proof},p={base64.b64encode(proof).decode()}"
        self.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                  base64.b64encode(final.encode()).decode() + "</response>")
        return self.read_until(r"<success[^>]*>.*?</success>|<success[^>]*/>|<failure.*?</failure>")

    def scram_login(self, user, password, resource="raw"):
        """SCRAM-SHA-1, then bind. Returns the bound full JID."""
        outcome = self.scram_auth(user, password)
        assert outcome.startswith("<success"), outcome
        self.open()
        self.send(f"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  f"<resource>{resource}</resource></bind></iq>")
        return re.search(r"<jid>([^<]*)</jid>", self.read_until(r"<iq[^>]*id='b1'.*?</iq>")).group(1)

    def iq(self, ident, payload, kind="set", to=None):
        """Sends an iq get or set and returns its answer (the text read up to it)."""
        to_attr = f" to='{to}'" if to else ""
        self.send(f"<iq type='{kind}' id='{ident}'{to_attr}>{payload}</iq>")
        return self.read_until(rf"<iq[^>]*id='{ident}'[^>]*/>|<iq[^>]*id='{ident}'.*?</iq>")

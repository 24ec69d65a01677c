"""XEP-0368 direct TLS next to STARTTLS, and SASL over each: a direct-TLS client and a STARTTLS
client chat; over TLS 1.3 the server offers SCRAM-*-PLUS and lists its channel-binding types
(XEP-0440), PLAIN only where the stream is encrypted (RFC 6120 §6.3.3); a real
SCRAM-SHA-256-PLUS login with tls-server-end-point (RFC 5929 §4) and with tls-exporter
(RFC 9266) succeeds, and the same login with wrong channel-binding data fails."""

import base64
import hashlib
import hmac
import os
import re
import select
import socket
import ssl

import harness
import xmpp
from rawxmpp import Raw

from cryptography import x509
from cryptography.hazmat.primitives import hashes

try:
    from OpenSSL import SSL as OpenSSL_SSL  # python3-openssl: the only way to a TLS exporter here
except ImportError:
    OpenSSL_SSL = None


def client_context(max_version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def direct_tls(port, max_version=None):
    r = Raw.__new__(Raw)
    plain = socket.create_connection(("127.0.0.1", port), timeout=10)
    r.sock = client_context(max_version).wrap_socket(plain, server_hostname="localhost")
    r.buf = b""
    return r


def starttls(r, max_version=None):
    r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    r.read_until(r"<proceed[^>]*/>")
    assert r.buf == b"", r.buf
    r.sock = client_context(max_version).wrap_socket(r.sock, server_hostname="localhost")


class OpenSslSocket:
    """Just enough of a socket over pyOpenSSL for Raw, which can export keying material."""

    def __init__(self, port):
        ctx = OpenSSL_SSL.Context(OpenSSL_SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(OpenSSL_SSL.VERIFY_NONE, lambda *_: True)
        self.plain = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.plain.settimeout(None)
        self.conn = OpenSSL_SSL.Connection(ctx, self.plain)
        self.conn.set_tlsext_host_name(b"localhost")
        self.conn.set_connect_state()
        self.conn.do_handshake()
        self.timeout = 10

    def settimeout(self, t):
        self.timeout = t

    def sendall(self, data):
        self.conn.sendall(data)

    def recv(self, n):
        if self.conn.pending() == 0:
            ready, _, _ = select.select([self.plain], [], [], self.timeout)
            if not ready:
                raise socket.timeout()
        try:
            return self.conn.recv(n)
        except (OpenSSL_SSL.ZeroReturnError, OpenSSL_SSL.SysCallError):
            return b""


def features_of(text):
    mechs = re.findall(r"<mechanism>([^<]*)</mechanism>", text)
    cb = re.search(r"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>(.*?)</sasl-channel-binding>", text)
    types = re.findall(r"<channel-binding type='([^']*)'", cb.group(1)) if cb else None
    return mechs, types


def scram(r, user, password, mechanism, gs2_header, cb_data=b""):
    """Runs a SCRAM exchange; returns the server's last element. On <success/> the server's
    signature has been verified."""
    digest = "sha256" if "SHA-256" in mechanism else "sha1"
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={cnonce}"
    r.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>" +
           base64.b64encode((gs2_header + first_bare).encode()).decode() + "</auth>")
    reply = r.read_until(r"<challenge[^>]*>[^<]*</challenge>|<failure.*?</failure>")
    if reply.lstrip().startswith("<failure"):
        return reply
    server_first = base64.b64decode(re.search(r">([^<]*)<", reply).group(1)).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(cnonce), server_first
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    cbind = base64.b64encode(gs2_header.encode() + cb_data).decode()
    without_proof = f"c={cbind},r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    r.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
           base64.b64encode(f"{without_proof},p={base64.b64encode(proof).decode()}".encode()).decode() +
           "</response>")
    outcome = r.read_until(r"<success[^>]*>[^<]*</success>|<success[^>]*/>|<failure.*?</failure>")
    if outcome.lstrip().startswith("<success"):
        server_final = base64.b64decode(re.search(r">([^<]*)<", outcome).group(1)).decode()
        server_key = hmac.new(salted, b"Server Key", digest).digest()
        expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
        assert server_final == f"v={expected}", f"wrong server signature: {server_final}"
    return outcome


def bind(r, resource):
    r.open()
    r.send(f"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
           f"<resource>{resource}</resource></bind></iq>")
    return re.search(r"<jid>([^<]*)</jid>", r.read_until(r"<iq[^>]*id='b1'.*?</iq>")).group(1)


def tls_server_end_point(der):
    """RFC 5929 §4.1: the certificate's hash with its signature digest, SHA-256 for MD5/SHA-1."""
    algorithm = x509.load_der_x509_certificate(der).signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    h = hashes.Hash(algorithm)
    h.update(der)
    return h.finalize()


def chat_across_transports(server):
    alice = xmpp.Client("alice@localhost/direct", "alice-pw")
    bob = xmpp.Client("bob@localhost/starttls", "bob-pw")
    assert alice.login(server.direct_tls_port, direct_tls=True), "alice could not log in over direct TLS"
    assert bob.login(server.c2s_port), "bob could not log in over STARTTLS"
    for c in (alice, bob):
        assert c.transport.get_extra_info("ssl_object") is not None, f"{c.boundjid} is not on TLS"

    alice.send_message(mto="bob@localhost/starttls", mbody="over direct TLS", mtype="chat")
    m = bob.next_message()
    assert m["body"] == "over direct TLS" and str(m["from"]) == "alice@localhost/direct", m
    bob.send_message(mto="alice@localhost", mbody="over STARTTLS", mtype="chat")
    m = alice.next_message()
    assert m["body"] == "over STARTTLS" and str(m["from"]) == "bob@localhost/starttls", m
    alice.close()
    bob.close()


def advertised_mechanisms(server):
    # Plaintext stream (tls = "optional"): no PLAIN, no -PLUS, no channel-binding list.
    r = Raw(server.c2s_port)
    text = r.open()
    mechs, types = features_of(text)
    assert "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'" in text, text
    assert "SCRAM-SHA-256" in mechs and "PLAIN" not in mechs, mechs
    assert not any(m.endswith("-PLUS") for m in mechs) and types is None, text
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
           base64.b64encode(b"\0alice\0alice-pw").decode() + "</auth>")
    failure = r.read_until(r"<failure.*?</failure>|<failure[^>]*/>")
    assert "<encryption-required/>" in failure, failure

    # Direct TLS 1.3 and STARTTLS with TLS 1.3: everything.
    r = direct_tls(server.direct_tls_port)
    assert r.sock.version() == "TLSv1.3", r.sock.version()
    starttls_raw = Raw(server.c2s_port)
    starttls_raw.open()
    starttls(starttls_raw)
    for conn in (r, starttls_raw):
        text = conn.open()
        mechs, types = features_of(text)
        assert "<starttls" not in text, text
        for m in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"):
            assert m in mechs, f"{m} not offered over TLS: {mechs}"
        assert types is not None and "tls-exporter" in types, f"no XEP-0440 tls-exporter: {text}"
        assert "tls-server-end-point" in types, types

    # PLAIN works over TLS.
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
           base64.b64encode(b"\0alice\0alice-pw").decode() + "</auth>")
    assert r.read_until(r"<success[^>]*/>|<success.*?</success>|<failure.*?</failure>").startswith("<success")
    assert bind(r, "plain") == "alice@localhost/plain"
    # ...and a wrong password does not: PLAIN is checked against the stored SCRAM keys.
    starttls_raw.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
                      base64.b64encode(b"\0alice\0not-alice-pw").decode() + "</auth>")
    assert "<not-authorized/>" in starttls_raw.read_until(r"<success[^>]*/>|<success.*?</success>|<failure.*?</failure>")

    # TLS 1.2: tls-exporter is not defined without extended master secret (RFC 9266 §3), so
    # only tls-server-end-point is listed.
    r = direct_tls(server.direct_tls_port, max_version=ssl.TLSVersion.TLSv1_2)
    assert r.sock.version() == "TLSv1.2", r.sock.version()
    mechs, types = features_of(r.open())
    assert "SCRAM-SHA-256-PLUS" in mechs, mechs
    assert types == ["tls-server-end-point"], types
    outcome = scram(r, "alice", "alice-pw", "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", os.urandom(32))
    assert outcome.lstrip().startswith("<failure"), f"tls-exporter accepted over TLS 1.2: {outcome}"


def tls_stream(server, how):
    if how == "direct":
        r = direct_tls(server.direct_tls_port)
    else:
        r = Raw(server.c2s_port)
        r.open()
        starttls(r)
    r.open()
    return r


def scram_plus_end_point(server):
    for how in ("direct", "starttls"):
        r = tls_stream(server, how)
        cb = tls_server_end_point(r.sock.getpeercert(binary_form=True))
        outcome = scram(r, "alice", "alice-pw", "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,", cb)
        assert outcome.startswith("<success"), f"{how}: {outcome}"
        assert bind(r, f"cb-{how}") == f"alice@localhost/cb-{how}"

        # Wrong hash: as if a man in the middle had terminated TLS with another certificate.
        r = tls_stream(server, how)
        wrong = bytes(b ^ 0x5A for b in cb)
        outcome = scram(r, "alice", "alice-pw", "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,", wrong)
        assert "<not-authorized/>" in outcome, f"{how}: {outcome}"

    # The channel binding also may not be claimed for a different type than the header names.
    r = direct_tls(server.direct_tls_port)
    r.open()
    cb = tls_server_end_point(r.sock.getpeercert(binary_form=True))
    outcome = scram(r, "alice", "alice-pw", "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", cb)
    assert "<not-authorized/>" in outcome, outcome

    # SCRAM-SHA-1-PLUS as well.
    r = direct_tls(server.direct_tls_port)
    r.open()
    cb = tls_server_end_point(r.sock.getpeercert(binary_form=True))
    outcome = scram(r, "alice", "alice-pw", "SCRAM-SHA-1-PLUS", "p=tls-server-end-point,,", cb)
    assert outcome.startswith("<success"), outcome


def scram_plus_exporter(server):
    if OpenSSL_SSL is None:
        print("python3-openssl missing: tls-exporter login not checked")
        return
    r = Raw.__new__(Raw)
    r.sock = OpenSslSocket(server.direct_tls_port)
    r.buf = b""
    assert r.sock.conn.get_protocol_version_name() == "TLSv1.3"
    r.open()
    exporter = r.sock.conn.export_keying_material(b"EXPORTER-Channel-Binding", 32)
    outcome = scram(r, "bob", "bob-pw", "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", exporter)
    assert outcome.startswith("<success"), outcome
    assert bind(r, "exporter") == "bob@localhost/exporter"

    r = Raw.__new__(Raw)
    r.sock = OpenSslSocket(server.direct_tls_port)
    r.buf = b""
    r.open()
    exporter = r.sock.conn.export_keying_material(b"EXPORTER-Channel-Binding", 32)
    outcome = scram(r, "bob", "bob-pw", "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", exporter[::-1])
    assert "<not-authorized/>" in outcome, outcome


def scenario():
    with harness.Server(tls="optional") as server:
        server.add_user("alice", "alice-pw")
        server.add_user("bob", "bob-pw")
        chat_across_transports(server)
        advertised_mechanisms(server)
        scram_plus_end_point(server)
        scram_plus_exporter(server)


if __name__ == "__main__":
    harness.run(scenario)

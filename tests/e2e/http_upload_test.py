"""HTTP File Upload (XEP-0363):
- the service shows in the server's disco#items; its disco#info has the store/file identity,
  the feature and the max-file-size form;
- a slot for a 2 MiB image (larger than [http] max_body_bytes: the upload route has its own
  limit), PUT with urllib, GET back byte for byte with its Content-Type and safe headers, HEAD;
  a second PUT to the slot is 409;
- slot errors: too large (with <max-file-size/>), a type not allowed, no filename, bad sizes;
- PUT errors: a tampered token or size 403, an expired slot 403 (signed here with the server's
  secret, which also checks the token format), a wrong Content-Length or Content-Type 400, a
  body past max_file_size 413 with problem JSON;
- path traversal in GET and PUT URLs reaches nothing;
- slixmpp's own XEP-0363 plugin (aiohttp) uploads a file;
- after a restart, stored files are still served and a slot handed out before it still works;
- expiry (run at start, then hourly): a file older than expire_after_days (30 by default, aged
  with os.utime while parleyd is down) is gone after the restart (404, its directory removed),
  as is what an upload that broke off more than an hour ago left; fresh files stay."""

import hashlib
import hmac
import io
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

import harness
from smsutil import login
import xmpp

UPLOAD = "urn:xmpp:http:upload:0"
SERVICE = "upload.localhost"
MAX = 4 * 1024 * 1024


def request_slot(client, ident, filename="cat.png", size=10, ctype="image/png"):
    attrs = ""
    if filename is not None:
        attrs += f" filename='{filename}'"
    if size is not None:
        attrs += f" size='{size}'"
    if ctype is not None:
        attrs += f" content-type='{ctype}'"
    return client.iq(ident, f"<request xmlns='{UPLOAD}'{attrs}/>", kind="get", to=SERVICE)


def slot_urls(answer):
    put = re.search(r"<put url='([^']+)'", answer)
    get = re.search(r"<get url='([^']+)'", answer)
    assert put and get and "type='result'" in answer, answer
    return unescape(put.group(1)), unescape(get.group(1))


def http(method, url, data=None, headers=None):
    """(status, headers, body) of one request; HTTP errors are results too."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw_http(port, request_line):
    """The status line and body of a request sent byte for byte (no client-side normalising)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def forge(server, secret, path, size, ctype, expires):
    message = f"xep0363\n{path}\n{size}\n{ctype}\n{expires}".encode()
    token = hmac.new(secret, message, hashlib.sha256).hexdigest()
    return (f"http://127.0.0.1:{server.http_port}{path}?expires={expires}&size={size}"
            f"&type={urllib.parse.quote(ctype, safe='')}&token={token}")


def scenario():
    extra = f"""[upload]
max_file_size = {MAX}
allowed_types = ["image/*", "text/plain"]
"""
    server = harness.Server(tls="optional", extra_toml=extra)
    with server:
        server.add_user("alice", "pw-alice")
        alice = login(server.c2s_port, "alice")

        # Discovery.
        items = alice.iq("d1", "<query xmlns='http://jabber.org/protocol/disco#items'/>", kind="get", to="localhost")
        assert f"jid='{SERVICE}'" in items, items
        info = alice.iq("d2", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get", to=SERVICE)
        assert "category='store'" in info and "type='file'" in info, info
        assert f"var='{UPLOAD}'" in info, info
        assert re.search(rf"<field var='FORM_TYPE' type='hidden'><value>{UPLOAD}</value></field>", info), info
        assert re.search(rf"<field var='max-file-size'><value>{MAX}</value></field>", info), info

        # A 2 MiB image: over [http] max_body_bytes (1 MiB), under [upload] max_file_size.
        image = os.urandom(2 * 1024 * 1024)
        answer = request_slot(alice, "s1", "My Cat (1).png", len(image), "image/png")
        put_url, get_url = slot_urls(answer)
        assert get_url.startswith(f"http://127.0.0.1:{server.http_port}/upload/"), get_url
        assert get_url.endswith("/My_Cat__1_.png"), get_url
        assert put_url.startswith(get_url + "?"), (put_url, get_url)
        assert http("GET", get_url)[0] == 404, "a file before its upload"
        # A name with nothing usable in a URL gets a generic one, keeping the extension.
        _, cyrillic = slot_urls(request_slot(alice, "s0", "фото.jpg", 10, "image/jpeg"))
        assert cyrillic.endswith("/file.jpg"), cyrillic
        _, kanji = slot_urls(request_slot(alice, "s0b", "写真", 10, "image/jpeg"))
        assert kanji.endswith("/file"), kanji
        started = time.monotonic()
        status, _, body = http("PUT", put_url, image, {"Content-Type": "image/png"})
        took = time.monotonic() - started
        assert status == 201, (status, body)
        print(f"PUT of 2 MiB: {took * 1000:.0f} ms")
        status, headers, body = http("GET", get_url)
        assert status == 200 and body == image, (status, len(body))
        assert headers["Content-Type"] == "image/png", headers
        assert headers["X-Content-Type-Options"] == "nosniff", headers
        assert headers["Content-Disposition"] == 'inline; filename="My_Cat__1_.png"', headers
        assert "default-src 'none'" in headers["Content-Security-Policy"], headers
        status, headers, body = http("HEAD", get_url)
        assert status == 200 and body == b"" and headers["Content-Length"] == str(len(image)), (status, headers)
        status, _, body = http("PUT", put_url, image, {"Content-Type": "image/png"})
        assert status == 409, (status, body)

        # Slot errors (XEP-0363 §4.1, §5).
        big = request_slot(alice, "e1", "big.png", MAX + 1)
        assert "type='error'" in big and "<not-acceptable " in big and "type='modify'" in big, big
        assert re.search(rf"<file-too-large xmlns='{UPLOAD}'><max-file-size>{MAX}</max-file-size></file-too-large>",
                         big), big
        zipped = request_slot(alice, "e2", "a.zip", 10, "application/zip")
        assert "<not-acceptable " in zipped and "not accepted" in zipped, zipped
        for ident, kwargs in (("e3", {"filename": None}), ("e4", {"filename": ""}), ("e5", {"filename": ".."}),
                              ("e6", {"size": None}), ("e7", {"size": "abc"}), ("e8", {"size": "0"}),
                              ("e9", {"size": "-5"}), ("e10", {"ctype": "not a type"})):
            bad = request_slot(alice, ident, **kwargs)
            assert "type='error'" in bad and "<bad-request " in bad, (kwargs, bad)
        # No type given: application/octet-stream, which this configuration does not allow.
        untyped = request_slot(alice, "e11", "notes.txt", 5, None)
        assert "<not-acceptable " in untyped, untyped

        # PUT errors.
        text = b"hello, upload\n"
        put_url, get_url = slot_urls(request_slot(alice, "s2", "hello.txt", len(text), "text/plain"))
        tampered = re.sub(r"token=([0-9a-f])", lambda m: "token=" + ("1" if m.group(1) != "1" else "2"), put_url)
        assert http("PUT", tampered, text, {"Content-Type": "text/plain"})[0] == 403
        resized = put_url.replace(f"size={len(text)}", f"size={len(text) + 1}")
        assert http("PUT", resized, text + b"!", {"Content-Type": "text/plain"})[0] == 403
        status, _, body = http("PUT", put_url, text + b"!", {"Content-Type": "text/plain"})
        assert status == 400 and b"wrong-size" in body, (status, body)
        status, _, body = http("PUT", put_url, text, {"Content-Type": "text/html"})
        assert status == 400 and b"wrong-type" in body, (status, body)
        status, _, body = http("PUT", put_url, text, {"Content-Type": "text/plain; charset=utf-8"})
        assert status == 201, (status, body)
        status, headers, body = http("GET", get_url)
        assert status == 200 and body == text and headers["Content-Type"] == "text/plain", (status, headers, body)

        secret_file = Path(server.dir) / "data" / "upload" / "secret"
        secret = secret_file.read_bytes().strip()
        slot = "0123456789abcdef0123456789abcdef"
        expired = forge(server, secret, f"/upload/{slot}/old.txt", 3, "text/plain", int(time.time()) - 1)
        status, _, body = http("PUT", expired, b"abc", {"Content-Type": "text/plain"})
        assert status == 403 and b"expired" in body, (status, body)
        # A well-signed slot past max_file_size (the server never hands one out) meets the route's limit.
        huge = forge(server, secret, f"/upload/{slot}/huge.bin", MAX + 1, "image/png", int(time.time()) + 60)
        status, headers, body = http("PUT", huge, b"x" * (MAX + 1), {"Content-Type": "image/png"})
        assert status == 413 and headers["Content-Type"] == "application/problem+json", (status, headers)
        assert json.loads(body)["status"] == 413, body

        # Path traversal: nothing outside the files is reachable.
        for target in ("/upload/../secret", "/upload/..%2Fsecret/x", "/upload/%2e%2e/secret",
                       f"/upload/{slot}/..", f"/upload/{slot}/%2e%2e", "/upload/..%2F..%2Fupload%2Fsecret/x",
                       "/upload/files/secret", f"/upload/{slot}/.type", f"/upload/{slot}/..%2Fsecret"):
            reply = raw_http(server.http_port, f"GET {target} HTTP/1.1")
            assert reply.split(" ")[1] in ("400", "404"), (target, reply[:200])
            assert secret.decode() not in reply, target
        dotdot = forge(server, secret, f"/upload/{slot}/..", 3, "text/plain", int(time.time()) + 60)
        assert http("PUT", dotdot, b"abc", {"Content-Type": "text/plain"})[0] in (400, 404)

        # slixmpp's own client side of XEP-0363 (aiohttp): disco, slot, PUT.
        sx = xmpp.Client("alice@localhost/slix", "pw-alice")
        sx.register_plugin("xep_0363")
        assert sx.login(server.c2s_port)
        # Debian 12's slixmpp (1.8.3) cannot run its own find_upload_service on Python 3.11
        # (get_info_from_domain hands coroutines to asyncio.wait): discover with its XEP-0030
        # calls instead and tell the plugin the service found, then upload_file as a client would.
        disco = sx["xep_0030"]
        found = xmpp.run(disco.get_items(jid="localhost"))
        services = [jid for jid, _, _ in found["disco_items"]["items"]]
        assert SERVICE in [str(j) for j in services], services
        service_info = xmpp.run(disco.get_info(jid=SERVICE))
        assert UPLOAD in service_info["disco_info"]["features"], service_info
        sx["xep_0363"].upload_service = service_info["from"]
        for form in service_info["disco_info"].iterables:
            if form["values"].get("FORM_TYPE") == [UPLOAD]:
                sx["xep_0363"].max_file_size = int(form["values"]["max-file-size"])
        assert sx["xep_0363"].max_file_size == MAX
        note = b"uploaded by slixmpp " * 1000
        url = xmpp.run(sx["xep_0363"].upload_file(Path("note.txt"), size=len(note), content_type="text/plain",
                                                  input_file=io.BytesIO(note), domain="localhost"), 30)
        status, headers, body = http("GET", url)
        assert status == 200 and body == note and headers["Content-Type"] == "text/plain", (url, status)
        sx.close()

        # A slot handed out before a restart, used after it.
        later = b"after the restart"
        put_later, get_later = slot_urls(request_slot(alice, "s3", "later.txt", len(later), "text/plain"))

    # Expiry, while parleyd is down: slixmpp's note made 31 days old, and the .part of an upload
    # that broke off two hours ago.
    files = Path(server.dir) / "data" / "upload" / "files"
    note_path = files.joinpath(*urllib.parse.urlparse(url).path.split("/")[2:])
    assert note_path.is_file(), note_path
    month_ago = time.time() - 31 * 86400
    os.utime(note_path, (month_ago, month_ago))
    broken = files / ("0" * 32)
    broken.mkdir()
    (broken / ".part").write_bytes(b"half an upload")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(broken / ".part", (two_hours_ago, two_hours_ago))
    os.utime(broken, (two_hours_ago, two_hours_ago))
    fresh_part = files / ("1" * 32)
    fresh_part.mkdir()
    (fresh_part / ".part").write_bytes(b"an upload under way")

    server.start()
    try:
        deadline = time.monotonic() + 20
        while note_path.parent.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not note_path.parent.exists(), "the expired file is still there"
        assert not broken.exists(), "what a broken-off upload left is still there"
        assert fresh_part.exists(), "an upload under way was expired"
        status, _, body = http("GET", url)
        assert status == 404, (status, body)
        assert "expired files deleted" in Path(server.log_path).read_text(errors="replace"), "no expiry line in the log"
        status, headers, body = http("GET", get_url)
        assert status == 200 and body == text, (status, body)
        status, _, body = http("PUT", put_later, later, {"Content-Type": "text/plain"})
        assert status == 201, (status, body)
        assert http("GET", get_later)[2] == later
    except AssertionError:
        server.dump_log()
        raise
    finally:
        assert server.stop() == 0


if __name__ == "__main__":
    harness.run(scenario)

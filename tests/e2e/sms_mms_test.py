"""MMS through the SMS gateway's twilio provider and HTTP upload (XEP-0363), against the Twilio
stand-in of sms_twilio (Twilio's documented wire format, signed webhooks, media behind basic
auth that redirect to a storage host):

- in: a signed incoming-message webhook with text and two media; the gateway fetches each
  medium with basic auth (the storage host after the redirect gets no Authorization header),
  stores it on our upload service and the user gets the text and one OOB URL per medium on
  OUR service, which serve the same bytes with the same Content-Type; with no text the body is
  the URL alone (what Conversations shows inline);
- a repeated MessageSid is delivered once and fetches nothing again;
- media that cannot be fetched (404, larger than [upload] max_file_size) do not lose the
  message: it is delivered with a note per missing medium, and the webhook gets its 200;
- out: the user uploads a file through an XEP-0363 slot and sends its URL as body and OOB, as
  Conversations does; Twilio gets a create request with MediaUrl equal to that URL and no
  Body, and the URL serves the file;
- with [upload] enabled = false the provider's URLs are passed on as OOB, as before."""

import os
import re
import urllib.error
import urllib.request
from html import unescape

import harness
from sms_twilio_test import FAR, SID, TOKEN, TOKEN_ENV, FakeTwilio, gateway_toml, inbound
from smsutil import DOMAIN, Api, login, message_from, quiet

UPLOAD = "urn:xmpp:http:upload:0"
MAX = 300 * 1024
ALICE = "+15550100001"


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def oob_urls(stanza):
    return [unescape(u) for u in re.findall(r"<x xmlns='jabber:x:oob'><url>([^<]+)</url></x>", stanza)]


def body_of(stanza):
    found = re.search(r"<body>(.*?)</body>", stanza, re.S)
    return unescape(found.group(1)) if found else None


def scenario():
    os.environ[TOKEN_ENV] = TOKEN
    fake = FakeTwilio()
    extra = gateway_toml(fake) + f"\n[upload]\nmax_file_size = {MAX}\n"
    with harness.Server(tls="disabled", extra_toml=extra) as server:
        server.add_user("alice", "pw-alice")
        token = server.ctl("token", "create", "--scope", "admin").stdout.strip()
        assert Api(server, token).assign("alice", ALICE) == ALICE
        alice = login(server.c2s_port, "alice")
        ours = f"http://127.0.0.1:{server.http_port}/upload/"

        # ---- in: text and two media, fetched with basic auth, re-hosted, served back
        picture = os.urandom(120 * 1024)
        clip = os.urandom(40 * 1024)
        sid = "MM" + "a" * 32
        picture_url = fake.add_media(picture, "image/png", sid)
        clip_url = fake.add_media(clip, "video/mp4", sid)
        code, ctype, answer = inbound(server, sid, FAR, ALICE, "look at these",
                                      media=[(picture_url, "image/png"), (clip_url, "video/mp4")])
        assert code == 200 and "<Response/>" in answer, (code, ctype, answer)
        got = alice.read_until(message_from(FAR))
        urls = oob_urls(got)
        assert len(urls) == 2 and all(u.startswith(ours) for u in urls), got
        assert urls[0].endswith(".png") and urls[1].endswith(".mp4"), urls
        assert body_of(got) == "look at these\n" + urls[0] + "\n" + urls[1], got
        for url, data, kind in ((urls[0], picture, "image/png"), (urls[1], clip, "video/mp4")):
            status, headers, body = http("GET", url)
            assert status == 200 and body == data, (url, status, len(body))
            assert headers["Content-Type"] == kind, (url, headers)
        expected_auth = "Basic " + __import__("base64").b64encode(f"{SID}:{TOKEN}".encode()).decode()
        with fake.lock:
            gets = list(fake.media_gets)
        api_gets = [(p, a) for p, a in gets if p.startswith("/2010-04-01/")]
        storage_gets = [(p, a) for p, a in gets if p.startswith("/storage/")]
        assert len(api_gets) == 2 and all(a == expected_auth for _, a in api_gets), gets
        assert len(storage_gets) == 2 and all(a is None for _, a in storage_gets), gets

        # ---- the same MessageSid again (Twilio retried): delivered once, nothing fetched
        assert inbound(server, sid, FAR, ALICE, "look at these",
                       media=[(picture_url, "image/png"), (clip_url, "video/mp4")])[0] == 200
        quiet(alice, r"look at these", "a repeated MMS")
        with fake.lock:
            assert len(fake.media_gets) == len(gets), fake.media_gets[len(gets):]

        # ---- in: a picture without text: the body is our URL alone
        jpeg = b"\xff\xd8\xff\xe0" + os.urandom(2000)
        jpeg_url = fake.add_media(jpeg, "image/jpeg", "MM" + "b" * 32)
        assert inbound(server, "MM" + "b" * 32, FAR, ALICE, "", media=[jpeg_url])[0] == 200
        got = alice.read_until(message_from(FAR))
        urls = oob_urls(got)
        assert len(urls) == 1 and urls[0].startswith(ours) and urls[0].endswith(".jpg"), got
        assert body_of(got) == urls[0], got
        status, headers, body = http("GET", urls[0])
        assert status == 200 and body == jpeg and headers["Content-Type"] == "image/jpeg", (status, headers)

        # ---- in: media that cannot be fetched: delivered with a note each, 200 to Twilio
        missing = f"{fake.url}/2010-04-01/Accounts/{SID}/Messages/MM{'c' * 32}/Media/MEgone"
        huge = fake.add_media(os.urandom(MAX + 1), "image/jpeg", "MM" + "c" * 32)
        code, _, answer = inbound(server, "MM" + "c" * 32, FAR, ALICE, "two broken",
                                  media=[missing, huge])
        assert code == 200, (code, answer)
        got = alice.read_until(message_from(FAR))
        assert oob_urls(got) == [], got
        text = body_of(got)
        assert text.startswith("two broken\n"), got
        assert "[MMS attachment 1 of 2 (image/jpeg) not received: HTTP 404]" in text, got
        assert "[MMS attachment 2 of 2 (image/jpeg) not received: too_large" in text, got
        with open(server.log_path, "rb") as f:
            log = f.read().decode(errors="replace")
        assert "cannot fetch medium 1 of MM" + "c" * 32 in log, log[-3000:]

        # ---- out: an XEP-0363 upload, then its URL as body and OOB (what Conversations sends)
        photo = os.urandom(50 * 1024)
        answer = alice.iq("slot1", f"<request xmlns='{UPLOAD}' filename='beach.jpg' size='{len(photo)}' "
                                   "content-type='image/jpeg'/>", kind="get", to="upload.localhost")
        put = re.search(r"<put url='([^']+)'", answer)
        get = re.search(r"<get url='([^']+)'", answer)
        assert put and get, answer
        put_url, get_url = unescape(put.group(1)), unescape(get.group(1))
        status, _, body = http("PUT", put_url, photo, {"Content-Type": "image/jpeg"})
        assert status == 201, (status, body)
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='mms-out' type='chat'><body>{get_url}</body>"
                   f"<x xmlns='jabber:x:oob'><url>{get_url}</url></x></message>")
        sent = fake.wait_for(lambda m: m["media"] == [get_url], what="the outbound MMS")
        assert sent["body"] == "" and sent["from"] == ALICE and sent["to"] == FAR, sent
        with fake.lock:
            form = next(f for _, f in fake.requests if ("MediaUrl", get_url) in f)
        assert "Body" not in dict(form), form
        # Twilio fetches it from there.
        status, headers, body = http("GET", get_url)
        assert status == 200 and body == photo and headers["Content-Type"] == "image/jpeg", (status, headers)

        # Text and a file: both go, the text as Body.
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='mms-out2' type='chat'><body>the beach</body>"
                   f"<x xmlns='jabber:x:oob'><url>{get_url}</url></x></message>")
        sent = fake.wait_for(lambda m: m["body"] == "the beach", what="the MMS with text")
        assert sent["media"] == [get_url], sent

    # ---- [upload] enabled = false: the provider's URLs go on as OOB, as before
    extra = gateway_toml(fake) + "\n[upload]\nenabled = false\n"
    with harness.Server(tls="disabled", extra_toml=extra) as server:
        server.add_user("alice", "pw-alice")
        token = server.ctl("token", "create", "--scope", "admin").stdout.strip()
        assert Api(server, token).assign("alice", ALICE) == ALICE
        alice = login(server.c2s_port, "alice")
        before = len(fake.media_gets)
        media = fake.add_media(b"GIF89a" + os.urandom(100), "image/gif", "MM" + "d" * 32)
        assert inbound(server, "MM" + "d" * 32, FAR, ALICE, "", media=[(media, "image/gif")])[0] == 200
        got = alice.read_until(message_from(FAR))
        assert oob_urls(got) == [media] and body_of(got) == media, got
        with fake.lock:
            assert len(fake.media_gets) == before, "fetched without an upload service"


if __name__ == "__main__":
    harness.run(scenario)

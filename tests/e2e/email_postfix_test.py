"""The email gateway with a real MTA: Parley submits mail through a private Postfix, which
relays it to a mailbox the test reads (aiosmtpd), and Postfix delivers mail for the users'
domain to Parley over LMTP (transport map). Covers a chat round trip in one thread both ways
(XMPP first, and mail first with HTML and a quoted reply), a bounce (DSN) that becomes an
error to the sender, an unknown recipient bounced by Postfix, a mail loop, automatic mail,
an offline user who gets the mail after a restart of parleyd."""

import re
import time

import harness
import mailutil
from smsutil import login

DOMAIN = "mail.localhost"
USERS = "parley.test"


def jid_of(address):
    return address.replace("@", "\\40") + "@" + DOMAIN


def message_from(address):
    """A regex for a message stanza from the contact of `address`, whatever the attribute order."""
    return rf"<message(?=[^>]*from='{re.escape(jid_of(address))}')[^>]*>.*?</message>"


def text_of(stanza, element):
    m = re.search(rf"<{element}[^>]*>(.*?)</{element}>", stanza, re.S)
    return None if m is None else m.group(1)


def unescape(text):
    return text.replace("&apos;", "'").replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&")


def gateway_toml(lmtp_port, postfix_port):
    return f"""
[[gateway]]
domain = "{DOMAIN}"
kind = "email"
address_domain = "{USERS}"
lmtp_port = {lmtp_port}
[gateway.smtp]
url = "smtp://127.0.0.1:{postfix_port}"
tls = "none"
"""


def swaks(postfix, *args):
    r = mailutil.swaks("--server", f"127.0.0.1:{postfix.port}", "--silent", "1", *args)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r


def scenario():
    lmtp_port = mailutil.free_port()
    with mailutil.SmtpSink(rcpt_replies={"ghost@remote.test": "550 5.1.1 No such user here"}) as sink, \
            mailutil.PostfixInstance(lmtp_domains={USERS: lmtp_port}, relay_port=sink.port) as postfix, \
            harness.Server(tls="disabled", extra_toml=gateway_toml(lmtp_port, postfix.port)) as server:
        for user in ("alice", "carol"):
            server.add_user(user, "pw-" + user)
        mailutil.wait_for_port(lmtp_port)
        alice = login(server.c2s_port, "alice")

        # XMPP first: a message with a subject and a thread becomes a mail through Postfix.
        body = "Grüße from XMPP ✓, see you at noon"
        alice.send(f"<message to='{jid_of('dave@remote.test')}' id='a-1' type='chat'><subject>Plans</subject>"
                   f"<body>{body}</body><thread>t-plans</thread></message>")
        [got] = sink.wait_for(1, timeout=30)
        mail = got.message
        assert got.mail_from == "alice@parley.test", got.mail_from
        assert got.rcpt_tos == ["dave@remote.test"], got.rcpt_tos
        assert mail["From"].addresses[0].addr_spec == "alice@parley.test", mail["From"]
        assert mail["To"].addresses[0].addr_spec == "dave@remote.test", mail["To"]
        assert str(mail["Subject"]) == "Plans", mail["Subject"]
        assert mail.get_content().replace("\r\n", "\n").rstrip("\n") == body, repr(mail.get_content())
        assert mail["In-Reply-To"] is None and mail["Auto-Submitted"] is None
        first_id = mail["Message-ID"].strip("<>")
        assert first_id.endswith("@" + DOMAIN), first_id
        sink.clear()

        # The reply by mail arrives in the same XMPP thread, its quoted part trimmed.
        swaks(postfix, "--from", "dave@remote.test", "--to", "alice@parley.test",
              "--header", "Subject: Re: Plans", "--header", "Message-Id: <d1@remote.test>",
              "--header", f"In-Reply-To: <{first_id}>", "--header", f"References: <{first_id}>",
              "--body", f"Noon works.\n\nOn Tue, Alice wrote:\n> {body}\n")
        reply = alice.read_until(message_from("dave@remote.test"), timeout=30)
        assert text_of(reply, "thread") == "t-plans", reply
        assert unescape(text_of(reply, "body")) == "Noon works.", reply
        assert "type='chat'" in reply, reply

        # Mail first: an HTML-only mail starts a thread; the XMPP answer replies to it.
        html = "<html><body><p>Dinner <b>tonight</b>?</p><p>&#8211; Dave</p></body></html>"
        swaks(postfix, "--from", "dave@remote.test", "--to", "alice@parley.test",
              "--header", "Subject: Dinner", "--header", "Message-Id: <d2@remote.test>",
              "--add-header", "MIME-Version: 1.0", "--add-header", "Content-Type: text/html; charset=utf-8",
              "--body", html)
        dinner = alice.read_until(message_from("dave@remote.test"), timeout=30)
        assert text_of(dinner, "thread") == "d2@remote.test", dinner
        text = unescape(text_of(dinner, "body"))
        assert "Dinner tonight?" in text and "<b>" not in text and "– Dave" in text, text
        alice.send(f"<message to='{jid_of('dave@remote.test')}' id='a-2' type='chat'>"
                   f"<body>Yes!</body><thread>d2@remote.test</thread></message>")
        [answer] = sink.wait_for(1, timeout=30)
        assert answer.message["In-Reply-To"].strip() == "<d2@remote.test>", answer.message["In-Reply-To"]
        assert "<d2@remote.test>" in answer.message["References"], answer.message["References"]
        assert str(answer.message["Subject"]) == "Re: Dinner", answer.message["Subject"]
        sink.clear()

        # A bounce: the smarthost's relay refuses the address, Postfix sends a DSN back to
        # alice@parley.test over LMTP, and alice's client gets an error for her message.
        alice.send(f"<message to='{jid_of('ghost@remote.test')}' id='a-ghost' type='chat'><body>boo</body></message>")
        bounced = alice.read_until(r"<message(?=[^>]*id='a-ghost')[^>]*>.*?</message>", timeout=30)
        assert "type='error'" in bounced and "recipient-unavailable" in bounced, bounced
        assert "5.1.1" in bounced and jid_of("ghost@remote.test") in bounced, bounced

        # An unknown user: Parley answers 550 over LMTP, Postfix bounces to the sender.
        swaks(postfix, "--from", "dave@remote.test", "--to", "nobody@parley.test", "--body", "hello?")
        [dsn] = sink.wait_for(1, timeout=30)
        assert dsn.mail_from == "" and dsn.rcpt_tos == ["dave@remote.test"], (dsn.mail_from, dsn.rcpt_tos)
        assert b"5.1.1" in dsn.data and b"nobody@parley.test" in dsn.data, dsn.data[:2000]
        sink.clear()
        direct = mailutil.swaks("--server", f"127.0.0.1:{lmtp_port}", "--protocol", "LMTP",
                                "--from", "dave@remote.test", "--to", "nobody@parley.test", "--body", "x")
        assert "550 5.1.1" in direct.stdout, direct.stdout

        # A loop: our own Message-ID coming back is refused, and nothing reaches alice.
        looped = mailutil.swaks("--server", f"127.0.0.1:{lmtp_port}", "--protocol", "LMTP",
                                "--from", "dave@remote.test", "--to", "alice@parley.test",
                                "--header", f"Message-Id: <{first_id}>", "--body", "echo")
        assert "554 5.4.6" in looped.stdout, looped.stdout

        # Automatic mail is delivered as a normal message, which clients do not answer.
        swaks(postfix, "--from", "dave@remote.test", "--to", "alice@parley.test",
              "--header", "Subject: Out of office", "--header", "Auto-Submitted: auto-replied",
              "--body", "I am away until Monday.")
        away = alice.read_until(message_from("dave@remote.test"), timeout=30)
        assert "type='normal'" in away and "away until Monday" in away, away

        # An offline user: Postfix has its 250 only once the message is stored; it survives
        # a restart of parleyd.
        swaks(postfix, "--from", "dave@remote.test", "--to", "carol@parley.test",
              "--header", "Subject: For later", "--body", "Read me when you are back.")
        postfix.wait_log(r"to=<carol@parley.test>.*status=sent", timeout=30)
        server.stop()
        server.start()
        carol = login(server.c2s_port, "carol")
        later = carol.read_until(message_from("dave@remote.test"), timeout=30)
        assert "Read me when you are back." in later and "urn:xmpp:delay" in later, later
        assert "For later" in later, later


if __name__ == "__main__":
    harness.run(scenario)

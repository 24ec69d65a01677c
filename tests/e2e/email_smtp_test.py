"""The email gateway against a smarthost that needs STARTTLS and AUTH (aiosmtpd), and its own
plain SMTP listener driven with swaks: submission over TLS with credentials, a 5xx from the
smarthost failing at once with the reason, a 4xx retried through the outbox until it goes
through, jabber:iq:gateway, and inbound mail that is hard to read (8-bit headers, encoded
words, malformed MIME, an attachment), too large (552), or for two users at once (SMTP takes
one recipient per transaction: 452 for the second, which comes in a second transaction)."""

import os
import re
import tempfile

import harness
import mailutil
from email_postfix_test import DOMAIN, jid_of, message_from, text_of, unescape
from smsutil import login, quiet

USERS = "parley.test"


def gateway_toml(smtp_port, sink_port):
    return f"""
[[gateway]]
domain = "{DOMAIN}"
kind = "email"
address_domain = "{USERS}"
lmtp_port = 0
smtp_port = {smtp_port}
max_message_bytes = 200000
retry_base_ms = 300
retry_max_ms = 1000
[gateway.smtp]
url = "smtp://127.0.0.1:{sink_port}"
tls = "required"
verify_peer = false
username = "parley"
password_env = "PARLEY_TEST_SMTP_PASSWORD"
[[gateway.user]]
jid = "alice@localhost"
address = "alice.liddell@{USERS}"
name = "Alice Liddell"
"""


def smtp(port, *args):
    return mailutil.swaks("--server", f"127.0.0.1:{port}", *args)


def data_file(raw):
    f = tempfile.NamedTemporaryFile(delete=False, suffix=".eml")
    f.write(raw)
    f.close()
    return f.name


def scenario():
    os.environ["PARLEY_TEST_SMTP_PASSWORD"] = "s3cret"
    cert, key = mailutil.make_self_signed_cert()
    smtp_port = mailutil.free_port()
    with mailutil.SmtpSink(require_auth=("parley", "s3cret"), tls_cert=(cert, key),
                           rcpt_replies={"nope@remote.test": "550 5.1.1 <nope@remote.test>: no such mailbox"},
                           fail_first={"later@remote.test": "451 4.3.0 greylisted, try again"}) as sink, \
            harness.Server(tls="disabled", extra_toml=gateway_toml(smtp_port, sink.port)) as server:
        for user in ("alice", "bob"):
            server.add_user(user, "pw-" + user)
        mailutil.wait_for_port(smtp_port)
        alice = login(server.c2s_port, "alice")
        bob = login(server.c2s_port, "bob")

        # jabber:iq:gateway (XEP-0100): the address as typed becomes the contact's JID.
        alice.send(f"<iq type='set' id='g1' to='{DOMAIN}'><query xmlns='jabber:iq:gateway'>"
                   "<prompt>Bob Smith &lt;bob@Example.ORG&gt;</prompt></query></iq>")
        answer = alice.read_until(r"<iq[^>]*id='g1'.*?</iq>")
        assert "bob\\40example.org@" + DOMAIN in answer, answer

        # Submission with STARTTLS and AUTH; From is the configured address and name.
        alice.send(f"<message to='{jid_of('bob@example.org')}' id='s-1' type='chat'><body>over TLS</body></message>")
        [got] = sink.wait_for(1, timeout=30)
        assert got.tls and got.authenticated, (got.tls, got.authenticated)
        assert got.mail_from == "alice.liddell@parley.test", got.mail_from
        sender = got.message["From"].addresses[0]
        assert sender.addr_spec == "alice.liddell@parley.test" and sender.display_name == "Alice Liddell", sender
        assert str(got.message["Subject"]) == "Message from XMPP", got.message["Subject"]
        sink.clear()

        # A 5xx from the smarthost: an error at once, with its reason, and nothing sent.
        alice.send(f"<message to='{jid_of('nope@remote.test')}' id='s-2' type='chat'><body>hi</body></message>")
        failed = alice.read_until(r"<message(?=[^>]*id='s-2')[^>]*>.*?</message>", timeout=30)
        assert "type='error'" in failed and "550" in failed and "no such mailbox" in failed, failed

        # A 4xx: retried through the outbox, then delivered; no error reaches alice.
        alice.send(f"<message to='{jid_of('later@remote.test')}' id='s-3' type='chat'><body>eventually</body></message>")
        [late] = sink.wait_for(1, timeout=30)
        assert late.rcpt_tos == ["later@remote.test"], late.rcpt_tos
        assert any(a == "later@remote.test" and r.startswith("451") for a, r in sink.rcpt_log), sink.rcpt_log
        quiet(alice, r"id='s-3'", "a retried message gave an error")
        sink.clear()

        # Inbound over the plain SMTP listener: raw 8-bit UTF-8 and encoded-word headers.
        raw = ("From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.org>\r\n"
               "To: alice.liddell@parley.test\r\n"
               "Subject: Caf\u00e9 \u2615 tomorrow\r\n"
               "Message-ID: <r1@example.org>\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n"
               "\u00c0 demain!\r\n").encode()
        r = smtp(smtp_port, "--from", "renee@example.org", "--to", "alice.liddell@parley.test",
                 "--data", data_file(raw))
        assert "250 2.0.0" in r.stdout, r.stdout
        cafe = alice.read_until(message_from("renee@example.org"), timeout=30)
        assert "Café ☕ tomorrow" in cafe and "À demain!" in cafe, cafe

        # Malformed MIME (no closing boundary) with an attachment: the text and the
        # attachment's name and size.
        broken = (b"From: renee@example.org\r\nTo: bob@parley.test\r\nSubject: report\r\n"
                  b"Message-ID: <r2@example.org>\r\nMIME-Version: 1.0\r\n"
                  b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n"
                  b"--XYZ\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n"
                  b"--XYZ\r\nContent-Type: application/pdf; name=report.pdf\r\n"
                  b"Content-Disposition: attachment; filename=report.pdf\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\n" + b"QUJDREVGR0g=\r\n" * 100)
        r = smtp(smtp_port, "--from", "renee@example.org", "--to", "bob@parley.test", "--data", data_file(broken))
        assert "250 2.0.0" in r.stdout, r.stdout
        report = bob.read_until(message_from("renee@example.org"), timeout=30)
        body = unescape(text_of(report, "body"))
        assert "The report is attached." in body and "report.pdf" in body and "application/pdf" in body, body

        # Too large: 552 (RFC 5321 §4.5.3.1.10), nothing delivered.
        huge = (b"From: renee@example.org\r\nSubject: big\r\n\r\n" + b"x" * 998 + b"\r\n") * 1
        huge += (b"y" * 998 + b"\r\n") * 300
        r = smtp(smtp_port, "--from", "renee@example.org", "--to", "bob@parley.test", "--data", data_file(huge))
        assert "552" in r.stdout, r.stdout
        quiet(bob, r"big", "a mail over max_message_bytes was delivered")

        # An unknown user: 550 at RCPT.
        r = smtp(smtp_port, "--from", "renee@example.org", "--to", "nobody@parley.test", "--body", "x")
        assert "550 5.1.1" in r.stdout, r.stdout

        # Two recipients in one SMTP transaction: the second is told 452 (send it again).
        r = smtp(smtp_port, "--from", "renee@example.org", "--to", "bob@parley.test,alice.liddell@parley.test",
                 "--header", "Subject: both", "--body", "for two")
        assert "452 4.5.3" in r.stdout, r.stdout
        assert re.search(r"for two", bob.read_until(message_from("renee@example.org"), timeout=30))


if __name__ == "__main__":
    harness.run(scenario)

"""Message carbons (XEP-0280): alice has three resources, two of which enable carbons. What
bob sends to her bare JID reaches her most available resource and comes as a <received/>
copy to the other with carbons; what one of her resources sends comes as a <sent/> copy to
the other; <private/> messages and a resource without carbons get no copies; disabling stops
them. Messages to and from gateway contacts (the email gateway, with an aiosmtpd smarthost
and mail over LMTP) are copied too. The server advertises the feature."""

import asyncio
import re

import harness
import mailutil
from rawxmpp import Raw
from smsutil import quiet
import xmpp

CARBONS = "urn:xmpp:carbons:2"
FORWARD = "urn:xmpp:forward:0"
MAIL = "mail.localhost"


def login(port, user, resource, priority):
    c = Raw(port)
    c.open()
    c.scram_login(user, "pw-" + user, resource=resource)
    c.send(f"<presence><priority>{priority}</priority></presence>")
    return c


def iq(client, ident, payload, kind="set", to=None):
    return client.iq(ident, payload, kind=kind, to=to)


def carbon(client, direction, marker):
    """Reads the carbon (`direction`: received or sent) whose forwarded message holds `marker`."""
    text = client.read_until(rf"<message[^>]*>(?:(?!</message>).)*<{direction} xmlns='{CARBONS}'>.*?{re.escape(marker)}"
                             r".*?</message>\s*</forwarded>\s*</" + direction + r">\s*</message>", timeout=15)
    copy = text[text.rfind("<message", 0, text.find(f"<{direction} xmlns='{CARBONS}'>")):]
    assert "from='alice@localhost'" in copy, copy  # §9: only from the account's bare JID
    assert f"<forwarded xmlns='{FORWARD}'>" in copy, copy
    return copy


def scenario():
    lmtp_port = mailutil.free_port()
    with mailutil.SmtpSink() as sink:
        extra = f"""
[[gateway]]
domain = "{MAIL}"
kind = "email"
address_domain = "parley.test"
lmtp_port = {lmtp_port}
[gateway.smtp]
url = "smtp://127.0.0.1:{sink.port}"
tls = "none"
"""
        with harness.Server(tls="optional", extra_toml=extra) as server:
            for user in ("alice", "bob"):
                server.add_user(user, "pw-" + user)
            desk = login(server.c2s_port, "alice", "desk", 5)
            phone = login(server.c2s_port, "alice", "phone", 1)
            tablet = login(server.c2s_port, "alice", "tablet", 0)
            bob = login(server.c2s_port, "bob", "home", 0)

            info = iq(desk, "d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to="localhost", kind="get")
            assert f"var='{CARBONS}'" in info, info
            for client, ident in ((desk, "e1"), (phone, "e2")):
                answer = iq(client, ident, f"<enable xmlns='{CARBONS}'/>")
                assert "type='result'" in answer, answer

            # To the bare JID: desk (priority 5) gets it, phone a <received/> copy, tablet nothing.
            bob.send("<message to='alice@localhost' id='b1' type='chat'><body>hello bare</body></message>")
            got = desk.read_until(r"<message[^>]*id='b1'.*?</message>")
            assert "hello bare" in got and "<received" not in got, got
            copy = carbon(phone, "received", "hello bare")
            assert "from='bob@localhost/home'" in copy, copy
            quiet(tablet, r"hello bare", "a resource without carbons got a copy")

            # To one full JID: the other resource with carbons gets the copy.
            bob.send("<message to='alice@localhost/phone' id='b2' type='chat'><body>to the phone</body></message>")
            assert "to the phone" in phone.read_until(r"<message[^>]*id='b2'.*?</message>")
            carbon(desk, "received", "to the phone")

            # Sent by one resource: a <sent/> copy to the other.
            desk.send("<message to='bob@localhost' id='a1' type='chat'><body>from the desk</body></message>")
            assert "from the desk" in bob.read_until(r"<message[^>]*id='a1'.*?</message>")
            copy = carbon(phone, "sent", "from the desk")
            assert "to='bob@localhost'" in copy, copy

            # <private/> is not copied; nor is a message to the account itself.
            desk.send(f"<message to='bob@localhost' id='a2' type='chat'><body>just here</body>"
                      f"<private xmlns='{CARBONS}'/></message>")
            assert "just here" in bob.read_until(r"<message[^>]*id='a2'.*?</message>")
            quiet(phone, r"just here", "a private message was copied")

            # Gateway contacts: a mail sent from the desk, and a mail that comes in.
            contact = "carol\\40example.org@" + MAIL
            desk.send(f"<message to='{contact}' id='a3' type='chat'><body>by mail</body></message>")
            carbon(phone, "sent", "by mail")
            [mail] = sink.wait_for(1, timeout=30)
            assert mail.rcpt_tos == ["carol@example.org"], mail.rcpt_tos
            r = mailutil.swaks("--server", f"127.0.0.1:{lmtp_port}", "--protocol", "LMTP", "--from",
                               "carol@example.org", "--to", "alice@parley.test", "--header", "Subject: Re: hi",
                               "--body", "mail back")
            assert "250 2.0.0" in r.stdout, r.stdout
            assert "mail back" in desk.read_until(r"<message[^>]*>.*?mail back.*?</message>", timeout=15)
            copy = carbon(phone, "received", "mail back")
            assert "carol\\40example.org@" + MAIL in copy, copy

            # A real client library: slixmpp's XEP-0280 plugin enables carbons and reads copies.
            slix = xmpp.Client("alice@localhost/slix", "pw-alice", priority=0)
            slix.register_plugin("xep_0280")
            copies = asyncio.Queue()
            slix.add_event_handler("carbon_received", lambda m: copies.put_nowait(m))
            slix.add_event_handler("carbon_sent", lambda m: copies.put_nowait(m))
            slix.login(server.c2s_port)
            xmpp.run(slix.plugin["xep_0280"].enable())
            bob.send("<message to='alice@localhost' id='b4' type='chat'><body>for slixmpp too</body></message>")
            assert "for slixmpp too" in desk.read_until(r"<message[^>]*id='b4'.*?</message>")
            got = xmpp.run(copies.get())
            assert got["carbon_received"]["body"] == "for slixmpp too", got
            assert got["carbon_received"]["from"] == "bob@localhost/home", got
            desk.send("<message to='bob@localhost' id='a4' type='chat'><body>seen by slixmpp</body></message>")
            got = xmpp.run(copies.get())
            assert got["carbon_sent"]["body"] == "seen by slixmpp", got
            assert got["carbon_sent"]["to"] == "bob@localhost", got

            # Disabled: no more copies.
            answer = iq(phone, "x1", f"<disable xmlns='{CARBONS}'/>")
            assert "type='result'" in answer, answer
            bob.send("<message to='alice@localhost' id='b3' type='chat'><body>no copy now</body></message>")
            assert "no copy now" in desk.read_until(r"<message[^>]*id='b3'.*?</message>")
            quiet(phone, r"no copy now", "a resource that disabled carbons got a copy")


if __name__ == "__main__":
    harness.run(scenario)

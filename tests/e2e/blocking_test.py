"""Blocking (XEP-0191): alice blocks bob and an email contact. The list is read and pushed to
all her resources; what bob sends her is refused (service-unavailable) and what she sends
him is refused with <blocked/>; mail from the blocked address does not reach her while
other mail does; the list survives a restart; unblocking everything lets bob through.
carol and dave, subscribed to each other, see each other go unavailable when carol blocks dave
and come back when she unblocks him (XEP-0191 §3.3, §3.4)."""

import harness
import mailutil
from rawxmpp import Raw
from smsutil import login, quiet

BLOCKING = "urn:xmpp:blocking"
MAIL = "mail.localhost"
SPAMMER = "spam\\40example.org@" + MAIL


def iq(client, ident, payload, kind="set", to=None):
    return client.iq(ident, payload, kind=kind, to=to)


def mail(port, sender, body):
    return mailutil.swaks("--server", f"127.0.0.1:{port}", "--protocol", "LMTP", "--from", sender,
                          "--to", "alice@parley.test", "--header", "Subject: Re: x", "--body", body).stdout


def scenario():
    lmtp = mailutil.free_port()
    extra = f"""
[[gateway]]
domain = "{MAIL}"
kind = "email"
address_domain = "parley.test"
lmtp_port = {lmtp}
"""
    with harness.Server(tls="disabled", extra_toml=extra) as server:
        for user in ("alice", "bob", "carol", "dave"):
            server.add_user(user, "pw-" + user)
        phone = login(server.c2s_port, "alice", "phone")
        desk = login(server.c2s_port, "alice", "desk")
        bob = login(server.c2s_port, "bob", "home")

        info = iq(phone, "d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get", to="localhost")
        assert f"var='{BLOCKING}'" in info, info
        empty = iq(phone, "l1", f"<blocklist xmlns='{BLOCKING}'/>", kind="get")
        assert "type='result'" in empty and "<item" not in empty, empty

        # Block bob and a mail address; both resources get the push.
        answer = iq(phone, "b1", f"<block xmlns='{BLOCKING}'><item jid='bob@localhost'/>"
                                 f"<item jid='{SPAMMER}'/></block>")
        assert "type='result'" in answer, answer
        push = desk.read_until(rf"<iq[^>]*type='set'.*?</iq>")
        assert f"<block xmlns='{BLOCKING}'>" in push and "jid='bob@localhost'" in push, push
        listed = iq(desk, "l2", f"<blocklist xmlns='{BLOCKING}'/>", kind="get")
        assert "jid='bob@localhost'" in listed and f"jid='{SPAMMER}'" in listed, listed
        bad = iq(phone, "b2", f"<block xmlns='{BLOCKING}'/>")
        assert "bad-request" in bad, bad

        # Bob's message is refused; alice's to bob says that she blocks him.
        bob.send("<message to='alice@localhost' id='m1' type='chat'><body>hi?</body></message>")
        refused = bob.read_until(r"<message[^>]*id='m1'.*?</message>")
        assert "type='error'" in refused and "service-unavailable" in refused, refused
        quiet(phone, r"hi\?", "a message from a blocked JID arrived")
        phone.send("<message to='bob@localhost/home' id='m2' type='chat'><body>go away</body></message>")
        mine = phone.read_until(r"<message[^>]*id='m2'.*?</message>")
        assert "not-acceptable" in mine and "urn:xmpp:blocking:errors" in mine, mine
        quiet(bob, r"go away", "a message to a blocked JID went out")

        # Gateway contacts: mail from the blocked address does not reach her, other mail does.
        mailutil.wait_for_port(lmtp)
        out = mail(lmtp, "spam@example.org", "buy now")
        assert "250 2.0.0" not in out, out
        quiet(phone, r"buy now", "mail from a blocked address arrived")
        out = mail(lmtp, "friend@example.org", "lunch?")
        assert "250 2.0.0" in out, out
        assert "lunch?" in phone.read_until(r"<message[^>]*>.*?lunch\?.*?</message>", timeout=15)

        # The list is stored: after a restart bob is still refused.
        server.stop()
        server.start()
        phone = login(server.c2s_port, "alice", "phone")
        bob = login(server.c2s_port, "bob", "home")
        bob.send("<message to='alice@localhost' id='m3' type='chat'><body>again</body></message>")
        assert "service-unavailable" in bob.read_until(r"<message[^>]*id='m3'.*?</message>")

        # Unblock everything: bob gets through.
        answer = iq(phone, "u1", f"<unblock xmlns='{BLOCKING}'/>")
        assert "type='result'" in answer, answer
        bob.send("<message to='alice@localhost' id='m4' type='chat'><body>friends again</body></message>")
        assert "friends again" in phone.read_until(r"<message[^>]*id='m4'.*?</message>")
        empty = iq(phone, "l3", f"<blocklist xmlns='{BLOCKING}'/>", kind="get")
        assert "<item" not in empty, empty

        # Presence both ways goes with a block and comes back with the unblock.
        carol = login(server.c2s_port, "carol", "pc")
        dave = login(server.c2s_port, "dave", "pc")
        for asker, answerer, asker_jid, answerer_jid in ((carol, dave, "carol@localhost", "dave@localhost"),
                                                          (dave, carol, "dave@localhost", "carol@localhost")):
            asker.send(f"<presence to='{answerer_jid}' type='subscribe'/>")
            answerer.read_until(r"<presence[^>]*type='subscribe'[^>]*/?>")
            answerer.send(f"<presence to='{asker_jid}' type='subscribed'/>")
            asker.read_until(r"<presence[^>]*type='subscribed'[^>]*/?>")
        carol.send("<presence><status>here</status></presence>")
        dave.read_until(r"<presence[^>]*from='carol@localhost/pc'[^>]*>\s*<status>here</status>")
        answer = iq(carol, "cb1", f"<block xmlns='{BLOCKING}'><item jid='dave@localhost'/></block>")
        assert "type='result'" in answer, answer
        gone = dave.read_until(r"<presence[^>]*from='carol@localhost/pc'[^>]*type='unavailable'[^>]*/>|"
                               r"<presence[^>]*type='unavailable'[^>]*from='carol@localhost/pc'[^>]*/>")
        assert "unavailable" in gone, gone
        gone = carol.read_until(r"<presence[^>]*from='dave@localhost/pc'[^>]*type='unavailable'[^>]*/>|"
                                r"<presence[^>]*type='unavailable'[^>]*from='dave@localhost/pc'[^>]*/>")
        assert "unavailable" in gone, gone
        answer = iq(carol, "cb2", f"<unblock xmlns='{BLOCKING}'><item jid='dave@localhost'/></unblock>")
        assert "type='result'" in answer, answer
        back = dave.read_until(r"<presence[^>]*from='carol@localhost/pc'[^>]*>\s*<status>here</status>")
        assert "type=" not in back[back.rfind("<presence"):back.rfind(">", 0, back.rfind("<status>"))], back
        back = carol.read_until(r"<presence(?![^>]*type=)[^>]*from='dave@localhost/pc'[^>]*/?>")
        assert "dave@localhost/pc" in back, back


if __name__ == "__main__":
    harness.run(scenario)

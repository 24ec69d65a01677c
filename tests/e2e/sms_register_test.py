"""XEP-0077 registration with the SMS gateway: a user registers the operator's number they
send from (typed as people type it), sees it in the registration form, changes it and cancels
it; a number someone else holds is a conflict, one outside the gateway's `numbers` is not
acceptable. What is registered takes effect at once, both ways (outbound From, inbound owner),
and survives a restart. With self_registration = false the gateway offers no registration.
Runs against the Twilio stand-in of sms_twilio_test."""

import os

import harness
from smsutil import DOMAIN, login, message_from, quiet
from sms_twilio_test import FAR, TOKEN, TOKEN_ENV, FakeTwilio, gateway_toml, inbound

REGISTER = "jabber:iq:register"


def iq(client, ident, payload, kind="set"):
    client.send(f"<iq type='{kind}' id='{ident}' to='{DOMAIN}'>{payload}</iq>")
    return client.read_until(rf"<iq[^>]*id='{ident}'[^>]*/>|<iq[^>]*id='{ident}'.*?</iq>")


def register(client, ident, number):
    return iq(client, ident, f"<query xmlns='{REGISTER}'><phone>{number}</phone></query>")


def form(client, ident):
    return iq(client, ident, f"<query xmlns='{REGISTER}'/>", kind="get")


def is_result(answer):
    return "type='result'" in answer or 'type="result"' in answer


def scenario():
    os.environ[TOKEN_ENV] = TOKEN
    fake = FakeTwilio()
    extra = 'numbers = ["+15550100001", "+15550100002"]'
    with harness.Server(tls="disabled", extra_toml=gateway_toml(fake, extra)) as server:
        for user in ("alice", "bob"):
            server.add_user(user, "pw-" + user)
        alice = login(server.c2s_port, "alice")
        bob = login(server.c2s_port, "bob")

        # Discovery names the feature; the empty form asks for the phone number.
        info = iq(alice, "d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get")
        assert f"var='{REGISTER}'" in info or f'var="{REGISTER}"' in info, info
        empty = form(alice, "f1")
        assert is_result(empty) and "<registered" not in empty, empty
        assert "<instructions>" in empty and ("<phone/>" in empty or "<phone></phone>" in empty), empty

        # A number that is not the operator's, and no number at all.
        answer = register(alice, "r0", "555 010 0007")
        assert "not-acceptable" in answer and "+15550100007" in answer, answer
        answer = iq(alice, "r00", f"<query xmlns='{REGISTER}'/>")
        assert "not-acceptable" in answer, answer

        # Registered as typed, shown in E.164.
        answer = register(alice, "r1", "(555) 010-0001")
        assert is_result(answer), answer
        shown = form(alice, "f2")
        assert "<registered/>" in shown and "<phone>+15550100001</phone>" in shown, shown

        # It takes effect at once: outbound from that number, inbound to alice.
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='a-1' type='chat'><body>hello from xmpp</body></message>")
        sent = fake.wait_for(lambda m: m["body"] == "hello from xmpp")
        assert sent["from"] == "+15550100001" and sent["to"] == FAR, sent
        status, _, text = inbound(server, "SM" + "1" * 32, FAR, "+15550100001", "hi alice")
        assert status == 200, (status, text)
        got = alice.read_until(message_from(FAR))
        assert "hi alice" in got, got

        # Someone else's number is a conflict; bob still has none.
        answer = register(bob, "r2", "+15550100001")
        assert "conflict" in answer, answer
        bob.send(f"<message to='{FAR}@{DOMAIN}' id='b-1' type='chat'><body>mine?</body></message>")
        refused = bob.read_until(r"<message[^>]*id='b-1'.*?</message>")
        assert "registration-required" in refused, refused

        # Changing the number replaces the old one: the old one is nobody's any more.
        answer = register(alice, "r3", "+15550100002")
        assert is_result(answer), answer
        status, _, text = inbound(server, "SM" + "2" * 32, FAR, "+15550100001", "to the old number")
        assert status == 404, (status, text)
        status, _, text = inbound(server, "SM" + "3" * 32, FAR, "+15550100002", "to the new number")
        assert status == 200, (status, text)
        assert "to the new number" in alice.read_until(message_from(FAR))
        quiet(alice, "to the old number", "a message to the released number reached alice")

        # Cancelling (XEP-0077 §3.2): gone, and a second cancel finds nothing.
        answer = iq(alice, "c1", f"<query xmlns='{REGISTER}'><remove/></query>")
        assert is_result(answer), answer
        assert "<registered" not in form(alice, "f3")
        answer = iq(alice, "c2", f"<query xmlns='{REGISTER}'><remove/></query>")
        assert "item-not-found" in answer, answer
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='a-2' type='chat'><body>after cancel</body></message>")
        assert "registration-required" in alice.read_until(r"<message[^>]*id='a-2'.*?</message>")

        # Now bob may take 0001; it survives a restart.
        assert is_result(register(bob, "r4", "5550100001"))
        alice.sock.close()
        bob.sock.close()
        assert server.stop() == 0
        server.start()
        status, _, text = inbound(server, "SM" + "4" * 32, FAR, "+15550100001", "after the restart")
        assert status == 200, (status, text)
        bob = login(server.c2s_port, "bob")
        assert "after the restart" in bob.read_until(message_from(FAR))
        assert "<phone>+15550100001</phone>" in form(bob, "f4")
        bob.sock.close()

    # Registration switched off: not offered, and refused.
    with harness.Server(tls="disabled", extra_toml=gateway_toml(fake, "self_registration = false")) as server:
        server.add_user("alice", "pw-alice")
        alice = login(server.c2s_port, "alice")
        info = iq(alice, "d2", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get")
        assert REGISTER not in info, info
        assert "service-unavailable" in register(alice, "r5", "+15550100001")
        alice.sock.close()


if __name__ == "__main__":
    harness.run(scenario)

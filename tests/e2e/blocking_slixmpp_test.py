"""Blocking (XEP-0191) with slixmpp's own plugin (xep_0191), beside the raw scenario of
blocking_test, and an SMS contact through the SMS gateway (the twilio provider against the
fake Twilio of sms_twilio_test):
- alice's phone blocks bob and a phone number in one request; her desk, a second slixmpp
  resource, gets the block push (and so does the phone) and reads the same list;
- bob's message is answered with service-unavailable and does not reach alice; hers to him is
  refused with <blocked/>; her SMS to the blocked number is refused and never reaches Twilio;
- an SMS from the blocked number does not reach her (Twilio is told that nobody took it),
  while one from another number does;
- unblocking bob (one item) is pushed to both resources; bob gets through, the number stays
  blocked; unblocking everything lets the number's SMS through again; a block without items
  is a bad request."""

import asyncio
import os
import secrets

from slixmpp.exceptions import IqError

import harness
from smsutil import DOMAIN, Api
from sms_twilio_test import TOKEN, TOKEN_ENV, FakeTwilio, gateway_toml, inbound
import xmpp

BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
NUMBER = "+15550100001"      # alice's number on the gateway
BLOCKED = "+15557654321"     # a phone she blocks
FRIEND = "+15557650000"      # a phone she does not block
BLOCKED_JID = f"{BLOCKED}@{DOMAIN}"


def client(server, jid, priority):
    c = xmpp.Client(jid, "pw-" + jid.split("@")[0], priority=priority)
    c.register_plugin("xep_0191")
    c.pushes = asyncio.Queue()
    c.add_event_handler("blocked", lambda iq: c.pushes.put_nowait(("block", iq)))
    c.add_event_handler("unblocked", lambda iq: c.pushes.put_nowait(("unblock", iq)))
    assert c.login(server.c2s_port), f"{jid} could not log in"
    return c


def blocklist(c):
    answer = xmpp.run(c["xep_0191"].get_blocked(timeout=10))
    return sorted(str(j) for j in answer["blocklist"]["items"])


def next_push(c):
    try:
        kind, iq = xmpp.run(c.pushes.get(), 10)
    except asyncio.TimeoutError:
        raise AssertionError(f"{c.boundjid} got no block list push")
    assert iq["type"] == "set" and iq["from"] in ("", "alice@localhost"), iq
    return kind, sorted(str(j) for j in iq[kind]["items"])


def sms_in(server, sender, body):
    status, _, text = inbound(server, "SM" + secrets.token_hex(16), sender, NUMBER, body)
    return status, text


def error_of(message):
    assert message["type"] == "error", message
    return message["error"]["condition"]


def scenario():
    os.environ[TOKEN_ENV] = TOKEN
    fake = FakeTwilio()
    with harness.Server(tls="optional", extra_toml=gateway_toml(fake)) as server:
        for user in ("alice", "bob"):
            server.add_user(user, "pw-" + user)
        api = Api(server, server.ctl("token", "create", "--scope", "admin").stdout.strip())
        assert api.assign("alice", NUMBER) == NUMBER
        phone = client(server, "alice@localhost/phone", 5)
        desk = client(server, "alice@localhost/desk", 0)
        bob = client(server, "bob@localhost/home", 0)

        info = xmpp.run(phone["xep_0030"].get_info(jid="localhost"))
        assert "urn:xmpp:blocking" in info["disco_info"]["features"], info
        # Clients read the list on login, which makes them interested in pushes (§3.2).
        assert blocklist(phone) == [] and blocklist(desk) == []

        # Both SMS contacts reach alice before any block.
        status, text = sms_in(server, BLOCKED, "before the block")
        assert status == 200, (status, text)
        got = phone.next_message()
        assert got["body"] == "before the block" and str(got["from"]) == BLOCKED_JID, got

        # One block request with two items; each resource gets the push (§3.3).
        answer = xmpp.run(phone["xep_0191"].block(["bob@localhost", BLOCKED_JID], timeout=10))
        assert answer["type"] == "result", answer
        assert next_push(desk) == ("block", sorted(["bob@localhost", BLOCKED_JID]))
        assert next_push(phone) == ("block", sorted(["bob@localhost", BLOCKED_JID]))
        assert blocklist(desk) == sorted(["bob@localhost", BLOCKED_JID])

        # bob's message: service-unavailable for him (§3.5), nothing for alice.
        bob.send_message(mto="alice@localhost", mbody="hi?", mtype="chat")
        assert error_of(bob.next_message()) == "service-unavailable"
        assert phone.no_message() and desk.no_message(), "a message from a blocked JID arrived"
        # alice's message to bob: refused with <blocked/> (§3.4), nothing for bob.
        phone.send_message(mto="bob@localhost/home", mbody="go away", mtype="chat")
        refused = phone.next_message()
        assert error_of(refused) == "not-acceptable", refused
        assert refused.xml.find(f".//{{{BLOCKING_ERRORS}}}blocked") is not None, refused
        assert bob.no_message(), "a message to a blocked JID went out"

        # The blocked number: alice's SMS to it is refused and never reaches Twilio; its SMS to
        # her is not delivered (and Twilio hears that nobody took it); another number's is.
        phone.send_message(mto=BLOCKED_JID, mbody="stop texting me", mtype="chat")
        assert error_of(phone.next_message()) == "not-acceptable"
        status, text = sms_in(server, BLOCKED, "buy now")
        assert status == 404 and "unknown-recipient" in text, (status, text)
        assert phone.no_message() and desk.no_message(), "an SMS from a blocked number arrived"
        status, text = sms_in(server, FRIEND, "lunch?")
        assert status == 200, (status, text)
        got = phone.next_message()
        assert got["body"] == "lunch?" and str(got["from"]) == f"{FRIEND}@{DOMAIN}", got
        assert not [m for m in fake.accepted if m["to"] == BLOCKED], fake.accepted

        # Unblock bob alone: pushed to the desk; bob gets through, the number stays blocked.
        answer = xmpp.run(phone["xep_0191"].unblock(["bob@localhost"], timeout=10))
        assert answer["type"] == "result", answer
        assert next_push(desk) == ("unblock", ["bob@localhost"])
        assert next_push(phone) == ("unblock", ["bob@localhost"])
        assert blocklist(phone) == [BLOCKED_JID]
        bob.send_message(mto="alice@localhost", mbody="friends again", mtype="chat")
        got = phone.next_message()
        assert got["body"] == "friends again" and got["type"] == "chat", got
        status, text = sms_in(server, BLOCKED, "still here")
        assert status == 404, (status, text)
        assert phone.no_message(), "an SMS from a number still blocked arrived"

        # Unblock everything (an <unblock/> without items, §3.4): the number gets through.
        answer = xmpp.run(phone["xep_0191"].unblock([], timeout=10))
        assert answer["type"] == "result", answer
        assert next_push(desk) == ("unblock", [])
        assert next_push(phone) == ("unblock", [])
        assert blocklist(desk) == []
        status, text = sms_in(server, BLOCKED, "sorry")
        assert status == 200, (status, text)
        got = phone.next_message()
        assert got["body"] == "sorry" and str(got["from"]) == BLOCKED_JID, got

        # A block without items is a bad request (§3.3).
        try:
            xmpp.run(phone["xep_0191"].block([], timeout=10))
            raise AssertionError("an empty block was accepted")
        except IqError as e:
            assert e.iq["error"]["condition"] == "bad-request", e.iq
        for c in (phone, desk, bob):
            c.close()


if __name__ == "__main__":
    harness.run(scenario)

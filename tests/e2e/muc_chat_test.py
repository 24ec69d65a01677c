"""XEP-0045 §7: occupants speak to the room (reflected to everyone from room@service/nick, with
the sender's id) and to each other privately; a newcomer gets the history it asks for, then the
subject; nicknames change (303); in a moderated room only occupants with voice speak; leaving is
answered with 110 and told to the others."""

import harness
import mucutil
import xmpp
from mucutil import room


def scenario():
    with harness.Server() as server:
        for user in ("alice", "bob", "carol"):
            server.add_user(user, user + "-pw")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")
        carol = mucutil.client(server, "carol", "carol-pw")
        lobby = room("lobby")

        mucutil.create_reserved(alice, lobby, "al", whois="anyone")
        pres, _, _, _ = mucutil.join(bob, lobby, "bob")
        assert 100 in mucutil.status_codes(pres), "no 100 in a non-anonymous room"

        # §7.4: a groupchat message reaches every occupant, the sender included.
        mucutil.drain(alice)
        mucutil.drain(bob)
        bob.send_message(mto=lobby, mbody="hello all", mtype="groupchat")
        for c in (alice, bob):
            m = mucutil.next_groupchat(c)
            assert m["body"] == "hello all" and str(m["from"]) == lobby + "/bob", m
        for body in ("one", "two", "three"):
            alice.send_message(mto=lobby, mbody=body, mtype="groupchat")
        assert [mucutil.next_groupchat(bob)["body"] for _ in range(3)] == ["one", "two", "three"]

        # §8.1: the owner sets the subject.
        alice["xep_0045"].set_subject(lobby, "Cauldrons")
        m = mucutil.next_message_where(bob, lambda m: m["subject"] == "Cauldrons")
        assert str(m["from"]) == lobby + "/al", m

        # §7.2.14: carol asks for the last two messages; the subject comes after them.
        _, subject, occupants, history = mucutil.join(carol, lobby, "carol", maxstanzas=2)
        assert [m["body"] for m in history] == ["two", "three"], [m["body"] for m in history]
        assert all(str(m["delay"]["from"]) == lobby for m in history), history
        assert subject["subject"] == "Cauldrons" and str(subject["from"]) == lobby + "/al", subject
        assert len(occupants) == 2

        # §7.5: private messages go to one occupant, from the sender's occupant JID.
        mucutil.drain(bob)
        carol.send_message(mto=lobby + "/bob", mbody="psst", mtype="chat")
        m = bob.next_message()
        assert m["body"] == "psst" and str(m["from"]) == lobby + "/carol" and m["type"] == "chat", m
        carol.send_message(mto=lobby + "/nobody", mbody="psst", mtype="chat")
        err = mucutil.next_message_where(carol, lambda m: m["type"] == "error")
        assert err["error"]["condition"] == "item-not-found", err

        # A non-occupant may not speak (§7.4).
        server.add_user("dave", "dave-pw")
        dave = mucutil.client(server, "dave", "dave-pw")
        dave.send_message(mto=lobby, mbody="let me in", mtype="groupchat")
        err = mucutil.next_message_where(dave, lambda m: m["type"] == "error")
        assert err["error"]["condition"] == "not-acceptable", err

        # §7.6: carol becomes "caroline".
        mucutil.drain(bob)
        carol.send_presence(pto=lobby + "/caroline")
        gone = mucutil.next_presence_from(bob, lobby + "/carol")
        assert gone["type"] == "unavailable" and 303 in mucutil.status_codes(gone), gone
        assert mucutil.item_attr(gone, "nick") == "caroline", gone
        here = mucutil.next_presence_from(bob, lobby + "/caroline")
        assert here["type"] == "available", here
        assert mucutil.item_attr(here, "jid") == "carol@localhost/r", here  # non-anonymous

        # A moderated room: visitors need voice (§7.4, §8.3).
        mucutil.configure(alice, lobby, moderatedroom=True)
        mucutil.leave(carol, lobby, "caroline")
        xmpp.pump(0.3)
        pres, _, _, _ = mucutil.join(carol, lobby, "carol")
        assert pres["muc"]["role"] == "visitor", pres
        mucutil.drain(carol)
        carol.send_message(mto=lobby, mbody="may I?", mtype="groupchat")
        err = mucutil.next_message_where(carol, lambda m: m["type"] == "error")
        assert err["error"]["condition"] == "forbidden", err
        xmpp.run(alice["xep_0045"].set_role(lobby, "carol", "participant"))
        p = mucutil.next_presence_from(carol, lobby + "/carol")
        assert p["muc"]["role"] == "participant", p
        mucutil.drain(alice)
        carol.send_message(mto=lobby, mbody="thank you", mtype="groupchat")
        assert mucutil.next_groupchat(alice)["body"] == "thank you"

        # §7.14: leaving.
        mucutil.drain(alice)
        mucutil.drain(bob)
        bob.send_presence(pto=lobby + "/bob", ptype="unavailable", pstatus="bye")
        p = mucutil.next_presence_from(bob, lobby + "/bob")
        assert p["type"] == "unavailable" and 110 in mucutil.status_codes(p), p
        p = mucutil.next_presence_from(alice, lobby + "/bob")
        assert p["type"] == "unavailable" and p["status"] == "bye" and p["muc"]["role"] == "none", p
        # Going offline leaves every room too (RFC 6121 §4.6.3 directed presence).
        carol.close()
        p = mucutil.next_presence_from(alice, lobby + "/carol")
        assert p["type"] == "unavailable", p
        for c in (alice, bob, dave):
            c.close()


if __name__ == "__main__":
    harness.run(scenario)

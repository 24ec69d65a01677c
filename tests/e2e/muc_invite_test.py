"""Invitations: mediated by the room (XEP-0045 §7.8.2), carrying the reason and the room's
password, making the invitee a member of a members-only room; the invitee declines, and the
inviter hears of it through the room; direct invitations (XEP-0249) reach the invitee as they
were sent, and the invitee enters with them."""

import harness
import mucutil
import xmpp
from mucutil import room

CONFERENCE = "jabber:x:conference"


def scenario():
    with harness.Server() as server:
        for user in ("alice", "bob", "carol"):
            server.add_user(user, user + "-pw")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")
        carol = mucutil.client(server, "carol", "carol-pw")
        club = room("club")

        mucutil.create_reserved(alice, club, "al", membersonly=True, passwordprotectedroom=True, roomsecret="pw1")
        assert mucutil.join_error(bob, club, "bob", password="pw1") == "registration-required"

        # A mediated invitation, from the room.
        alice["xep_0045"].invite(club, "bob@localhost", reason="Join us")
        m = mucutil.next_message_where(bob, lambda m: mucutil.muc_user_x(m) is not None)
        assert str(m["from"]) == club, m
        x = mucutil.muc_user_x(m)
        invite = x.find("{%s}invite" % mucutil.MUC_USER)
        assert invite.get("from") == "alice@localhost/r", m
        assert invite.find("{%s}reason" % mucutil.MUC_USER).text == "Join us", m
        assert x.find("{%s}password" % mucutil.MUC_USER).text == "pw1", m
        # The invitation made bob a member: he enters.
        pres, _, _, _ = mucutil.join(bob, club, "bob", password="pw1")
        assert pres["muc"]["affiliation"] == "member", pres

        # A member may not invite into a members-only room (unless the room allows it).
        bob["xep_0045"].invite(club, "carol@localhost")
        err = mucutil.next_message_where(bob, lambda m: m["type"] == "error")
        assert err["error"]["condition"] == "forbidden", err

        # carol is invited, and declines through the room.
        alice["xep_0045"].invite(club, "carol@localhost/r", reason="Please")
        m = mucutil.next_message_where(carol, lambda m: mucutil.muc_user_x(m) is not None)
        assert str(m["from"]) == club
        mucutil.drain(alice)
        carol["xep_0045"].decline(club, "alice@localhost", reason="Too busy")
        m = mucutil.next_message_where(alice, lambda m: mucutil.muc_user_x(m) is not None and
                                       mucutil.muc_user_x(m).find("{%s}decline" % mucutil.MUC_USER) is not None)
        decline = mucutil.muc_user_x(m).find("{%s}decline" % mucutil.MUC_USER)
        assert str(m["from"]) == club and decline.get("from") == "carol@localhost", m
        assert decline.find("{%s}reason" % mucutil.MUC_USER).text == "Too busy", m

        # A direct invitation (XEP-0249) to an open room: a message from alice herself.
        mucutil.create_instant(alice, room("open"), "al")
        mucutil.drain(carol)
        alice["xep_0249"].send_invitation("carol@localhost", room("open"), reason="Come chat")
        m = mucutil.next_message_where(carol, lambda m: m.xml.find("{%s}x" % CONFERENCE) is not None)
        assert str(m["from"]) == "alice@localhost/r", m
        x = m.xml.find("{%s}x" % CONFERENCE)
        assert x.get("jid") == room("open") and x.get("reason") == "Come chat", m
        pres, _, occupants, _ = mucutil.join(carol, x.get("jid"), "carol")
        assert [str(p["from"]) for p in occupants] == [room("open") + "/al"], occupants
        for c in (alice, bob, carol):
            c.close()


if __name__ == "__main__":
    harness.run(scenario)

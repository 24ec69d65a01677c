"""XEP-0045 §7.2.6 to §7.2.11: entering a room is refused with the right condition: a wrong or
missing password (not-authorized), not on the member list of a members-only room
(registration-required), banned (forbidden), a nickname in use (conflict), the room full
(service-unavailable); and allowed once the reason is gone."""

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

        mucutil.create_reserved(alice, room("secret"), "al", passwordprotectedroom=True, roomsecret="open sesame")
        assert mucutil.join_error(bob, room("secret"), "bob") == "not-authorized"
        assert mucutil.join_error(bob, room("secret"), "bob", password="wrong") == "not-authorized"
        pres, _, _, _ = mucutil.join(bob, room("secret"), "bob", password="open sesame")
        assert 110 in mucutil.status_codes(pres)

        mucutil.create_reserved(alice, room("club"), "al", membersonly=True)
        assert mucutil.join_error(bob, room("club"), "bob") == "registration-required"
        xmpp.run(alice["xep_0045"].set_affiliation(room("club"), "member", jid="bob@localhost"))
        pres, _, _, _ = mucutil.join(bob, room("club"), "bob")
        assert pres["muc"]["affiliation"] == "member", pres

        mucutil.create_instant(alice, room("open"), "al")
        xmpp.run(alice["xep_0045"].set_affiliation(room("open"), "outcast", jid="carol@localhost",
                                                   reason="spam"))
        assert mucutil.join_error(carol, room("open"), "carol") == "forbidden"
        assert mucutil.join_error(bob, room("open"), "al") == "conflict"
        mucutil.join(bob, room("open"), "bob")
        xmpp.run(alice["xep_0045"].set_affiliation(room("open"), "none", jid="carol@localhost"))

        mucutil.create_reserved(alice, room("small"), "al", maxusers="2")
        mucutil.join(bob, room("small"), "bob")
        try:
            mucutil.join(carol, room("small"), "carol")
            raise AssertionError("carol entered a full room")
        except mucutil.PresenceError as e:
            assert e.condition == "service-unavailable" and e.etype == "wait", (e.condition, e.etype)
        mucutil.leave(bob, room("small"), "bob")
        xmpp.pump(0.3)
        mucutil.join(carol, room("small"), "carol")

        # carol's ban is lifted: she may enter "open" now.
        pres, _, occupants, _ = mucutil.join(carol, room("open"), "carol")
        assert {str(p["from"]) for p in occupants} == {room("open") + "/al", room("open") + "/bob"}, occupants
        for c in (alice, bob, carol):
            c.close()


if __name__ == "__main__":
    harness.run(scenario)

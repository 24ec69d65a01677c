"""XEP-0045 §10: an instant room (default configuration) and a reserved room (configured with
the muc#roomconfig form before anyone else may enter); a locked room refuses entry; a temporary
room goes with its last occupant, a persistent one stays; the owner destroys a room with a
reason and an alternate venue, and its occupants are told."""

import harness
import mucutil
import xmpp
from mucutil import room


def scenario():
    with harness.Server() as server:
        for user in ("alice", "bob"):
            server.add_user(user, user + "-pw")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")

        # Instant room: 201 on creation, the defaults on an empty form.
        mucutil.create_instant(alice, room("instant"), "al")
        pres, subject, occupants, _ = mucutil.join(bob, room("instant"), "bob")
        assert pres["muc"]["affiliation"] == "none" and pres["muc"]["role"] == "participant", pres
        assert 201 not in mucutil.status_codes(pres), pres
        assert [str(p["from"]) for p in occupants] == [room("instant") + "/al"], occupants
        assert subject["subject"] == "", subject
        features = set(mucutil.disco_info(bob, room("instant"))["features"])
        assert {"muc_temporary", "muc_public", "muc_open", "muc_unmoderated", "muc_semianonymous"} <= features

        # Reserved room: locked until its owner submits the form (§10.1.3).
        pres, _, _, _ = mucutil.join(alice, room("reserved"), "al")
        assert 201 in mucutil.status_codes(pres), pres
        assert mucutil.join_error(bob, room("reserved"), "bob") == "item-not-found"
        form = xmpp.run(alice["xep_0045"].get_room_config(room("reserved")))
        fields = set(form.get_fields())
        for var in ("muc#roomconfig_roomname", "muc#roomconfig_persistentroom", "muc#roomconfig_membersonly",
                    "muc#roomconfig_whois", "muc#roomconfig_roomsecret", "muc#maxhistoryfetch"):
            assert var in fields, (var, fields)
        mucutil.configure(alice, room("reserved"), roomname="Reserved", persistentroom=True, maxhistoryfetch="5")
        mucutil.join(bob, room("reserved"), "bob")
        assert mucutil.roominfo(bob, room("reserved"))["muc#maxhistoryfetch"] == "5"
        # Only the owner configures (§10.2).
        assert mucutil.iq_error(bob["xep_0045"].get_room_config(room("reserved"))) == "forbidden"

        # A later change is announced with 104 (§10.2.1).
        mucutil.drain(bob)
        mucutil.configure(alice, room("reserved"), roomdesc="changed")
        m = mucutil.next_message_where(bob, lambda m: 104 in m["muc"]["status_codes"])
        assert str(m["from"]) == room("reserved"), m

        # Everyone leaves: the temporary room is gone, the persistent one stays.
        for c, nick in ((alice, "al"), (bob, "bob")):
            mucutil.leave(c, room("instant"), nick)
        xmpp.pump(0.5)
        assert mucutil.iq_error(alice["xep_0030"].get_info(jid=room("instant"))) == "item-not-found"
        for c, nick in ((alice, "al"), (bob, "bob")):
            mucutil.leave(c, room("reserved"), nick)
        xmpp.pump(0.5)
        assert "muc_persistent" in mucutil.disco_info(alice, room("reserved"))["features"]

        # Destroying (§10.9): the owner may, others may not; occupants learn why and where to go.
        mucutil.join(alice, room("reserved"), "al")
        mucutil.join(bob, room("reserved"), "bob")
        assert mucutil.iq_error(bob["xep_0045"].destroy(room("reserved"), reason="mine")) == "forbidden"
        mucutil.drain(bob)
        xmpp.run(alice["xep_0045"].destroy(room("reserved"), reason="Moving on", altroom=room("instant2")))
        p = mucutil.next_presence_from(bob, room("reserved") + "/bob")
        assert p["type"] == "unavailable", p
        x = mucutil.muc_user_x(p)
        destroy = x.find("{%s}destroy" % mucutil.MUC_USER)
        assert destroy is not None and destroy.get("jid") == room("instant2"), p
        assert destroy.find("{%s}reason" % mucutil.MUC_USER).text == "Moving on", p
        xmpp.pump(0.3)
        assert mucutil.iq_error(alice["xep_0030"].get_info(jid=room("reserved"))) == "item-not-found"
        assert room("reserved") not in mucutil.disco_items(alice, mucutil.SERVICE)

        # The name is free again: entering creates a new room.
        pres, _, _, _ = mucutil.join(bob, room("reserved"), "bob")
        assert 201 in mucutil.status_codes(pres), pres
        alice.close()
        bob.close()


if __name__ == "__main__":
    harness.run(scenario)

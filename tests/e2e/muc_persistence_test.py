"""Persistent rooms survive a restart of parleyd (XEP-0045 §10.1.3): their configuration,
subject and affiliations come back from storage, a temporary room does not. Occupants are told
when the service shuts down (status 332). A change the owner got a result for survives kill -9."""

import harness
import mucutil
import xmpp
from mucutil import SERVICE, room


def scenario():
    server = harness.Server()
    with server:
        for user in ("alice", "bob", "carol", "dave"):
            server.add_user(user, user + "-pw")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")
        keep = room("keep")

        mucutil.create_reserved(alice, keep, "al", roomname="Kept", persistentroom=True, membersonly=True,
                                whois="anyone", passwordprotectedroom=True, roomsecret="pw")
        muc = alice["xep_0045"]
        xmpp.run(muc.set_affiliation(keep, "member", jid="bob@localhost"))
        xmpp.run(muc.set_affiliation(keep, "outcast", jid="carol@localhost", reason="no"))
        xmpp.run(muc.set_affiliation(keep, "admin", jid="dave@localhost"))
        mucutil.join(bob, keep, "bob", password="pw")
        muc.set_subject(keep, "Still here")
        mucutil.next_message_where(bob, lambda m: m["subject"] == "Still here")
        mucutil.create_instant(alice, room("temp"), "al")
        assert set(mucutil.disco_items(alice, SERVICE)) == {keep, room("temp")}

        # §14.2: the service going down tells each occupant (332).
        mucutil.drain(bob)
        assert server.stop() == 0
        p = mucutil.next_presence_from(bob, keep + "/bob")
        assert p["type"] == "unavailable" and {110, 332} <= mucutil.status_codes(p), p

        server.start()
        alice = mucutil.client(server, "alice", "alice-pw", resource="again")
        bob = mucutil.client(server, "bob", "bob-pw", resource="again")
        carol = mucutil.client(server, "carol", "carol-pw")
        assert mucutil.disco_items(alice, SERVICE) == {keep: "Kept"}, "the temporary room came back, or the " \
            "persistent one did not"
        features = set(mucutil.disco_info(alice, keep)["features"])
        assert {"muc_persistent", "muc_membersonly", "muc_nonanonymous", "muc_passwordprotected"} <= features
        assert mucutil.join_error(carol, keep, "carol", password="pw") == "forbidden"
        pres, subject, _, _ = mucutil.join(bob, keep, "bob", password="pw")
        assert pres["muc"]["affiliation"] == "member", pres
        assert subject["subject"] == "Still here" and str(subject["from"]) == keep + "/al", subject
        muc = alice["xep_0045"]
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(keep, "admin"))] == ["dave@localhost"]
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(keep, "outcast"))] == ["carol@localhost"]
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(keep, "owner"))] == ["alice@localhost"]
        form = xmpp.run(muc.get_room_config(keep))
        values = form.get_values()
        assert values["muc#roomconfig_roomname"] == "Kept", values
        assert values["muc#roomconfig_roomsecret"] == "pw", values

        # Acknowledged means durable: the result came, so kill -9 cannot lose the change.
        mucutil.configure(alice, keep, roomdesc="after the restart")
        server.kill9()
        server.start()
        alice = mucutil.client(server, "alice", "alice-pw", resource="third")
        assert mucutil.roominfo(alice, keep)["muc#roominfo_description"] == "after the restart"
        # A destroyed persistent room stays destroyed.
        xmpp.run(alice["xep_0045"].destroy(keep))
        server.stop()
        server.start()
        alice = mucutil.client(server, "alice", "alice-pw", resource="fourth")
        assert mucutil.disco_items(alice, SERVICE) == {}
        alice.close()


if __name__ == "__main__":
    harness.run(scenario)

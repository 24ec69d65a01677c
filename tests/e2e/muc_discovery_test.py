"""XEP-0045 §6: the chat service shows in the server's disco#items; its disco#info has the
conference identity; its disco#items lists the public rooms only; each room's disco#info has
the features that describe it and the muc#roominfo form."""

import harness
import mucutil
import xmpp
from mucutil import SERVICE, room


def scenario():
    with harness.Server() as server:
        server.add_user("alice", "alice-pw")
        alice = mucutil.client(server, "alice", "alice-pw")

        assert SERVICE in mucutil.disco_items(alice, "localhost"), "the server does not list its chat service"
        info = mucutil.disco_info(alice, SERVICE)
        identities = {(i[0], i[1]) for i in info["identities"]}
        assert ("conference", "text") in identities, identities
        assert "http://jabber.org/protocol/muc" in info["features"], info["features"]
        assert mucutil.disco_items(alice, SERVICE) == {}, "a new service has rooms"

        mucutil.create_reserved(alice, room("lobby"), "al", roomname="The Lobby", roomdesc="Come in",
                                persistentroom=True, whois="anyone", moderatedroom=True)
        mucutil.create_reserved(alice, room("backstage"), "al", publicroom=False, membersonly=True,
                                passwordprotectedroom=True, roomsecret="s3cret")
        mucutil.create_instant(alice, room("scratch"), "al")

        items = mucutil.disco_items(alice, SERVICE)
        assert items == {room("lobby"): "The Lobby", room("scratch"): "scratch"}, items

        lobby = mucutil.disco_info(alice, room("lobby"))
        features = set(lobby["features"])
        for feature in ("http://jabber.org/protocol/muc", "muc_public", "muc_persistent", "muc_open",
                        "muc_moderated", "muc_nonanonymous", "muc_unsecured"):
            assert feature in features, (feature, features)
        assert any(i[0] == "conference" and i[3] == "The Lobby" for i in lobby["identities"]), lobby["identities"]
        form = mucutil.roominfo(alice, room("lobby"))
        assert form["FORM_TYPE"] == "http://jabber.org/protocol/muc#roominfo", form
        assert form["muc#roominfo_description"] == "Come in", form
        assert form["muc#roominfo_occupants"] == "1", form

        backstage = set(mucutil.disco_info(alice, room("backstage"))["features"])
        for feature in ("muc_hidden", "muc_temporary", "muc_membersonly", "muc_unmoderated", "muc_semianonymous",
                        "muc_passwordprotected"):
            assert feature in backstage, (feature, backstage)

        # A room nobody created does not exist.
        assert mucutil.iq_error(alice["xep_0030"].get_info(jid=room("nowhere"))) == "item-not-found"
        alice.close()


if __name__ == "__main__":
    harness.run(scenario)

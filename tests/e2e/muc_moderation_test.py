"""XEP-0045 §8 to §10: moderators kick (307) and grant or revoke voice; admins ban (301) and
edit the member list; owners edit the admin and owner lists (asked for in muc#admin and in
muc#owner); who may do what is enforced with forbidden, not-allowed and conflict."""

import harness
import mucutil
import xmpp
from mucutil import room
from slixmpp.xmlstream import ET

MUC_OWNER = "http://jabber.org/protocol/muc#owner"


def owner_list(c, room_jid, affiliation):
    """The list asked for the way older versions of XEP-0045 did it: in muc#owner."""
    iq = c.make_iq_get(ito=room_jid)
    iq.xml.append(ET.fromstring(f"<query xmlns='{MUC_OWNER}'><item affiliation='{affiliation}'/></query>"))
    result = c.iq(iq)
    return sorted(item.get("jid") for item in result.xml.findall(f"{{{MUC_OWNER}}}query/{{{MUC_OWNER}}}item"))


def scenario():
    with harness.Server() as server:
        for user in ("alice", "bob", "carol", "dave"):
            server.add_user(user, user + "-pw")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")
        carol = mucutil.client(server, "carol", "carol-pw")
        court = room("court")
        muc = alice["xep_0045"]

        mucutil.create_instant(alice, court, "al")
        mucutil.join(bob, court, "bob")
        mucutil.join(carol, court, "carol")

        # §10.6: the owner makes bob an admin; he becomes a moderator.
        mucutil.drain(carol)
        xmpp.run(muc.set_affiliation(court, "admin", jid="bob@localhost"))
        p = mucutil.next_presence_from(carol, court + "/bob")
        assert p["muc"]["affiliation"] == "admin" and p["muc"]["role"] == "moderator", p
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(court, "admin"))] == ["bob@localhost"]
        assert owner_list(alice, court, "owner") == ["alice@localhost"]
        assert owner_list(alice, court, "admin") == ["bob@localhost"]
        moderators = xmpp.run(muc.get_roles_list(court, "moderator"))
        assert sorted(moderators) == ["al", "bob"], moderators

        # A participant kicks nobody (§8.2); an admin does not ban an owner (§9.1).
        assert mucutil.iq_error(carol["xep_0045"].set_role(court, "bob", "none")) == "forbidden"
        assert mucutil.iq_error(bob["xep_0045"].set_affiliation(court, "outcast", jid="alice@localhost")) == \
            "not-allowed"
        assert mucutil.iq_error(carol["xep_0045"].get_affiliation_list(court, "member")) == "forbidden"

        # §8.2: bob kicks carol; she and the others learn who did it and why.
        mucutil.drain(alice)
        mucutil.drain(carol)
        xmpp.run(bob["xep_0045"].set_role(court, "carol", "none", reason="Behave"))
        p = mucutil.next_presence_from(carol, court + "/carol")
        assert p["type"] == "unavailable" and {110, 307} <= mucutil.status_codes(p), p
        item = mucutil.muc_user_x(p).find("{%s}item" % mucutil.MUC_USER)
        assert item.find("{%s}actor" % mucutil.MUC_USER).get("nick") == "bob", p
        assert item.find("{%s}reason" % mucutil.MUC_USER).text == "Behave", p
        p = mucutil.next_presence_from(alice, court + "/carol")
        assert p["type"] == "unavailable" and 307 in mucutil.status_codes(p), p

        # A kick is not a ban: she comes back; then the owner bans her (§9.1).
        mucutil.join(carol, court, "carol")
        mucutil.drain(carol)
        mucutil.drain(bob)
        xmpp.run(muc.set_affiliation(court, "outcast", jid="carol@localhost", reason="Enough"))
        p = mucutil.next_presence_from(carol, court + "/carol")
        assert p["type"] == "unavailable" and {110, 301} <= mucutil.status_codes(p), p
        assert p["muc"]["affiliation"] == "outcast", p
        p = mucutil.next_presence_from(bob, court + "/carol")
        assert 301 in mucutil.status_codes(p), p
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(court, "outcast"))] == ["carol@localhost"]
        assert mucutil.join_error(carol, court, "carol") == "forbidden"

        # The member list (§9.5): set as a delta, read back.
        xmpp.run(muc.send_affiliation_list(court, [("dave@localhost", "member"), ("carol@localhost", "none")]))
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(court, "member"))] == ["dave@localhost"]
        assert xmpp.run(muc.get_affiliation_list(court, "outcast")) == []

        # Voice in a moderated room (§8.3, §8.4); an admin's voice stays.
        mucutil.configure(alice, court, moderatedroom=True)
        pres, _, _, _ = mucutil.join(carol, court, "carol")
        assert pres["muc"]["role"] == "visitor", pres
        xmpp.run(bob["xep_0045"].set_role(court, "carol", "participant"))
        assert xmpp.run(muc.get_roles_list(court, "participant")) == ["carol"]
        xmpp.run(bob["xep_0045"].set_role(court, "carol", "visitor"))
        assert xmpp.run(muc.get_roles_list(court, "visitor")) == ["carol"]
        assert mucutil.iq_error(muc.set_role(court, "bob", "visitor")) == "not-allowed"

        # The owner list (§10.3 to §10.7): owners only; never empty.
        assert mucutil.iq_error(bob["xep_0045"].set_affiliation(court, "owner", jid="dave@localhost")) == \
            "not-allowed"
        assert mucutil.iq_error(muc.set_affiliation(court, "member", jid="alice@localhost")) == "conflict"
        xmpp.run(muc.set_affiliation(court, "owner", jid="bob@localhost"))
        assert owner_list(bob, court, "owner") == ["alice@localhost", "bob@localhost"]
        xmpp.run(bob["xep_0045"].set_affiliation(court, "admin", jid="alice@localhost"))
        assert [str(j) for j in xmpp.run(muc.get_affiliation_list(court, "owner"))] == ["bob@localhost"]
        for c in (alice, bob, carol):
            c.close()


if __name__ == "__main__":
    harness.run(scenario)

"""XEP-0045 status codes that come from the service's own decisions, seen by real clients:
- 210 (§7.2.3): a nickname the service prepared (fullwidth letters become ASCII under
  RFC 7622's resourceprep/NFKC) comes back in the self-presence with 210, from the nick as
  the room knows it (raw socket: slixmpp waits for the nick it asked for);
- 322 (§9.4, §10.2): a room becoming members-only removes its non-members, who hear 322;
- 321 (§9.4): a member whose affiliation is revoked in a members-only room is removed with 321;
and the others see each removal."""

import re

import harness
import mucutil
import xmpp
from mucutil import room
from smsutil import login

MUC = "http://jabber.org/protocol/muc"


def scenario():
    with harness.Server() as server:
        for user in ("alice", "bob", "carol", "dave"):
            server.add_user(user, user + "-pw")
        server.add_user("erin", "pw-erin")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")
        carol = mucutil.client(server, "carol", "carol-pw")
        club = room("club")
        mucutil.create_instant(alice, club, "al")

        # 210: erin asks for "ｅｒｉｎ" (fullwidth); the room calls her "erin" and says so.
        erin = login(server.c2s_port, "erin")
        erin.send(f"<presence to='{club}/\uff45\uff52\uff49\uff4e'><x xmlns='{MUC}'/></presence>")
        self_presence = erin.read_until(r"<presence[^>]*>(?:(?!</presence>).)*<status code='110'/>.*?</presence>")
        assert f"from='{club}/erin'" in self_presence, self_presence
        assert "<status code='210'/>" in self_presence, self_presence
        p = mucutil.next_presence_from(alice, club + "/erin")
        assert p["type"] != "unavailable", p

        # 322: bob and carol are in; alice makes carol a member, then the room members-only.
        mucutil.join(bob, club, "bob")
        mucutil.join(carol, club, "carol")
        xmpp.run(alice["xep_0045"].set_affiliation(club, "member", jid="carol@localhost"))
        mucutil.drain(alice)
        mucutil.drain(bob)
        mucutil.drain(carol)
        mucutil.configure(alice, club, membersonly=True)
        gone = mucutil.next_presence_from(bob, club + "/bob", lambda p: p["type"] == "unavailable")
        assert {110, 322} <= mucutil.status_codes(gone), gone
        seen = mucutil.next_presence_from(alice, club + "/bob", lambda p: p["type"] == "unavailable")
        assert 322 in mucutil.status_codes(seen), seen
        # erin (not a member either) went the same way; carol, a member, stays.
        text = erin.read_until(rf"<presence(?=[^>]*from='{club}/erin')(?=[^>]*type='unavailable')[^>]*>.*?</presence>")
        own = text[text.rfind("<presence"):]
        assert "<status code='110'/>" in own and "<status code='322'/>" in own, own
        assert not any(p["type"] == "unavailable" and str(p["from"]) == club + "/carol"
                       for p in _pending(alice)), "carol was removed though a member"

        # 321: alice revokes carol's membership; carol is removed with 321.
        xmpp.run(alice["xep_0045"].set_affiliation(club, "none", jid="carol@localhost"))
        gone = mucutil.next_presence_from(carol, club + "/carol", lambda p: p["type"] == "unavailable")
        assert {110, 321} <= mucutil.status_codes(gone), gone
        seen = mucutil.next_presence_from(alice, club + "/carol", lambda p: p["type"] == "unavailable")
        assert 321 in mucutil.status_codes(seen), seen
        codes = re.findall(r"code='(\d+)'", str(seen))
        assert "322" not in codes, seen


def _pending(c):
    """The muc#user presences queued so far, without waiting (they stay consumed)."""
    xmpp.pump(0.3)
    out = []
    while not c.muc_presences.empty():
        out.append(c.muc_presences.get_nowait())
    return out


if __name__ == "__main__":
    harness.run(scenario)

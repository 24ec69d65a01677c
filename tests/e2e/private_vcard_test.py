"""Private XML storage (XEP-0049) and vCards (XEP-0054), as clients use them:
- slixmpp's XEP-0048 bookmarks stored in private storage, read back after a restart;
- raw requests: an empty element for what was never stored, several fragments in one set,
  reserved namespaces and empty queries refused, another user's data forbidden;
- slixmpp's XEP-0054 plugin publishes alice's vCard (with a photo); bob reads it; an unknown
  user's vCard is service-unavailable; bob cannot set alice's; the vCard survives a restart;
- an oversized vCard is refused; the server advertises both features; deleting the account
  deletes the data;
- the server's entity capabilities (XEP-0115) in its stream features hash exactly what its
  disco#info lists (recomputed here from the disco#info answer)."""

import base64
import hashlib
import re

import harness
from rawxmpp import Raw
from smsutil import login
import xmpp

PRIVATE = "jabber:iq:private"
VCARD = "vcard-temp"


def iq(client, ident, payload, kind="set", to=None):
    return client.iq(ident, payload, kind=kind, to=to)


def slix(server, user):
    c = xmpp.Client(f"{user}@localhost/slix", "pw-" + user)
    for plugin in ("xep_0045", "xep_0048", "xep_0049", "xep_0054"):
        c.register_plugin(plugin)
    assert c.login(server.c2s_port), f"{user} could not log in"
    return c


def scenario():
    photo = base64.b64encode(bytes(range(256)) * 40).decode()  # a 10 KiB "image"
    # Stanzas up to 1 MiB, so that the vCard size limit (not the stanza limit) is what refuses.
    with harness.Server(tls="optional", extra_toml="[limits]\nmax_stanza_bytes = 1048576\n") as server:
        for user in ("alice", "bob"):
            server.add_user(user, "pw-" + user)
        alice = login(server.c2s_port, "alice")
        bob = login(server.c2s_port, "bob")

        info = iq(alice, "d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get", to="localhost")
        assert f"var='{PRIVATE}'" in info and f"var='{VCARD}'" in info, info

        # XEP-0115: the caps in the stream features are the hash of the disco#info.
        features = Raw(server.c2s_port).open()
        caps = re.search(r"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='([^']+)' ver='([^']+)'/>",
                         features)
        assert caps, features
        node = f"{caps.group(1)}#{caps.group(2)}"
        info = iq(alice, "d2", f"<query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/>", kind="get",
                  to="localhost")
        assert f"node='{node}'" in info, info
        identities = sorted(re.findall(r"<identity category='([^']*)' type='([^']*)' name='([^']*)'/>", info))
        offered = sorted(re.findall(r"<feature var='([^']*)'/>", info))
        assert identities and offered, info
        s = "".join(f"{c}/{t}//{n}<" for c, t, n in identities) + "".join(f + "<" for f in offered)
        assert base64.b64encode(hashlib.sha1(s.encode()).digest()).decode() == caps.group(2), (s, caps.group(2))

        # Bookmarks in private storage with slixmpp (XEP-0048 over XEP-0049).
        sx = slix(server, "alice")
        bookmarks = sx["xep_0048"].stanza.Bookmarks()
        bookmarks.add_conference("team@conference.localhost", "alice", name="Team", autojoin=True)
        bookmarks.add_url("https://example.org/", name="Example")
        xmpp.run(sx["xep_0048"].set_bookmarks(bookmarks, method="xep_0049"))
        got = xmpp.run(sx["xep_0048"].get_bookmarks(method="xep_0049"))
        conferences = got["private"]["bookmarks"]["conferences"]
        assert [str(c["jid"]) for c in conferences] == ["team@conference.localhost"], got
        assert conferences[0]["autojoin"] is True and conferences[0]["name"] == "Team", got

        # Raw: never stored gives the empty element; two fragments in one set, each read back.
        empty = iq(alice, "p1", f"<query xmlns='{PRIVATE}'><prefs xmlns='urn:example:prefs'/></query>", kind="get")
        assert "type='result'" in empty and "<prefs xmlns='urn:example:prefs'/>" in empty, empty
        stored = iq(alice, "p2", f"<query xmlns='{PRIVATE}'><prefs xmlns='urn:example:prefs'><theme>dark</theme>"
                                 "</prefs><notes xmlns='urn:example:notes'>buy milk &amp; bread</notes></query>")
        assert "type='result'" in stored, stored
        prefs = iq(alice, "p3", f"<query xmlns='{PRIVATE}'><prefs xmlns='urn:example:prefs'/></query>", kind="get")
        assert "<theme>dark</theme>" in prefs, prefs
        notes = iq(alice, "p4", f"<query xmlns='{PRIVATE}'><notes xmlns='urn:example:notes'/></query>", kind="get")
        assert "buy milk &amp; bread" in notes, notes
        # Refusals.
        for ident, payload, condition in (
                ("e1", f"<query xmlns='{PRIVATE}'><x xmlns='jabber:x:data'/></query>", "not-acceptable"),
                ("e2", f"<query xmlns='{PRIVATE}'/>", "not-acceptable"),
                ("e3", f"<query xmlns='{PRIVATE}'><a xmlns='urn:a'/><b xmlns='urn:b'/></query>", "not-acceptable")):
            answer = iq(alice, ident, payload, kind="get" if ident == "e3" else "set")
            assert "type='error'" in answer and condition in answer, answer
        empty_get = iq(alice, "e4", f"<query xmlns='{PRIVATE}'/>", kind="get")
        assert "bad-request" in empty_get, empty_get
        theirs = iq(bob, "e5", f"<query xmlns='{PRIVATE}'><prefs xmlns='urn:example:prefs'/></query>", kind="get",
                    to="alice@localhost")
        assert "forbidden" in theirs and "dark" not in theirs, theirs

        # vCards: alice publishes hers with slixmpp; bob reads it.
        vcard = sx["xep_0054"].make_vcard()
        vcard["FN"] = "Alice Liddell"
        vcard["NICKNAME"] = "alice"
        vcard["PHOTO"]["TYPE"] = "image/png"
        vcard["PHOTO"]["BINVAL"] = base64.b64decode(photo)
        xmpp.run(sx["xep_0054"].publish_vcard(vcard))
        mine = xmpp.run(sx["xep_0054"].get_vcard("alice@localhost", local=False))
        assert mine["vcard_temp"]["FN"] == "Alice Liddell", mine
        read = iq(bob, "v1", f"<vCard xmlns='{VCARD}'/>", kind="get", to="alice@localhost")
        assert "<FN>Alice Liddell</FN>" in read and photo[:200] in read.replace("\n", ""), read[:500]
        none = iq(bob, "v2", f"<vCard xmlns='{VCARD}'/>", kind="get")
        assert f"<vCard xmlns='{VCARD}'/>" in none, none
        nobody = iq(bob, "v3", f"<vCard xmlns='{VCARD}'/>", kind="get", to="nobody@localhost")
        assert "service-unavailable" in nobody, nobody
        forged = iq(bob, "v4", f"<vCard xmlns='{VCARD}'><FN>Mallory</FN></vCard>", to="alice@localhost")
        assert "forbidden" in forged, forged
        huge = iq(bob, "v5", f"<vCard xmlns='{VCARD}'><PHOTO><BINVAL>{'A' * 600_000}</BINVAL></PHOTO></vCard>")
        assert "type='error'" in huge, huge[:300]
        sx.close()

        # Restart: bookmarks, fragments and the vCard are still there.
        for c in (alice, bob):
            c.sock.close()
        server.stop()
        server.start()
        alice = login(server.c2s_port, "alice")
        bob = login(server.c2s_port, "bob")
        prefs = iq(alice, "r1", f"<query xmlns='{PRIVATE}'><prefs xmlns='urn:example:prefs'/></query>", kind="get")
        assert "<theme>dark</theme>" in prefs, prefs
        marks = iq(alice, "r2", f"<query xmlns='{PRIVATE}'><storage xmlns='storage:bookmarks'/></query>", kind="get")
        assert "jid='team@conference.localhost'" in marks, marks
        read = iq(bob, "r3", f"<vCard xmlns='{VCARD}'/>", kind="get", to="alice@localhost")
        assert "<FN>Alice Liddell</FN>" in read, read[:300]

        # The account goes, and its data with it: a new alice starts empty.
        gone = iq(alice, "x1", "<query xmlns='jabber:iq:register'><remove/></query>")
        assert "type='result'" in gone, gone
        server.add_user("alice", "pw-alice")
        alice = login(server.c2s_port, "alice")
        prefs = iq(alice, "x2", f"<query xmlns='{PRIVATE}'><prefs xmlns='urn:example:prefs'/></query>", kind="get")
        assert "dark" not in prefs, prefs
        read = iq(bob, "x3", f"<vCard xmlns='{VCARD}'/>", kind="get", to="alice@localhost")
        assert "Alice Liddell" not in read, read[:300]


if __name__ == "__main__":
    harness.run(scenario)
